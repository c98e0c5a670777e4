// Builds the feature vector: the catalog's batches run concurrently (bounded) through the
// shared client and its cache; derived features are computed here; every feature is a
// number, a category or null with a reason. Nothing is invented: a feature without data
// is null, and the result says how many are real.
import { UpstreamUnavailableError, messageOf } from '../errors.js';
import type { PrometheusApi } from '../prometheus/api.js';
import { escapeRegex, matcher } from '../prometheus/promql.js';
import { formatDuration } from '../time.js';
import {
  BATCHES,
  DEPLOYMENT_METHODS,
  ENTRY_COST,
  FEATURES,
  FEATURE_NAMES,
  GROUPS,
  ISSUE_TYPES,
  LABELS_ALLOWLIST,
  LAYERS,
  PLATFORM_NAMESPACES,
  ZERO_WITH_PODS,
  batchQuery,
  entryNames,
  packByCost,
  type Exprs,
  type Group,
} from './catalog.js';
import { ScopeSelectors, type Scope } from './scope.js';

export type IssueType = keyof typeof ISSUE_TYPES;
export type Value = number | string | null;

export interface BuildOptions {
  /** epoch ms the vector describes; default now */
  time?: number | undefined;
  timezone: string;
  /** business hours [start, end) in local hours, Monday to Friday */
  businessHours: [number, number];
  issueType?: IssueType | undefined;
  signal?: AbortSignal | undefined;
  /** how many PromQL requests the vector is split into (default 2) */
  parallel?: number;
  /** PROMETHEUS_TIMEOUT: with a lookup before the batches, the two together get this long */
  timeoutMs?: number;
}

export interface FeatureResult {
  scope: Scope;
  time: string;
  timezone: string;
  /** a feature lacks data it should have: no_data or an error (not not_applicable, no_limits or no_labels) */
  degraded: boolean;
  real: number;
  /** nulls that do not apply to the scope (a cluster has no namespace) */
  not_applicable: number;
  total: number;
  features: Record<Group, Record<string, Value>>;
  /** why each null feature is null: no_data, not_applicable, no_limits, "no_labels: <how to enable>" or "error: see errors[i]" */
  nulls: Record<string, string>;
  units: Record<string, string>;
  names: string[];
  vector: (number | null)[];
  /** upstream failures, once each */
  errors: string[];
  warnings: string[];
}

type R = { v: number } | { why: string };
const ok = (v: number): R => (Number.isFinite(v) ? { v } : { why: 'no_data' });
const why = (r: R): string | null => ('why' in r ? r.why : null);

function div(a: R, b: R): R {
  if ('why' in a) return a;
  if ('why' in b) return b;
  if (b.v === 0) return { why: 'no_data' };
  return ok(a.v / b.v);
}
/** a value that is there and is 0 (a count of nothing, a limit of nothing) */
const isZero = (x: R | undefined): boolean => x !== undefined && 'v' in x && x.v === 0;
/** a / limits, where limits of 0 mean pods run but none has a limit */
const perLimit = (a: R, limits: R): R => (isZero(limits) ? { why: 'no_limits' } : div(a, limits));
const change = (now: R, then: R): R => ('why' in now ? now : div({ v: now.v - ('v' in then ? then.v : 0) }, then));

