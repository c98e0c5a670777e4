// What query_metrics does: check a request before any upstream call (mode, times, step,
// the 11,000-points-per-series limit), run it through the shared client, and shape the
// answer for an agent: summaries first, bounded series and points, truncation stated.
import { InputError, NotConfiguredError } from '../errors.js';
import { formatDuration, niceStep } from '../time.js';
import type { Discovered, Labels, PrometheusApi, Tier } from './api.js';
import { MAX_POINTS_PER_SERIES, alignRange, matcher } from './promql.js';
import { commonLabels, distinguishing, downsample, num, pick, selector, short, sparkline, stats, without, type Num, type Stats } from './shape.js';

export const DISCOVER = ['metrics', 'labels', 'label_values', 'series', 'metadata'] as const;
export type Discover = (typeof DISCOVER)[number];

const TARGET_POINTS = 250;
/** all points shown across series, so many series do not flood the context */
const POINT_BUDGET = 1500;
const DISCOVERY_WINDOW_MS = 3_600_000;

export interface QueryArgs {
  query?: string | undefined;
  time?: number | undefined;
  range?: number | undefined;
  start?: number | undefined;
  end?: number | undefined;
  step?: number | undefined;
  discover?: Discover | undefined;
  match?: string | undefined;
  label?: string | undefined;
  filter?: string | undefined;
  limit: number;
  max_points: number;
}

export type Plan =
  | { kind: 'instant'; query: string; time: number | undefined }
  | { kind: 'range'; query: string; start: number; end: number; step: number }
  | {
      kind: Discover;
      /** a series selector; a /regex/ filter becomes one, so Prometheus (RE2, linear time) runs it */
      match: string | undefined;
      label: string | undefined;
      filter: ((s: string) => boolean) | null;
      start: number;
      end: number;
    };

export function requirePrometheus(p: PrometheusApi | null): PrometheusApi {
  if (!p) {
    throw new NotConfiguredError(
      'the metric tools need Prometheus or a Thanos Querier. Set PROMETHEUS_URL in the server\'s environment ' +
        '(e.g. http://127.0.0.1:9090, or https://thanos-querier.openshift-monitoring.svc:9091 in OpenShift) and restart the server. ' +
        'The incident tools work without it.',
    );
  }
  return p;
}

/** A step of about 250 points, rounded to a familiar value. */
export function defaultStep(spanMs: number): number {
  return niceStep(spanMs, TARGET_POINTS);
}

/**
 * A /regex/ filter never runs here: a backtracking JavaScript regex on names from Prometheus
 * could block the event loop for every session (ReDoS). It becomes a matcher Prometheus
 * evaluates with RE2, in linear time, so it is only offered where a matcher can carry it.
 */
function regexMatcher(filter: string, discover: Discover, label: string | undefined, match: string | undefined): string | null {
  const re = /^\/(.+)\/([i]?)$/.exec(filter);
  if (!re) return null;
  if (discover !== 'metrics' && discover !== 'label_values') {
    throw new InputError('filter', 'takes a /regex/ only with discover "metrics" or "label_values"; use a substring here');
  }
  if (match !== undefined) throw new InputError('filter', 'a /regex/ filter cannot be combined with match; use a substring filter');
  try {
    new RegExp(re[1]!); // syntax check only: compiling runs nothing
  } catch (err) {
    throw new InputError('filter', `is not a valid regular expression: ${(err as Error).message}`);
  }
  // Prometheus anchors its regexes; a JavaScript-style search is .*(?:re).*
  const rx = `${re[2] ? '(?i)' : ''}.*(?:${re[1]}).*`;
  return `{${matcher(discover === 'metrics' ? '__name__' : label!, rx, '=~')}}`;
}

function substringFilter(filter: string | undefined): ((s: string) => boolean) | null {
  if (filter === undefined) return null;
  const needle = filter.toLowerCase();
  return (s) => s.toLowerCase().includes(needle);
}

