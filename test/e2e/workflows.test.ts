// The prompts' workflows walked through by a deterministic agent (no model): for each prompt
// it reads the text the server renders, then runs the same steps through a real MCP client
// against the fixture Prometheus, feeding each step's structured result to the next.
import { describe, expect, inject, it } from 'vitest';
import { WORKFLOWS, fill, stepsFor, workflowArgs, type Arg, type Ref, type Step, type Workflow } from '../../src/prompts.js';
import { call, connectVia, tempDir, text, type Connected } from '../helpers/server.js';

type S = Record<string, any>;

function at(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o === null || o === undefined ? undefined : (o as Record<string, unknown>)[k]), obj);
}
const isRef = (v: unknown): v is Ref => typeof v === 'object' && v !== null && 'from' in v && 'path' in v;

/** What a model would put in the fields a step leaves to it, from what the earlier steps found. */
function fields(step: Step, results: Map<string, S>, args: Record<string, string | undefined>): Record<string, unknown> {
  const anomaly = results.get('detect_anomaly')?.series?.[0]?.anomalies?.[0];
  const found = anomaly ? `${anomaly.kind} ${anomaly.direction} at ${anomaly.at} (score ${anomaly.score})` : 'no anomaly';
  const features = results.get('build_features');
  const raw = results.get('query_metrics')?.series?.[0];
  const summary = `${found}; ${features?.real ?? '?'}/45 features real; issue ${features?.features?.metadata?.issue_type ?? 'unknown'}; raw max ${raw?.max ?? 'none'}`;
  const out: Record<string, unknown> = {};
  for (const f of step.fill ?? []) {
    if (f === 'title') out.title = `${args.alertname ?? 'Investigation'}: ${args.namespace}`;
    if (f === 'description') out.description = `Found by the ${step.tool} workflow: ${summary}.`;
    if (f === 'severity') out.severity = anomaly && anomaly.score > 0.9 ? 'high' : 'medium';
    if (f === 'note') out.note = `Checked again: ${summary}.`;
  }
  return out;
}

interface Walk {
  ran: string[];
  results: Map<string, S>;
  said: string;
  /** references that fell back to their default */
  fellBack: string[];
  /** the arguments each step was called with */
  calls: Map<string, Record<string, unknown>>;
}

/** `choose`: arguments an agent picked itself for a step instead of the ones the prompt names. */
async function walk(
  conn: Connected,
  w: Workflow,
  given: Record<string, string | undefined>,
  opts: { readOnly?: boolean; choose?: Record<string, Record<string, unknown>> } = {},
): Promise<Walk> {
  const prompt = await conn.client.getPrompt({ name: w.name, arguments: Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Record<string, string> });
  const said = (prompt.messages[0]!.content as { text: string }).text;
  const steps = stepsFor(w, opts.readOnly ?? false);
  // the text names every step's tool, in order, and no tool the server hides
  let from = 0;
  for (const s of steps) {
    const i = said.indexOf(s.tool, from);
    expect(i, `${w.name} mentions ${s.tool} after step ${from}`).toBeGreaterThanOrEqual(0);
    from = i + s.tool.length;
  }
  const offered = new Set((await conn.client.listTools()).tools.map((t) => t.name));
  for (const name of ['create_incident', 'update_incident', 'build_features', 'detect_anomaly', 'query_metrics', 'list_incidents', 'get_incident']) {
    if (!offered.has(name)) expect(said, `${w.name} names the hidden ${name}`).not.toContain(name);
  }
  const args = workflowArgs(w, given);
  const results = new Map<string, S>();
  const ran: string[] = [];
  const fellBack: string[] = [];
  const calls = new Map<string, Record<string, unknown>>();
  for (const step of steps) {
    const listed = results.get('list_incidents');
    const active = (listed?.incidents ?? []).some((i: S) => i.status === 'active');
    if (step.when === 'no_active_incident' && active) continue;
    if (step.when === 'active_incident' && !active) continue;
    if (step.when === 'serious_incident' && (results.get('critical')?.total ?? 0) + (results.get('high')?.total ?? 0) === 0) continue;
    const resolve = (v: unknown): unknown => {
      if (!isRef(v)) {
        if (typeof v !== 'object' || v === null) return v;
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
      }
      const taken = !v.onlyIf || at(results.get(v.from), v.onlyIf.path) === v.onlyIf.is;
      let got = taken ? at(results.get(v.from), v.path) : undefined;
      if ((got === undefined || got === null) && v.fallback !== undefined) {
        fellBack.push(`${step.tool}: ${v.from}.${v.path}`);
        got = resolve(fill(v.fallback, args));
      }
      expect(got, `${w.name}: ${step.tool} needs ${v.path} from ${v.from}`).toBeDefined();
      return got;
    };
    const callArgs =
      opts.choose?.[step.id ?? step.tool] ??
      (isRef(step.args) ? (resolve(step.args) as Record<string, unknown>) : (resolve(fill(step.args as Record<string, Arg>, args)) as Record<string, unknown>));
    calls.set(step.id ?? step.tool, callArgs);
    const r = await call(conn.client, step.tool, { ...callArgs, ...fields(step, results, args) });
    expect(r.isError, `${w.name}: ${step.tool} ${JSON.stringify(callArgs)}: ${text(r)}`).toBeFalsy();
    expect(r.structuredContent, step.tool).toBeDefined();
    results.set(step.id ?? step.tool, r.structuredContent as S);
    ran.push(step.id ?? step.tool);
  }
  return { ran, results, said, fellBack, calls };
}

