// Guided workflows as MCP prompts. Each is data: ordered steps naming the tool, its
// arguments (with the prompt's arguments filled in, or a reference to an earlier result) and
// what to look for. The prompt text is rendered from the steps, and the scripted agent test
// runs the very same steps, so what a model is told is what is proven to work. On a read-only
// server the steps that would write are left out, since the server hides those tools.
import { completable, type McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { TRIAGE_SOURCE, alertDedupKey, alertKey } from './alerts/alertmanager.js';
import type { App } from './app.js';
import { usageQuery } from './features/builder.js';
import { checkScope } from './features/scope.js';
import { Namespace, objectName } from './incidents/model.js';
import { visibleTools } from './mcp/dispatcher.js';
import { stringMapFromJson } from './settings.js';
import { TOOLS } from './tools/index.js';

/** A value taken from an earlier step's structured result, by path. */
export interface Ref {
  /** the earlier step's id (its tool name unless it has an id) */
  from: string;
  path: string;
  /** how the text shows it */
  shown: string;
  /** used when the earlier result has nothing at `path`, or fails `onlyIf` */
  fallback?: Arg;
  /** taken only when the earlier result has this value at this path (e.g. the tool a "next" is for) */
  onlyIf?: { path: string; is: string };
}
export type Arg = string | number | Ref | Record<string, unknown>;

export type Condition = 'no_active_incident' | 'active_incident' | 'serious_incident';

export interface Step {
  tool: string;
  /** names the result for later references when a workflow calls one tool twice */
  id?: string;
  /** "$name" strings are replaced by the prompt's arguments */
  args: Record<string, Arg> | Ref;
  look: string;
  /** run only when the condition on earlier results holds */
  when?: Condition;
  /** arguments the model fills in from what it found */
  fill?: string[];
}

export interface Workflow {
  name: string;
  title: string;
  description: string;
  /** the description on a read-only server */
  descriptionReadOnly?: string;
  /** `rule`: the schema a tool checks the same value with (a prompt's arguments reach tools and PromQL); else text */
  args: Record<string, { description: string; required: boolean; rule?: z.ZodString; completeNamespace?: boolean }>;
  /** arguments worked out from the given ones, usable as "$name" too */
  derive?: (args: Record<string, string | undefined>) => Record<string, string>;
  intro: string;
  steps: Step[];
  finish: string;
  /** the finish on a read-only server, where nothing can be recorded */
  finishReadOnly?: string;
}

const ref = (from: string, path: string, shown: string, fallback?: Arg, onlyIf?: Ref['onlyIf']): Ref => ({
  from,
  path,
  shown,
  ...(fallback !== undefined ? { fallback } : {}),
  ...(onlyIf ? { onlyIf } : {}),
});

/**
 * detect_anomaly's default when build_features suggests nothing (it does only with more than 10
 * real features). The namespace passed the prompt's Namespace rule; checkScope checks it again
 * and the matcher escapes it, so no argument can change the query's shape.
 */
const usageArg = (args: Record<string, string | undefined>) => ({ usage_query: usageQuery(checkScope('namespace', args.namespace, undefined), 'cpu') });

const DETECT: Step = {
  tool: 'detect_anomaly',
  args: ref('build_features', 'next.arguments', 'the "next" arguments build_features returned', { query: '$usage_query', range: '3d' }),
  look: 'what is anomalous, since when, and how sure the detector is',
};
// detect_anomaly's "next" may be for detect_anomaly itself (the query again, as a rate): only one for query_metrics is taken
const LOOK_CLOSER: Step = {
  tool: 'query_metrics',
  args: ref(
    'detect_anomaly',
    'next.arguments',
    'the "next" arguments detect_anomaly returned when its "next" is for query_metrics',
    { query: ref('detect_anomaly', 'query', 'its query'), range: '6h' },
    { path: 'next.tool', is: 'query_metrics' },
  ),
  look: 'the raw series around what stood out: check the numbers you will report',
};

/** triage_alert's `labels`: refused with its rule rather than ignored, so the alert key is never quietly another. */
const AlertLabelsJson = z
  .string()
  .max(16_384)
  .refine((t) => stringMapFromJson(t) !== undefined, { error: 'must be a JSON object of label names to string values, e.g. {"alertname":"X","namespace":"y"}' });

/** The labels the triage prompt knows the alert by: the JSON given, else alertname, namespace and pod. */
function alertLabels(args: Record<string, string | undefined>): Record<string, string> {
  const given = args.labels === undefined ? undefined : stringMapFromJson(args.labels);
  if (given) return given;
  const out: Record<string, string> = {};
  for (const k of ['alertname', 'namespace', 'pod'] as const) if (args[k]) out[k] = args[k];
  return out;
}

export const WORKFLOWS: Workflow[] = [
  {
    name: 'investigate_namespace',
    title: 'Investigate a namespace',
    description: 'Check a namespace end to end: features, anomalies, the raw series, related incidents; record what you find.',
    descriptionReadOnly: 'Check a namespace end to end: features, anomalies, the raw series, related incidents; report what you find.',
    args: {
      namespace: { description: 'Kubernetes namespace', required: true, rule: Namespace, completeNamespace: true },
      concern: { description: 'what prompted the check, if anything', required: false },
    },
    derive: usageArg,
    intro: 'Investigate namespace "$namespace" of the Kubernetes cluster. Concern: $concern.',
    steps: [
      {
        tool: 'build_features',
        args: { scope: 'namespace', namespace: '$namespace' },
        look: 'which features stand out (utilization near 1, restarts, OOM kills, node pressure, pods not running); note nulls and warnings',
      },
      DETECT,
      LOOK_CLOSER,
      {
        tool: 'list_incidents',
        args: { status: 'active', namespace: '$namespace', labels: { source: 'investigate_namespace' } },
        look: 'whether an investigation of this namespace is already open (list_incidents without labels also shows alerts recorded there)',
      },
      {
        tool: 'create_incident',
        when: 'no_active_incident',
        args: { target: '$namespace', namespace: '$namespace', labels: { source: 'investigate_namespace' }, dedup_key: 'investigate/$namespace' },
        fill: ['title', 'description', 'severity'],
        look: 'only for a real problem; describe it with the numbers you saw',
      },
      {
        tool: 'update_incident',
        when: 'active_incident',
        args: { id: ref('list_incidents', 'incidents.0.id', "the open investigation's id") },
        fill: ['note'],
        look: 'add a note with what you found',
      },
    ],
    finish: 'Finish with a short report: healthy, degraded or incident; the evidence with numbers; the incident id if any; the next step.',
    finishReadOnly:
      'This server is read-only: it records nothing, so say in your report what should be recorded. ' +
      'Finish with a short report: healthy, degraded or incident; the evidence with numbers; the open incident id if any; the next step.',
  },
  {
    name: 'triage_alert',
    title: 'Triage an alert',
    description: 'Decide whether a firing alert is a real problem and record it once.',
    descriptionReadOnly: 'Decide whether a firing alert is a real problem, and report what should be recorded.',
    args: {
      alertname: { description: 'the alert, e.g. KubePodCrashLooping', required: true },
      namespace: { description: 'namespace the alert is about', required: true, rule: Namespace, completeNamespace: true },
      pod: { description: 'pod the alert names, if any', required: false, rule: objectName('pod') },
      summary: { description: "the alert's summary or description", required: false },
      labels: {
        description: 'all the alert\'s labels as JSON, if at hand, e.g. {"alertname":"KubePodCrashLooping","namespace":"batch","pod":"x","container":"y"}',
        required: false,
        rule: AlertLabelsJson,
      },
    },
    derive: (args) => {
      const key = alertKey(alertLabels(args));
      return { ...usageArg(args), alert_key: key, alert_dedup_key: alertDedupKey(key) };
    },
    intro: 'Alert $alertname is firing for namespace "$namespace" (pod: $pod). Summary: $summary. Decide whether it is a real problem.',
    steps: [
      {
        tool: 'list_incidents',
        args: { status: 'active', namespace: '$namespace', labels: { alertname: '$alertname', pod: '$pod' } },
        look: "whether this alert already has an open incident (from Alertmanager's webhook or an earlier triage); then update that one rather than create another",
      },
      {
        tool: 'build_features',
        args: { scope: 'namespace', namespace: '$namespace' },
        look: 'whether the metrics confirm the alert (restarts, OOM kills, saturation, pressure)',
      },
      { ...DETECT, look: 'when it started and whether it is still going on' },
      LOOK_CLOSER,
      {
        tool: 'create_incident',
        when: 'no_active_incident',
        args: {
          target: '$namespace',
          namespace: '$namespace',
          labels: { alertname: '$alertname', pod: '$pod', source: TRIAGE_SOURCE, alert_key: '$alert_key' },
          // the key Alertmanager's webhook gives the same alert, so the two make one incident
          dedup_key: '$alert_dedup_key',
        },
        fill: ['title', 'description', 'severity'],
        look: 'if it is real: severity from the impact you saw, not only from the alert',
      },
      {
        tool: 'update_incident',
        when: 'active_incident',
        args: { id: ref('list_incidents', 'incidents.0.id', "the open incident's id") },
        fill: ['note'],
        look: 'add what the metrics show now',
      },
    ],
    finish: 'Answer: real or noise, why (numbers), the incident id, and what a person should do next.',
    finishReadOnly:
      'This server is read-only: it records nothing, so do not try to open or update an incident; say what should be recorded. ' +
      'Answer: real or noise, why (numbers), the open incident id if any, and what a person should do next.',
  },
  {
    name: 'summarize_open_incidents',
    title: 'Summarize open incidents',
    description: 'A hand-over summary of active incidents, most severe first.',
    args: {
      namespace: { description: 'limit to one namespace (optional)', required: false, rule: Namespace, completeNamespace: true },
    },
    intro: 'Write a hand-over summary of the open incidents (namespace filter: $namespace).',
    steps: [
      {
        tool: 'list_incidents',
        args: { status: 'active', namespace: '$namespace', limit: 100 },
        look: 'every active incident; note the total and how many of each severity',
      },
      {
        tool: 'list_incidents',
        id: 'critical',
        args: { status: 'active', severity: 'critical', namespace: '$namespace', limit: 20 },
        look: 'the critical ones',
      },
      {
        tool: 'list_incidents',
        id: 'high',
        args: { status: 'active', severity: 'high', namespace: '$namespace', limit: 20 },
        look: 'the high ones',
      },
      {
        tool: 'get_incident',
        when: 'serious_incident',
        args: { id: ref('critical', 'incidents.0.id', "each critical and high incident's id", ref('high', 'incidents.0.id', '')) },
        look: 'its full description, notes and evidence',
      },
    ],
    finish: 'Group the incidents by severity, one line each (id, target, age, what is known, next step), then list what needs attention first.',
  },
];

/** The prompt's arguments plus those its workflow derives from them. */
export function workflowArgs(w: Workflow, args: Record<string, string | undefined>): Record<string, string | undefined> {
  return { ...args, ...(w.derive?.(args) ?? {}) };
}

/** The steps a model can take: without those whose tool the server hides (read-only). */
export function stepsFor(w: Workflow, readOnly: boolean): Step[] {
  const offered = new Set(visibleTools(TOOLS, readOnly).map((t) => t.name));
  return w.steps.filter((s) => offered.has(s.tool));
}

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
  const shownRef = (r: Ref): string => {
    if (r.fallback === undefined || (typeof r.fallback === 'object' && 'from' in r.fallback)) return r.shown;
    return `${r.shown} (${r.onlyIf ? 'otherwise' : 'if none'}: ${shownValue(fill(r.fallback, args))})`;
  };
  const shownValue = (v: Arg | undefined): string =>
    JSON.stringify(v, (_, x: unknown) => (typeof x === 'object' && x !== null && 'from' in x ? `<${(x as Ref).shown}>` : x));
  if ('from' in step.args) return `with ${shownRef(step.args as Ref)}`;
  const filled = fill(step.args as Record<string, Arg>, args) as Record<string, Arg>;
  // references show as <what to put there>
  const shown = Object.fromEntries(Object.entries(filled).map(([k, v]) => [k, typeof v === 'object' && 'from' in v ? `<${shownRef(v as Ref)}>` : v]));
  return `${JSON.stringify(shown)}${step.fill ? ` plus ${step.fill.join(', ')}` : ''}`;
}

