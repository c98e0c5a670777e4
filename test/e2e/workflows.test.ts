// The prompts' workflows walked through by a deterministic agent (no model): for each prompt
// it reads the text the server renders, then runs the same steps through a real MCP client
// against the fixture Prometheus, feeding each step's structured result to the next.
import { describe, expect, inject, it } from 'vitest';
import { WORKFLOWS, fill, type Arg, type Ref, type Step, type Workflow } from '../../src/prompts.js';
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
  const summary = `${found}; ${features?.real ?? '?'}/45 features real; issue ${features?.features?.metadata?.issue_type ?? 'unknown'}`;
  const out: Record<string, unknown> = {};
  for (const f of step.fill ?? []) {
    if (f === 'title') out.title = `${args.alertname ?? 'Investigation'}: ${args.namespace}`;
    if (f === 'description') out.description = `Found by the ${step.tool} workflow: ${summary}.`;
    if (f === 'severity') out.severity = anomaly && anomaly.score > 0.9 ? 'high' : 'medium';
    if (f === 'note') out.note = `Checked again: ${summary}.`;
  }
  return out;
}

async function walk(conn: Connected, w: Workflow, args: Record<string, string | undefined>): Promise<{ ran: string[]; results: Map<string, S> }> {
  const prompt = await conn.client.getPrompt({ name: w.name, arguments: Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) as Record<string, string> });
  const said = (prompt.messages[0]!.content as { text: string }).text;
  // the text names every step's tool, in order
  let from = 0;
  for (const s of w.steps) {
    const i = said.indexOf(s.tool, from);
    expect(i, `${w.name} mentions ${s.tool} after step ${from}`).toBeGreaterThanOrEqual(0);
    from = i + s.tool.length;
  }
  const results = new Map<string, S>();
  const ran: string[] = [];
  for (const step of w.steps) {
    const listed = results.get('list_incidents');
    const active = (listed?.incidents ?? []).some((i: S) => i.status === 'active');
    if (step.when === 'no_active_incident' && active) continue;
    if (step.when === 'active_incident' && !active) continue;
    const resolve = (v: Arg): unknown => {
      if (!isRef(v)) return v;
      const got = at(results.get(v.from), v.path);
      expect(got, `${w.name}: ${step.tool} needs ${v.path} from ${v.from}`).toBeDefined();
      return got;
    };
    let callArgs: Record<string, unknown>;
    if (isRef(step.args)) callArgs = resolve(step.args) as Record<string, unknown>;
    else {
      const filled = fill(step.args as Record<string, Arg>, args) as Record<string, Arg>;
      callArgs = Object.fromEntries(Object.entries(filled).map(([k, v]) => [k, resolve(v)]));
    }
    const r = await call(conn.client, step.tool, { ...callArgs, ...fields(step, results, args) });
    expect(r.isError, `${w.name}: ${step.tool} ${JSON.stringify(callArgs)}: ${text(r)}`).toBeFalsy();
    expect(r.structuredContent, step.tool).toBeDefined();
    results.set(step.tool, r.structuredContent as S);
    ran.push(step.tool);
  }
  return { ran, results };
}

const workflow = (name: string) => WORKFLOWS.find((w) => w.name === name)!;

for (const transport of ['stdio', 'http'] as const) {
  describe(`prompt workflows over ${transport}, step by step`, () => {
    it('every prompt works step by step: investigate (creates, then updates on a second run), triage an alert, hand over', async () => {
      const dir = tempDir();
      const conn = await connectVia(transport, { DATA_DIR: dir.path, PROMETHEUS_URL: inject('prometheusUrl') });
      try {
        const first = await walk(conn, workflow('investigate_namespace'), { namespace: 'payments' });
        expect(first.ran).toEqual(['build_features', 'detect_anomaly', 'list_incidents', 'create_incident']);
        const created = first.results.get('create_incident')!.incident;
        expect(created).toMatchObject({ namespace: 'payments', status: 'active' });
        const second = await walk(conn, workflow('investigate_namespace'), { namespace: 'payments', concern: 'checking again' });
        expect(second.ran).toEqual(['build_features', 'detect_anomaly', 'list_incidents', 'update_incident']);
        expect(second.results.get('update_incident')!.incident.id).toBe(created.id);
        expect(second.results.get('update_incident')!.changes[0].event).toBe('note');

        const triage = await walk(conn, workflow('triage_alert'), { alertname: 'KubePodCrashLooping', namespace: 'batch', pod: 'report-worker-9a7b6c5d4-x7k2p' });
        expect(triage.ran).toEqual(['list_incidents', 'build_features', 'detect_anomaly', 'create_incident']);
        expect(triage.results.get('create_incident')!.incident.labels).toMatchObject({ alertname: 'KubePodCrashLooping', source: 'alert-triage' });

        const handover = await walk(conn, workflow('summarize_open_incidents'), {});
        expect(handover.ran).toEqual(['list_incidents', 'get_incident']);
        expect(handover.results.get('list_incidents')!.total).toBe(2);
        expect(handover.results.get('get_incident')!.incident.timeline.length).toBeGreaterThan(0);
      } finally {
        await conn.close();
        dir.cleanup();
      }
    }, 60_000);
  });
}