/**
 * Utilization is kept to 0-1: the cluster's pods may use more than node allocatable (the
 * capacity kept for the system), and a 5m rate can pass a CPU limit a little (CFS periods).
 */
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** A stable hash of a string in [0, 1) (FNV-1a, 32 bits), for categorical values with no fixed list. */
export function hash01(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

export function layerOf(namespace: string): keyof typeof LAYERS {
  if (PLATFORM_NAMESPACES.includes(namespace)) return 'Platform';
  if (/^(kube-|openshift)/.test(namespace)) return 'Infrastructure';
  return 'Application';
}

// building an Intl.DateTimeFormat costs more than the rest of a vector's own work: one per zone
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', weekday: 'short', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    // zones are few, but Intl accepts any letter case of a name: keep the map bounded
    if (formatters.size >= 64) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

/** Hour of day (fractional, unrounded), weekday (Monday = 0) at `ms` in an IANA time zone. */
export function localTime(ms: number, timezone: string): { hour: number; weekday: number } {
  const parts = formatter(timezone).formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '0';
  const hour = Number(get('hour')) + Number(get('minute')) / 60 + Number(get('second')) / 3600;
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday'));
  return { hour, weekday };
}

function deploymentMethod(raw: Map<string, R>): R | { s: string } {
  // the scope's deployments, each counted under one method (or _deploys_other)
  const parts = ['argocd', 'operator', 'helm', 'other'].map((m) => raw.get(`_deploys_${m}`) ?? { why: 'no_data' });
  const failed = parts.find((x) => why(x)?.startsWith('error'));
  if (failed) return failed;
  const [argocd, operator, helm, other] = parts.map((x) => ('v' in x ? x.v : 0)) as [number, number, number, number];
  // each deployment counts under one method (Argo CD rendering a Helm chart is ArgoCD); ties go to the earlier in this list
  const best = [
    { m: 'ArgoCD', n: argocd },
    { m: 'Operator', n: operator },
    { m: 'Helm', n: helm },
  ].reduce((a, b) => (b.n > a.n ? b : a));
  if (best.n > 0) return { s: best.m };
  if (other === 0) return { why: 'no_data' };
  // no label to go by anywhere: kube-state-metrics does not expose them, which is not "Manual"
  const labelled = raw.get('_deploys_labelled');
  if (isZero(labelled)) {
    return { why: `no_labels: kube-state-metrics exposes no deployment's managed-by or Argo CD label; run it with ${LABELS_ALLOWLIST}` };
  }
  return { s: 'Manual' };
}

function inferIssue(v: (n: string) => number | null): IssueType | null {
  const known = ['oom_kill_count', 'container_restarts', 'restarts_24h', 'image_pull_failures', 'cpu_utilization', 'memory_utilization'].filter(
    (n) => v(n) !== null,
  );
  if (known.length === 0) return null;
  const gt = (n: string, x: number) => (v(n) ?? Number.NEGATIVE_INFINITY) > x;
  if (gt('oom_kill_count', 0)) return 'oom';
  if (gt('container_restarts', 0) || gt('restarts_24h', 2)) return 'crashloop';
  if (gt('image_pull_failures', 0)) return 'image_pull';
  if (gt('node_memory_pressure', 0) || gt('node_disk_pressure', 0) || gt('node_pid_pressure', 0)) return 'node_pressure';
  if (gt('cpu_utilization', 0.9 - 1e-9)) return 'cpu_saturation';
  if (gt('memory_utilization', 0.9 - 1e-9)) return 'memory_saturation';
  const sh = v('services_healthy');
  if (gt('operators_not_ready', 0) || gt('pods_not_running', 0) || (sh !== null && sh < 1)) return 'degraded_platform';
  return 'none';
}

export interface Plan {
  exprs: Exprs;
  /** a range query over the 24h before the vector's time, at 5m steps */
  range: boolean;
}

export const HISTORY_MS = 86_400_000;
export const HISTORY_STEP_MS = 300_000;

/**
 * The PromQL requests a vector needs: the range batch on its own, the instant entries packed
 * by cost into the remaining `parallel - 1` requests.
 */
export function featurePlans(scope: Scope, parallel: number, replicaSets?: readonly string[]): Plan[] {
  const sel = new ScopeSelectors(scope, replicaSets);
  const entries = (range: boolean) =>
    BATCHES.filter((b) => Boolean(b.range) === range).flatMap((b) => Object.entries(b.exprs(sel)).map(([name, e]) => ({ name, e, cost: ENTRY_COST[name] ?? 1 })));
  const plan = (group: { name: string; e: Exprs[string] }[], range: boolean): Plan => ({ exprs: Object.fromEntries(group.map((x) => [x.name, x.e])), range });
  const ranged = entries(true);
  return [...(ranged.length ? [plan(ranged, true)] : []), ...packByCost(entries(false), Math.max(1, parallel - 1)).map((g) => plan(g, false))];
}

/** How far back a vector's expressions read (restarts_7d): a deployment's ReplicaSets are looked up over it. */
const REACH_MS = 7 * 86_400_000;
/** "now" lookups are bucketed, so repeated vectors share one cached answer: as stale as the client's "now" answers may be */
const NOW_BUCKET_MS = 30_000;

/**
 * The query for the ReplicaSets named like a deployment's ("<deployment>-...") that exist at
 * the vector's time but that it does not control: orphaned by `kubectl delete
 * --cascade=orphan`, or adopted by another controller.
 */
export function lostReplicaSetsQuery(scope: Scope): string {
  const sel = new ScopeSelectors(scope);
  const named = sel.namespace(matcher('replicaset', `${escapeRegex(`${scope.name!}-`)}.+`, '=~'));
  const ours = sel.namespace('owner_kind="Deployment"', matcher('owner_name', scope.name!), 'owner_is_controller="true"');
  return `count by (replicaset) (kube_replicaset_owner{${named}} unless on(namespace, replicaset) kube_replicaset_owner{${ours}})`;
}

/**
 * The names of the ReplicaSets a deployment owned in the window its expressions read, so its
 * pods can be picked by name: the series API (an index lookup) and, alongside, the lost ones
 * (lostReplicaSetsQuery). undefined, so the expressions join owners looked up at each time,
 * when a ReplicaSet changed hands in the window (its pods were the deployment's for part of
 * it), when one is not named "<deployment>-..." (adopted, or a backend that matched loosely),
 * or when a request was refused. An outage is thrown, so a vector waits for one timeout, not two.
 */
export async function deploymentReplicaSets(
  client: PrometheusApi,
  scope: Scope,
  time: number | undefined,
  signal?: AbortSignal,
): Promise<string[] | undefined> {
  if (scope.kind !== 'deployment') return undefined;
  const owned = `kube_replicaset_owner{${new ScopeSelectors(scope).namespace('owner_kind="Deployment"', matcher('owner_name', scope.name!))}}`;
  const end = time ?? Math.ceil(Date.now() / NOW_BUCKET_MS) * NOW_BUCKET_MS;
  const call = signal ? { signal } : {};
  try {
    const [sets, lost] = await Promise.all([
      client.series([owned], { start: end - REACH_MS, end, ...call }),
      client.query(lostReplicaSetsQuery(scope), { ...(time !== undefined ? { time } : {}), ...call }),
    ]);
    const names = [...new Set(sets.values.map((l) => l.replicaset ?? ''))].sort();
    const gone = new Set(lost.samples.map((x) => x.labels.replicaset));
    if (names.some((n) => !n.startsWith(`${scope.name!}-`) || gone.has(n))) return undefined;
    return names;
  } catch (err) {
    if (err instanceof UpstreamUnavailableError || signal?.aborted) throw err;
    return undefined;
  }
}

/** Mean and max of a reduced 24h series, or the reason there are none. */
function reduceSeries(values: number[] | undefined): { avg: R; max: R } {
  const vs = (values ?? []).filter(Number.isFinite).map(clamp01);
  if (vs.length === 0) return { avg: { why: 'no_data' }, max: { why: 'no_data' } };
  return { avg: ok(vs.reduce((a, b) => a + b, 0) / vs.length), max: ok(Math.max(...vs)) };
}

export async function buildFeatures(client: PrometheusApi, scope: Scope, opts: BuildOptions): Promise<FeatureResult> {
  const raw = new Map<string, R>();
  const series = new Map<string, number[]>();
  const errors: string[] = [];
  const times: number[] = [];
  let replicaSets: string[] | undefined;
  const started = Date.now();
  try {
    replicaSets = await deploymentReplicaSets(client, scope, opts.time, opts.signal);
  } catch (err) {
    // Prometheus is down: no second wait for the batches, every queried feature says why
    errors.push(messageOf(err));
    for (const p of featurePlans(scope, opts.parallel ?? 2)) {
      for (const [name, e] of Object.entries(p.exprs)) for (const n of entryNames(name, e)) raw.set(n, e === null ? { why: 'not_applicable' } : { why: 'error: see errors[0]' });
    }
  }
  const plans = errors.length ? [] : featurePlans(scope, opts.parallel ?? 2, replicaSets);
  // what the lookup took comes out of the batches' time
  const spent = Date.now() - started;
  const budget = scope.kind === 'deployment' && plans.length > 0 && opts.timeoutMs !== undefined ? AbortSignal.timeout(Math.max(1, opts.timeoutMs - spent)) : undefined;
  const both = budget && opts.signal ? AbortSignal.any([opts.signal, budget]) : (budget ?? opts.signal);
  await Promise.all(
    plans.map(async (p) => {
      const names = Object.entries(p.exprs).flatMap(([name, e]) => entryNames(name, e));
      for (const [n, e] of Object.entries(p.exprs)) if (e === null) raw.set(n, { why: 'not_applicable' });
      const query = batchQuery(p.exprs);
      const signal = both ? { signal: both } : {};
      try {
        if (p.range) {
          const end = opts.time ?? Date.now();
          const r = await client.queryRange(query, { start: end - HISTORY_MS, end, step: HISTORY_STEP_MS }, signal);
          for (const s of r.series) if (s.labels.feature) series.set(s.labels.feature, s.values);
        } else {
          const r = await client.query(query, { ...(opts.time !== undefined ? { time: opts.time } : {}), ...signal });
          times.push(r.time);
          for (const s of r.samples) if (s.labels.feature) raw.set(s.labels.feature, ok(s.v));
        }
        for (const n of names) if (!raw.has(n) && !series.has(n)) raw.set(n, { why: 'no_data' });
      } catch (err) {
        const msg =
          budget?.aborted && !opts.signal?.aborted
            ? `Prometheus did not answer within ${formatDuration(opts.timeoutMs!)} (PROMETHEUS_TIMEOUT), the ReplicaSet lookup included`
            : messageOf(err);
        if (!errors.includes(msg)) errors.push(msg);
        // the message itself is in errors, once
        for (const n of names) if (!raw.has(n)) raw.set(n, { why: `error: see errors[${errors.indexOf(msg)}]` });
      }
    }),
  );

  const podCount = raw.get('pod_count');
  if (podCount && 'v' in podCount) for (const n of ZERO_WITH_PODS) if (why(raw.get(n) ?? { why: 'no_data' }) === 'no_data') raw.set(n, { v: 0 });
  const at = opts.time ?? (times.length ? Math.min(...times) : Date.now());
  const get = (n: string): R => raw.get(n) ?? { why: 'no_data' };
  const r = new Map<string, R | { s: string }>();
  for (const [n, v] of raw) if (!n.startsWith('_')) r.set(n, v);

  for (const [feature, x] of [['cpu', '_cpu'], ['memory', '_mem']] as const) {
    const use = why(get(`${x}_used`)) === 'not_applicable' ? get(x) : get(`${x}_used`);
    const ratio = perLimit(use, get(`${x}_cap`));
    const now = 'v' in ratio ? { v: clamp01(ratio.v) } : ratio;
    r.set(`${feature}_utilization`, now);
    const failed = raw.get(`${x}_ratio`);
    let h = failed ? { avg: failed, max: failed } : reduceSeries(series.get(`${x}_ratio`));
    if (why(h.avg) === 'no_data' && why(now) === 'no_limits') h = { avg: now, max: now };
    r.set(`${feature}_24h_avg`, h.avg);
    r.set(`${feature}_24h_max`, h.max);
  }
  r.set('cpu_trend_5m', change(get('_cpu'), get('_cpu_5m')));
  r.set('cpu_trend_1h', change(get('_cpu'), get('_cpu_1h')));
  r.set('memory_trend_5m', change(get('_mem'), get('_mem_5m')));
  r.set('memory_trend_1h', change(get('_mem'), get('_mem_1h')));
  r.set('cpu_daily_change', change(get('_cpu'), get('_cpu_1d')));
  r.set('memory_daily_change', change(get('_mem'), get('_mem_1d')));
  const pods = get('pod_count');
  r.set('avg_pod_memory_request', div(get('_mem_req'), pods));
  r.set('avg_pod_cpu_request', div(get('_cpu_req'), pods));
  // a pod without a limit is unbounded, not limited to 0: no limits at all gives null
  const limitPerPod = (lim: R) => (isZero(lim) ? { why: 'no_limits' } : div(lim, pods));
  r.set('avg_pod_memory_limit', limitPerPod(get('_mem_lim')));
  r.set('avg_pod_cpu_limit', limitPerPod(get('_cpu_lim')));
  // requests of limited containers over their limits: each at most 1 (the API server refuses requests > limits)
  const ratios = [perLimit(get('_cpu_req_limited'), get('_cpu_lim')), perLimit(get('_mem_req_limited'), get('_mem_lim'))];
  const known = ratios.filter((x): x is { v: number } => 'v' in x);
  r.set(
    'request_to_limit_ratio',
    known.length ? ok(known.reduce((a, x) => a + x.v, 0) / known.length) : (ratios.find((x) => why(x)?.startsWith('error')) ?? ratios[0]!),
  );

  r.set('namespace', scope.namespace === null ? { why: 'not_applicable' } : { s: scope.namespace });
  r.set('layer', scope.namespace === null ? { why: 'not_applicable' } : { s: layerOf(scope.namespace) });
  r.set('deployment_method', deploymentMethod(raw));
  // a pod no deployment owns (a DaemonSet's, a Job's, a bare one) has no deployment to describe
  if (isZero(raw.get('_pod_deployment'))) for (const n of ['deployment_method', 'hpa_scaling_events']) r.set(n, { why: 'not_applicable' });
  // a scope with no claims has no storage to measure: not a gap in the data
  if (isZero(raw.get('_pvc_count'))) for (const n of ['pvc_utilization', 'pvcs_bound']) r.set(n, { why: 'not_applicable' });
  const num = (n: string): number | null => {
    const x = r.get(n);
    return x && 'v' in x ? x.v : null;
  };
  const issue = opts.issueType ?? inferIssue(num);
  r.set('issue_type', issue === null ? { why: 'no_data' } : { s: issue });
  const local = localTime(at, opts.timezone);
  // floored, so 23:59:45 is 23.99, not 24 (the epsilon absorbs float error in seconds / 3600)
  r.set('time_of_day', { v: Math.floor(local.hour * 100 + 1e-9) / 100 });
  r.set('day_of_week', { v: local.weekday });
  const [from, to] = opts.businessHours;
  r.set('is_business_hours', { v: local.weekday < 5 && local.hour >= from && local.hour < to ? 1 : 0 });

  const features = Object.fromEntries(GROUPS.map((g) => [g, {} as Record<string, Value>])) as Record<Group, Record<string, Value>>;
  const nulls: Record<string, string> = {};
  const units: Record<string, string> = {};
  const vector: (number | null)[] = [];
  for (const f of FEATURES) {
    const x = r.get(f.name) ?? { why: 'no_data' };
    units[f.name] = f.unit;
    if ('why' in x) {
      features[f.group][f.name] = null;
      nulls[f.name] = x.why;
      vector.push(null);
    } else if ('s' in x) {
      features[f.group][f.name] = x.s;
      vector.push(f.codes ? (f.codes[x.s] ?? null) : hash01(x.s));
    } else {
      // float dust from subtracting equal values is not a trend
      const a = Math.abs(x.v);
      const v = a < 1e-9 ? 0 : a >= 1e5 ? Math.round(x.v) : Number(x.v.toPrecision(6));
      features[f.group][f.name] = v;
      vector.push(v);
    }
  }
  const real = FEATURES.length - Object.keys(nulls).length;
  const reasons = Object.values(nulls);
  const warnings: string[] = [];
  for (const [res, name] of [['cpu', '_cpu_unlimited'], ['memory', '_mem_unlimited']] as const) {
    const u = raw.get(name);
    const n = u && 'v' in u ? u.v : 0;
    const k = `${res}_utilization`;
    if (n > 0 && num(k) !== null) {
      warnings.push(`${k} covers only containers with a ${res === 'cpu' ? 'CPU' : res} limit: ${n} running container${n === 1 ? ' has' : 's have'} none`);
    }
  }
  if (why(get('pod_count')) === 'no_data' && scope.kind !== 'cluster') {
    warnings.push(
      `no pods found for ${scope.kind} ${scope.name ?? scope.namespace}${scope.kind !== 'namespace' ? ` in namespace ${scope.namespace}` : ''}; check the name (query_metrics {"discover":"label_values","label":"${scope.kind === 'namespace' ? 'namespace' : 'pod'}"})`,
    );
  }
  return {
    scope,
    time: new Date(at).toISOString(),
    timezone: opts.timezone,
    degraded: reasons.some((x) => x === 'no_data' || x.startsWith('error')),
    real,
    not_applicable: reasons.filter((x) => x === 'not_applicable').length,
    total: FEATURES.length,
    features,
    nulls,
    units,
    names: [...FEATURE_NAMES],
    vector,
    errors,
    warnings,
  };
}

/** The PromQL behind the scope's CPU or memory use, for a follow-up call. */
export function usageQuery(scope: Scope, what: 'cpu' | 'memory'): string {
  const s = new ScopeSelectors(scope);
  const sel = s.pod('container!=""', 'container!="POD"');
  return `sum(${s.owned(what === 'cpu' ? `rate(container_cpu_usage_seconds_total{${sel}}[5m])` : `container_memory_working_set_bytes{${sel}}`)})`;
}