const WHEN: Record<Condition, string> = {
  no_active_incident: 'If nothing is recorded yet: ',
  active_incident: 'If an incident is already active: ',
  serious_incident: 'For each critical or high one: ',
};

export function renderWorkflow(w: Workflow, given: Record<string, string | undefined>, opts: { readOnly?: boolean } = {}): string {
  const args = workflowArgs(w, given);
  const steps = stepsFor(w, opts.readOnly ?? false);
  const lines = [
    fill(w.intro, args) as string,
    'Use these tools in this order:',
    ...steps.map((s, i) => `${i + 1}. ${s.when ? WHEN[s.when] : ''}${s.tool} ${shownArgs(s, args)} - ${s.look}.`),
    opts.readOnly && w.finishReadOnly ? w.finishReadOnly : w.finish,
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
      // the SDK checks prompts/get against this schema and answers -32602 naming the argument and its rule
      let s: z.ZodType<string> = (a.rule ?? z.string().max(500)).describe(a.description);
      if (a.completeNamespace) s = completable(s as z.ZodString, (value) => namespaces(value ?? '')) as unknown as z.ZodType<string>;
      // zod 4 keeps a description on the schema it was given to, so an optional one is described again
      shape[name] = a.required ? s : s.optional().describe(a.description);
    }
    const description = (app.config.readOnly && w.descriptionReadOnly) || w.description;
    mcp.registerPrompt(w.name, { title: w.title, description, argsSchema: shape }, (args: Record<string, string | undefined>) => ({
      description,
      messages: [{ role: 'user', content: { type: 'text', text: renderWorkflow(w, args, { readOnly: app.config.readOnly }) } }],
    }));
  }
}