export function planQuery(a: QueryArgs, now: number): Plan {
  if ((a.query === undefined) === (a.discover === undefined)) {
    throw new InputError('query', 'give either query (PromQL) or discover, not both and not neither');
  }
  if (a.discover !== undefined) {
    for (const f of ['time', 'step'] as const) {
      if (a[f] !== undefined) throw new InputError(f, `is for PromQL queries, not for discover`);
    }
    if (a.discover === 'label_values' && a.label === undefined) throw new InputError('label', 'is required with discover "label_values"');
    if (a.label !== undefined && !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(a.label)) {
      throw new InputError('label', 'must be a label name (letters, digits, "_"; not starting with a digit)');
    }
    if (a.discover === 'series' && a.match === undefined) {
      throw new InputError('match', 'is required with discover "series", e.g. {namespace="prod"} or a metric name');
    }
    const end = a.end ?? now;
    const start = a.start ?? end - (a.range ?? DISCOVERY_WINDOW_MS);
    if (start >= end) throw new InputError('start', 'must be before end');
    const rx = a.filter === undefined ? null : regexMatcher(a.filter, a.discover, a.label, a.match);
    return { kind: a.discover, match: rx ?? a.match, label: a.label, filter: rx ? null : substringFilter(a.filter), start, end };
  }
  for (const f of ['match', 'label', 'filter'] as const) {
    if (a[f] !== undefined) throw new InputError(f, 'is for discover, not for PromQL queries');
  }
  const query = a.query!;
  const isRange = a.range !== undefined || a.start !== undefined || a.end !== undefined;
  if (!isRange) {
    if (a.step !== undefined) throw new InputError('step', 'needs a range query: add range (e.g. "1h") or start');
    return { kind: 'instant', query, time: a.time };
  }
  if (a.time !== undefined) throw new InputError('time', 'is for instant queries; a range query takes range or start/end');
  if (a.range !== undefined && a.start !== undefined) throw new InputError('range', 'give range or start, not both');
  const end = a.end ?? now;
  const start = a.start ?? (a.range !== undefined ? end - a.range : Number.NaN);
  if (Number.isNaN(start)) throw new InputError('start', 'is required with end; or give range, e.g. "1h"');
  if (start >= end) throw new InputError('start', `must be before end (start ${new Date(start).toISOString()}, end ${new Date(end).toISOString()})`);
  const step = a.step ?? defaultStep(end - start);
  const { points, step: sent } = alignRange({ start, end, step });
  if (points > MAX_POINTS_PER_SERIES) {
    // one second more than the even share: flooring start and end to the step may add a point
    const minStep = Math.ceil((end - start) / (MAX_POINTS_PER_SERIES - 1) / 1000) + 1;
    throw new InputError(
      'step',
      `${formatDuration(sent)} over ${formatDuration(end - start)} gives ${points} points per series; Prometheus allows ${MAX_POINTS_PER_SERIES}: use a step of at least ${minStep}s`,
    );
  }
  return { kind: 'range', query, start, end, step };
}

export interface SeriesView extends Partial<Stats> {
  labels: Labels;
  value?: Num;
  points?: [number, Num][];
}

export interface QueryView {
  kind: 'instant' | 'range' | Discover;
  tier?: Tier;
  time?: string;
  start?: string;
  end?: string;
  step?: string;
  result_type?: string;
  total: number;
  returned: number;
  omitted: number;
  common_labels?: Labels;
  series?: SeriesView[];
  values?: string[];
  metadata?: { metric: string; type: string; help: string; unit: string }[];
  warnings: string[];
}

