// Guided workflows as MCP prompts. Each is data: ordered steps naming the tool, its
// arguments (with the prompt's arguments filled in, or a reference to an earlier result) and
// what to look for. The prompt text is rendered from the steps, and the scripted agent test
// runs the very same steps, so what a model is told is what is proven to work.
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { App } from './app.js';

/** A value taken from an earlier step's structured result, by path. */
export interface Ref {
  from: string;
  path: string;
  /** how the text shows it */
  shown: string;
}
export type Arg = string | number | Ref | Record<string, unknown>;

export interface Step {
  tool: string;
  /** "$name" strings are replaced by the prompt's arguments */
  args: Record<string, Arg> | Ref;
  look: string;
  /** run only when the condition on earlier results holds */
  when?: 'no_active_incident' | 'active_incident';
  /** arguments the model fills in from what it found */
  fill?: string[];
}

export interface Workflow {
  name: string;
  title: string;
  description: string;
  args: Record<string, { description: string; required: boolean; completeNamespace?: boolean }>;
  intro: string;
  steps: Step[];
  finish: string;
}

const ref = (from: string, path: string, shown: string): Ref => ({ from, path, shown });

export const WORKFLOWS: Workflow[] = [
  {
    name: 'investigate_namespace',
    title: 'Investigate a namespace',
    description: 'Check a namespace end to end: features, anomalies, related incidents; record what you find.',
    args: {
      namespace: { description: 'Kubernetes namespace', required: true, completeNamespace: true },
      concern: { description: 'what prompted the check, if anything', required: false },
    },
    intro: 'Investigate namespace "$namespace" of the Kubernetes cluster. Concern: $concern.',
    steps: [
      {
        tool: 'build_features',
        args: { scope: 'namespace', namespace: '$namespace' },
        look: 'which features stand out (utilization near 1, restarts, OOM kills, node pressure, pods not running); note nulls and warnings',
      },
      {
        tool: 'detect_anomaly',
        args: ref('build_features', 'next.arguments', 'the "next" arguments build_features returned'),
        look: 'what is anomalous, since when, and how sure the detector is',
      },
      {
        tool: 'list_incidents',
        args: { status: 'active', namespace: '$namespace' },
        look: 'whether this problem is already recorded and open',
      },
      {
        tool: 'create_incident',
        when: 'no_active_incident',
        args: { target: '$namespace', namespace: '$namespace' },
        fill: ['title', 'description', 'severity'],
        look: 'only for a real problem; describe it with the numbers you saw',
      },
      {
        tool: 'update_incident',
        when: 'active_incident',
        args: { id: ref('list_incidents', 'incidents.0.id', 'the active incident\'s id') },
        fill: ['note'],
        look: 'add a note with what you found',
      },
    ],
    finish: 'Finish with a short report: healthy, degraded or incident; the evidence with numbers; the incident id if any; the next step.',
  },
  {
    name: 'triage_alert',
    title: 'Triage an alert',
    description: 'Decide whether a firing alert is a real problem and record it once.',
    args: {
      alertname: { description: 'the alert, e.g. KubePodCrashLooping', required: true },
      namespace: { description: 'namespace the alert is about', required: true, completeNamespace: true },
      pod: { description: 'pod the alert names, if any', required: false },
      summary: { description: 'the alert\'s summary or description', required: false },
    },
    intro: 'Alert $alertname is firing for namespace "$namespace" (pod: $pod). Summary: $summary. Decide whether it is a real problem.',
    steps: [
      {
        tool: 'list_incidents',
        args: { status: 'active', namespace: '$namespace' },
        look: 'whether an incident for this alert is already open (then update it rather than create another)',
      },
      {
        tool: 'build_features',
        args: { scope: 'namespace', namespace: '$namespace' },
        look: 'whether the metrics confirm the alert (restarts, OOM kills, saturation, pressure)',
      },
      {
        tool: 'detect_anomaly',
        args: ref('build_features', 'next.arguments', 'the "next" arguments build_features returned'),
        look: 'when it started and whether it is still going on',
      },
      {
        tool: 'create_incident',
        when: 'no_active_incident',
        args: { target: '$namespace', namespace: '$namespace', labels: { alertname: '$alertname', source: 'alert-triage' } },
        fill: ['title', 'description', 'severity'],
        look: 'if it is real: severity from the impact you saw, not only from the alert',
      },
      {
        tool: 'update_incident',
        when: 'active_incident',
        args: { id: ref('list_incidents', 'incidents.0.id', 'the open incident\'s id') },
        fill: ['note'],
        look: 'add what the metrics show now',
      },
    ],
    finish: 'Answer: real or noise, why (numbers), the incident id, and what a person should do next.',
  },
  {
    name: 'summarize_open_incidents',
    title: 'Summarize open incidents',
    description: 'A hand-over summary of active incidents, most severe first.',
    args: {
      namespace: { description: 'limit to one namespace (optional)', required: false, completeNamespace: true },
    },
    intro: 'Write a hand-over summary of the open incidents (namespace filter: $namespace).',
    steps: [
      {
        tool: 'list_incidents',
        args: { status: 'active', namespace: '$namespace', limit: 100 },
        look: 'every active incident; note the total',
      },
      {
        tool: 'get_incident',
        args: { id: ref('list_incidents', 'incidents.0.id', 'each critical or high incident\'s id') },
        look: 'its full description, notes and evidence',
      },
    ],
    finish: 'Group the incidents by severity, one line each (id, target, age, what is known, next step), then list what needs attention first.',
  },
];