const workflow = (name: string) => WORKFLOWS.find((w) => w.name === name)!;
const LOOK = ['build_features', 'detect_anomaly', 'query_metrics'];

for (const transport of ['stdio', 'http'] as const) {
  describe(`prompt workflows over ${transport}, step by step`, () => {
    it('every prompt works step by step: investigate (creates, then updates on a second run), triage an alert, hand over', async () => {
      const dir = tempDir();
      const conn = await connectVia(transport, { DATA_DIR: dir.path, PROMETHEUS_URL: inject('prometheusUrl') });
      try {
        const first = await walk(conn, workflow('investigate_namespace'), { namespace: 'payments' });
        expect(first.ran).toEqual([...LOOK, 'list_incidents', 'create_incident']);
        expect(first.fellBack).toEqual([]);
        const created = first.results.get('create_incident')!.incident;
        expect(created).toMatchObject({ namespace: 'payments', status: 'active', dedup_key: 'investigate/payments' });
        // query_metrics looked at the same series detect_anomaly judged, around its top anomaly
        expect(first.results.get('query_metrics')!.kind).toBe('range');
        expect(first.results.get('query_metrics')!.series.length).toBeGreaterThan(0);
        const second = await walk(conn, workflow('investigate_namespace'), { namespace: 'payments', concern: 'checking again' });
        expect(second.ran).toEqual([...LOOK, 'list_incidents', 'update_incident']);
        expect(second.results.get('update_incident')!.incident.id).toBe(created.id);
        expect(second.results.get('update_incident')!.changes[0].event).toBe('note');

        const triage = await walk(conn, workflow('triage_alert'), { alertname: 'KubePodCrashLooping', namespace: 'batch', pod: 'report-worker-9a7b6c5d4-x7k2p' });
        expect(triage.ran).toEqual(['list_incidents', ...LOOK, 'create_incident']);
        expect(triage.results.get('create_incident')!.incident.labels).toMatchObject({ alertname: 'KubePodCrashLooping', source: 'alert-triage' });
        expect(triage.results.get('create_incident')!.incident.dedup_key).toMatch(/^alert\/[0-9a-f]{16}$/);

        const page = (
          await call(conn.client, 'create_incident', { title: 'Node worker-2 NotReady', description: 'kubelet stopped posting status', severity: 'critical', target: 'node/worker-2' })
        ).structuredContent as S;
        const handover = await walk(conn, workflow('summarize_open_incidents'), {});
        expect(handover.ran).toEqual(['list_incidents', 'critical', 'high', 'get_incident']);
        expect(handover.results.get('list_incidents')!.total).toBe(3);
        expect(handover.results.get('critical')!.incidents.map((i: S) => i.id)).toEqual([page.incident.id]);
        expect(handover.results.get('high')!.incidents.every((i: S) => i.severity === 'high')).toBe(true);
        expect(handover.results.get('get_incident')!.incident.id).toBe(page.incident.id);
        expect(handover.results.get('get_incident')!.incident.timeline.length).toBeGreaterThan(0);
      } finally {
        await conn.close();
        dir.cleanup();
      }
    }, 60_000);
  });
}