const iso = (ms: number) => new Date(ms).toISOString();
/** sort(), topk() and friends set an order the caller asked for; keep it. */
const ORDERED = /\b(sort|sort_desc|sort_by_label|sort_by_label_desc|topk|bottomk)\s*\(/;

function bySize(a: number, b: number): number {
  const x = Number.isNaN(a) ? Number.NEGATIVE_INFINITY : a;
  const y = Number.isNaN(b) ? Number.NEGATIVE_INFINITY : b;
  return y - x;
}

function limitSeries<T extends { labels: Labels }>(all: T[], limit: number): { shown: T[]; common: Labels; omitted: number } {
  const common = commonLabels(all.map((s) => s.labels));
  const shown = all.slice(0, limit).map((s) => ({ ...s, labels: without(s.labels, common) }));
  return { shown, common, omitted: Math.max(0, all.length - limit) };
}

export async function runQuery(client: PrometheusApi, plan: Plan, a: QueryArgs, signal?: AbortSignal): Promise<QueryView> {
  const opts = signal ? { signal } : {};
  if (plan.kind === 'instant') {
    const r = await client.query(plan.query, { ...opts, ...(plan.time !== undefined ? { time: plan.time } : {}) });
    const base = { kind: 'instant' as const, tier: r.tier, time: iso(r.time), result_type: r.resultType, warnings: r.warnings };
    if (r.resultType === 'matrix') {
      // an instant query of a range selector: raw samples per series
      const all = r.series.map((s) => ({ labels: s.labels, ts: s.timestamps, vs: s.values }));
      const { shown, common, omitted } = limitSeries(all, a.limit);
      const per = Math.max(10, Math.min(a.max_points, Math.floor(POINT_BUDGET / Math.max(1, shown.length))));
      return {
        ...base,
        total: all.length,
        returned: shown.length,
        omitted,
        common_labels: common,
        series: shown.map((s) => ({ labels: s.labels, ...stats(s.vs), points: downsample(s.ts, s.vs, per).map(([t, v]) => [t / 1000, num(v)]) })),
      };
    }
    const samples = ORDERED.test(plan.query) ? r.samples : [...r.samples].sort((x, y) => bySize(x.v, y.v));
    const { shown, common, omitted } = limitSeries(samples, a.limit);
    return {
      ...base,
      total: samples.length,
      returned: shown.length,
      omitted,
      common_labels: common,
      series: shown.map((s) => ({ labels: s.labels, value: num(s.v) })),
    };
  }
  if (plan.kind === 'range') {
    const r = await client.queryRange(plan.query, { start: plan.start, end: plan.end, step: plan.step }, opts);
    const all = r.series
      .map((s) => ({ labels: s.labels, ts: s.timestamps, vs: s.values, st: stats(s.values) }))
      .sort((x, y) => bySize(typeof x.st.max === 'number' ? x.st.max : Number.NaN, typeof y.st.max === 'number' ? y.st.max : Number.NaN));
    const { shown, common, omitted } = limitSeries(all, a.limit);
    const per = Math.max(10, Math.min(a.max_points, Math.floor(POINT_BUDGET / Math.max(1, shown.length))));
    return {
      kind: 'range',
      tier: r.tier,
      start: iso(r.start),
      end: iso(r.end),
      step: formatDuration(r.step),
      total: all.length,
      returned: shown.length,
      omitted,
      common_labels: common,
      series: shown.map((s) => ({ labels: s.labels, ...s.st, points: downsample(s.ts, s.vs, per).map(([t, v]) => [t / 1000, num(v)]) })),
      warnings: r.warnings,
    };
  }
  return discover(client, plan, a, opts);
}

async function discover(client: PrometheusApi, plan: Extract<Plan, { kind: Discover }>, a: QueryArgs, opts: { signal?: AbortSignal }): Promise<QueryView> {
  const window = { ...opts, start: plan.start, end: plan.end, ...(plan.match ? { match: [plan.match] } : {}) };
  const names = ({ values, warnings, tier }: Discovered<string[]>): QueryView => {
    const kept = (plan.filter ? values.filter(plan.filter) : values).sort();
    return { kind: plan.kind, tier, total: kept.length, returned: Math.min(kept.length, a.limit), omitted: Math.max(0, kept.length - a.limit), values: kept.slice(0, a.limit), warnings };
  };
  switch (plan.kind) {
    case 'metrics':
      return names(await client.labelValues('__name__', window));
    case 'labels':
      return names(await client.labelNames(window));
    case 'label_values':
      return names(await client.labelValues(plan.label!, window));
    case 'series': {
      const r = await client.series([plan.match!], { ...opts, start: plan.start, end: plan.end });
      const sets = plan.filter ? r.values.filter((l) => plan.filter!(selector(l))) : r.values;
      const { shown, common, omitted } = limitSeries(sets.map((labels) => ({ labels })), a.limit);
      return { kind: 'series', tier: r.tier, total: sets.length, returned: shown.length, omitted, common_labels: common, series: shown, warnings: r.warnings };
    }
    case 'metadata': {
      const md = await client.metadata(opts);
      const rows = Object.entries(md.values)
        .filter(([m]) => !plan.filter || plan.filter(m))
        .sort(([x], [y]) => (x < y ? -1 : 1))
        .map(([metric, list]) => ({ metric, type: list[0]?.type ?? '', help: list[0]?.help ?? '', unit: list[0]?.unit ?? '' }));
      return { kind: 'metadata', total: rows.length, returned: Math.min(rows.length, a.limit), omitted: Math.max(0, rows.length - a.limit), metadata: rows.slice(0, a.limit), tier: md.tier, warnings: md.warnings };
    }
  }
}

function omittedNote(v: QueryView): string {
  return v.omitted > 0 ? `(${v.omitted} more omitted; raise limit or narrow the ${v.kind === 'instant' || v.kind === 'range' ? 'query' : 'filter'})` : '';
}

export function renderQuery(v: QueryView): string {
  const lines: string[] = [];
  const common = v.common_labels && Object.keys(v.common_labels).length ? `common labels: ${selector(v.common_labels)}` : '';
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 || w === 'series' ? '' : 's'}`;
  // the text names each series by just enough labels to tell it apart
  const names = distinguishing((v.series ?? []).map((s) => s.labels));
  const label = (s: SeriesView) => selector(names.length ? pick(s.labels, names) : s.labels);
  if (v.kind === 'instant') {
    if (v.result_type === 'scalar') lines.push(`scalar ${short(v.series?.[0]?.value ?? 'NaN')} at ${v.time} (${v.tier})`);
    else {
      lines.push(`${plural(v.total, 'series')} at ${v.time} (${v.tier})${v.total > 1 ? ', largest first' : ''}.`);
      if (common) lines.push(common);
      for (const s of v.series ?? []) {
        lines.push(s.value !== undefined ? `${short(s.value)}  ${label(s)}` : `${s.count} samples, last ${short(s.last ?? 'NaN')}  ${label(s)}`);
      }
    }
  } else if (v.kind === 'range') {
    lines.push(`${plural(v.total, 'series')}, ${v.start} to ${v.end}, step ${v.step} (${v.tier}), largest max first.`);
    if (common) lines.push(common);
    if (v.series?.length) lines.push('last | min | avg | max | trend | series');
    for (const s of v.series ?? []) {
      const trend = sparkline((s.points ?? []).map(([, y]) => (typeof y === 'number' ? y : Number.NaN)), 20);
      lines.push(`${short(s.last ?? 'NaN')} | ${short(s.min ?? 'NaN')} | ${short(s.avg ?? 'NaN')} | ${short(s.max ?? 'NaN')} | ${trend} | ${label(s)}`);
    }
  } else if (v.kind === 'series') {
    lines.push(`${plural(v.total, 'series')} match.`);
    if (common) lines.push(common);
    for (const s of v.series ?? []) lines.push(selector(s.labels));
  } else if (v.kind === 'metadata') {
    lines.push(`${plural(v.total, 'metric')} with metadata.`);
    for (const m of v.metadata ?? []) lines.push(`${m.metric} (${m.type}${m.unit ? `, ${m.unit}` : ''}): ${m.help}`);
  } else {
    const what = v.kind === 'metrics' ? 'metric names' : v.kind === 'labels' ? 'label names' : 'label values';
    lines.push(`${v.total} ${what}${v.total ? ':' : '.'} ${(v.values ?? []).join(', ')}`.trim());
  }
  const note = omittedNote(v);
  if (note) lines.push(note);
  if (v.warnings.length) lines.push(`warnings: ${v.warnings.join('; ')}`);
  return lines.join('\n');
}