/** Fills "$name" placeholders; an unset optional argument reads "not given" in text and is dropped from arguments. */
export function fill(value: Arg, args: Record<string, string | undefined>): Arg | undefined {
  if (typeof value === 'string') {
    if (/^\$\w+$/.test(value)) return args[value.slice(1)];
    return value.replace(/\$(\w+)/g, (_, k: string) => args[k] ?? 'not given');
  }
  if (typeof value === 'number' || 'from' in value) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const f = fill(v as Arg, args);
    if (f !== undefined) out[k] = f;
  }
  return out;
}

function shownArgs(step: Step, args: Record<string, string | undefined>): string {
  if ('from' in step.args) return `with ${step.args.shown}`;
  const filled = fill(step.args as Record<string, Arg>, args) as Record<string, Arg>;
  // references show as <what to put there>
  const shown = Object.fromEntries(Object.entries(filled).map(([k, v]) => [k, typeof v === 'object' && 'from' in v ? `<${(v as Ref).shown}>` : v]));
  return `${JSON.stringify(shown)}${step.fill ? ` plus ${step.fill.join(', ')}` : ''}`;
}

export function renderWorkflow(w: Workflow, args: Record<string, string | undefined>): string {
  const when = { no_active_incident: 'If nothing is recorded yet: ', active_incident: 'If an incident is already active: ' };
  const lines = [
    fill(w.intro, args) as string,
    'Use these tools in this order:',
    ...w.steps.map((s, i) => `${i + 1}. ${s.when ? when[s.when] : ''}${s.tool} ${shownArgs(s, args)} - ${s.look}.`),
    w.finish,
  ];
  return lines.join('\n');
}

export function registerPrompts(mcp: McpServer, app: App): void {
  const namespaces = async (prefix: string): Promise<string[]> => {
    if (!app.prometheus) return [];
    try {
      const { values: all } = await app.prometheus.labelValues('namespace', { match: ['kube_namespace_status_phase'], start: Date.now() - 3_600_000 });
      return all.filter((n) => n.startsWith(prefix)).slice(0, 50);
    } catch {
      return [];
    }
  };
  for (const w of WORKFLOWS) {
    const shape: Record<string, z.ZodType<string | undefined>> = {};
    for (const [name, a] of Object.entries(w.args)) {
      let s: z.ZodType<string> = z.string().max(500).describe(a.description);
      if (a.completeNamespace) s = completable(s as z.ZodString, (value) => namespaces(value ?? '')) as unknown as z.ZodType<string>;
      shape[name] = a.required ? s : s.optional();
    }
    mcp.registerPrompt(w.name, { title: w.title, description: w.description, argsSchema: shape }, (args: Record<string, string | undefined>) => ({
      description: w.description,
      messages: [{ role: 'user', content: { type: 'text', text: renderWorkflow(w, args) } }],
    }));
  }
}