describe('prompt workflows, the other branches', () => {
  it('triage of an alert already open updates that incident, not the newest one in its namespace', async () => {
    const dir = tempDir();
    const conn = await connectVia('stdio', { DATA_DIR: dir.path, PROMETHEUS_URL: inject('prometheusUrl') });
    try {
      const make = async (alertname: string, pod: string) =>
        (
          await call(conn.client, 'create_incident', {
            title: `${alertname}: ${pod}`,
            description: 'opened by Alertmanager',
            severity: 'medium',
            target: 'batch',
            namespace: 'batch',
            labels: { source: 'alertmanager', alertname, pod },
          })
        ).structuredContent as S;
      const ours = await make('KubePodCrashLooping', 'report-worker-9a7b6c5d4-x7k2p');
      await make('KubePodCrashLooping', 'report-worker-9a7b6c5d4-b9q4m'); // the same alert for another pod
      await make('KubePodNotReady', 'report-worker-9a7b6c5d4-x7k2p'); // newest, another alert
      const triage = await walk(conn, workflow('triage_alert'), { alertname: 'KubePodCrashLooping', namespace: 'batch', pod: 'report-worker-9a7b6c5d4-x7k2p' });
      expect(triage.ran).toEqual(['list_incidents', ...LOOK, 'update_incident']);
      expect(triage.results.get('list_incidents')!.total).toBe(1);
      expect(triage.results.get('update_incident')!.incident.id).toBe(ours.incident.id);
    } finally {
      await conn.close();
      dir.cleanup();
    }
  }, 60_000);

  it('on a read-only server the prompts name no write tool, and every step they name works', async () => {
    const dir = tempDir();
    const conn = await connectVia('stdio', { DATA_DIR: dir.path, PROMETHEUS_URL: inject('prometheusUrl'), MCP_READ_ONLY: 'true' });
    try {
      const names = (await conn.client.listTools()).tools.map((t) => t.name);
      expect(names).not.toContain('create_incident');
      const triage = await walk(conn, workflow('triage_alert'), { alertname: 'KubePodCrashLooping', namespace: 'batch' }, { readOnly: true });
      expect(triage.ran).toEqual(['list_incidents', ...LOOK]);
      expect(triage.said).toMatch(/read-only/);
      expect(triage.said).not.toMatch(/create_incident|update_incident/);
      const investigate = await walk(conn, workflow('investigate_namespace'), { namespace: 'web' }, { readOnly: true });
      expect(investigate.ran).toEqual([...LOOK, 'list_incidents']);
      expect(investigate.said).toMatch(/read-only/);
      const { prompts } = await conn.client.listPrompts();
      expect(prompts.find((p) => p.name === 'triage_alert')!.description).not.toMatch(/record it/);
    } finally {
      await conn.close();
      dir.cleanup();
    }
  }, 60_000);

  it('without a suggestion from build_features, the steps fall back to the default detect_anomaly call', async () => {
    const dir = tempDir();
    const conn = await connectVia('stdio', { DATA_DIR: dir.path, PROMETHEUS_URL: inject('prometheusUrl') });
    try {
      // a namespace the cluster does not have: few real features, so no "next"
      const r = await walk(conn, workflow('investigate_namespace'), { namespace: 'nowhere' });
      expect(r.results.get('build_features')!.real).toBeLessThanOrEqual(10);
      expect(r.results.get('build_features')!.next).toBeUndefined();
      expect(r.fellBack).toContain('detect_anomaly: build_features.next.arguments');
      expect(r.results.get('detect_anomaly')!.query).toContain('namespace="nowhere"');
      expect(r.ran).toEqual([...LOOK, 'list_incidents', 'create_incident']);
    } finally {
      await conn.close();
      dir.cleanup();
    }
  }, 60_000);

  it("takes detect_anomaly's next arguments for query_metrics only when they are for query_metrics", async () => {
    const dir = tempDir();
    const conn = await connectVia('stdio', { DATA_DIR: dir.path, PROMETHEUS_URL: inject('prometheusUrl') });
    try {
      // an agent that points detect_anomaly at a counter without rate(): its "next" is detect_anomaly again
      const counter = 'sum(container_cpu_usage_seconds_total{namespace="payments",container!=""})';
      const r = await walk(conn, workflow('investigate_namespace'), { namespace: 'payments' }, { choose: { detect_anomaly: { query: counter, range: '3d' } } });
      expect(r.results.get('detect_anomaly')!.next).toMatchObject({ tool: 'detect_anomaly' });
      expect(r.fellBack).toContain('query_metrics: detect_anomaly.next.arguments');
      expect(r.calls.get('query_metrics')).toEqual({ query: counter, range: '6h' });
      expect(r.said).toMatch(/query_metrics with the "next" arguments detect_anomaly returned when its "next" is for query_metrics \(otherwise: /);
      // the usual case still takes them
      const usual = await walk(conn, workflow('investigate_namespace'), { namespace: 'payments' });
      expect(usual.results.get('detect_anomaly')!.next).toMatchObject({ tool: 'query_metrics' });
      expect(usual.calls.get('query_metrics')).toEqual(usual.results.get('detect_anomaly')!.next.arguments);
    } finally {
      await conn.close();
      dir.cleanup();
    }
  }, 60_000);
});
