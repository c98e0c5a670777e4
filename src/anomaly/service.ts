// detect_anomaly end to end, without MCP: check which input form was given, fetch the
// PromQL range through the shared client (or parse the inline series), analyse every
// series the same way, and build the ranked report.
import { InputError, NotConfiguredError } from '../errors.js';
import type { PrometheusApi, RangeSeries } from '../prometheus/api.js';
import { alignRange, queryShape } from '../prometheus/promql.js';
import type { QueryShape } from '../prometheus/promql-syntax.js';
import { analyze, type Analysis, type Method, type Sensitivity } from './detect.js';
import { fetchExtremes, planExtremes, resolutionOf, seriesKey, withExtremes, type Extremes, type Resolution } from './extremes.js';
import { isCounterQuery, parseInline, rawCounterFix, resolveRange, unitOf, type InlineSeries, type ResolvedRange } from './input.js';
import { formatDuration } from '../time.js';
import { formatTime } from './explain.js';
import { robustScale } from './stats.js';
import { buildReport, renderReport, type Report } from './report.js';

/** Series analysed from one query; more are counted and the agent is told to narrow the query. */
export const MAX_QUERY_SERIES = 200;
/** Points analysed between yields to the event loop (~50 ms of work). */
const YIELD_EVERY = 50_000;
/** Inline points accepted in all. */
export const MAX_INLINE_POINTS = 100_000;

const MAX_QUERY_LENGTH = 4000;
/** Anomalies listed per series (the rest are counted); more when one series is shown. */
const MAX_ANOMALIES = 5;
const MAX_ANOMALIES_ONE_SERIES = 20;

function parseSensitivity(s: string | number): Sensitivity {
  if (s === 'low' || s === 'medium' || s === 'high') return s;
  const n = typeof s === 'number' ? s : /^\s*(0?\.\d+|\d+(\.\d*)?)\s*$/.test(s) ? Number(s) : NaN;
  if (n > 0 && n < 1) return n;
  throw new InputError('sensitivity', `must be "low", "medium", "high" or a minimum score between 0 and 1, got ${JSON.stringify(s)}`);
}

/**
 * A 0/1 state series (kube-state-metrics: last terminated reason, pod phase, conditions)
 * exists only while the state does: one that appears inside the range was 0 before, so
 * it is padded with zeros from the start of the range and the 0 → 1 step is found.
 */
export function padLateState(s: RangeSeries, range: ResolvedRange): { s: RangeSeries; note?: string } {
  const first = s.timestamps[0];
  if (first === undefined || first - range.start < Math.max(5 * range.step, 0.02 * (range.end - range.start))) return { s };
  if (!s.values.every((v) => v === 0 || v === 1)) return { s };
  const timestamps: number[] = [];
  for (let t = range.start; t < first - range.step / 2; t += range.step) timestamps.push(t);
  return {
    s: { labels: s.labels, timestamps: [...timestamps, ...s.timestamps], values: [...timestamps.map(() => 0), ...s.values] },
    note: `The series only exists from ${formatTime(first)}; as a 0/1 state it was taken as 0 before.`,
  };
}

/**
 * A cheap score for choosing which series to analyse when there are too many: the largest
 * change between neighbouring points (for a counter, between neighbouring increases) in
 * robust σ of all such changes. Spikes, dips and level shifts stand out; smooth cycles do not.
 */
export function jumpScore(values: readonly number[], counter = false): number {
  let v = values.filter((x) => Number.isFinite(x));
  if (counter) v = v.slice(1).map((x, i) => (x >= v[i]! ? x - v[i]! : x));
  if (v.length < 3) return 0;
  const d = new Float64Array(v.length - 1);
  for (let i = 1; i < v.length; i++) d[i - 1] = v[i]! - v[i - 1]!;
  const s = robustScale(d);
  let max = 0;
  for (const x of d) max = Math.max(max, Math.abs(x));
  return s > 0 ? max / s : max > 0 ? Infinity : 0;
}

type Item = { labels: Record<string, string>; analysis: Analysis; note?: string | undefined };

/**
 * Analyses series one after the other; every YIELD_EVERY points it lets other sessions'
 * requests in and stops if cancelled (a 100,000-point analysis takes a few hundred ms).
 */
async function analyseAll<T extends { values: ArrayLike<number> }>(list: readonly T[], one: (x: T) => Item, signal?: AbortSignal): Promise<Item[]> {
  const items: Item[] = [];
  let since = 0;
  for (const x of list) {
    items.push(one(x));
    since += x.values.length;
    if (since >= YIELD_EVERY) {
      since = 0;
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
    }
  }
  return items;
}

export interface DetectArgs {
  query?: string | undefined;
  range?: string | undefined;
  start?: number | undefined;
  end?: number | undefined;
  step?: string | undefined;
  series?: InlineSeries[] | undefined;
  sensitivity: string | number;
  method: Method;
  top: number;
}

export async function detectAnomalies(
  prometheus: PrometheusApi | null,
  args: DetectArgs,
  signal?: AbortSignal,
): Promise<{ report: Report; text: string }> {
  if ((args.query === undefined) === (args.series === undefined)) {
    throw new InputError('query, series', 'give exactly one: query (PromQL, with range or start/end) or series (inline [time, value] pairs)');
  }
  const sensitivity = parseSensitivity(args.sensitivity);
  if (args.query !== undefined && args.query.length > MAX_QUERY_LENGTH) {
    throw new InputError('query', `must be at most ${MAX_QUERY_LENGTH} characters, got ${args.query.length}`);
  }
  const opts = { sensitivity, method: args.method };
  const warnings: string[] = [];
  let items: Item[];
  let range: ResolvedRange | undefined;
  let resolution: Resolution | undefined;
  let betterQuery: string | undefined;
  let unanalysed = 0;
  let shape: QueryShape | null = null;
  if (args.series !== undefined) {
    for (const f of ['range', 'start', 'end', 'step'] as const) {
      if (args[f] !== undefined) throw new InputError(f, 'only goes with query; inline series carry their own times');
    }
    const total = args.series.reduce((n, s) => n + s.values.length, 0);
    if (total > MAX_INLINE_POINTS) throw new InputError('series', `must have at most ${MAX_INLINE_POINTS} points in all, got ${total}`);
    items = await analyseAll(parseInline(args.series), (s) => ({ labels: s.labels, analysis: analyze(s.timestamps, s.values, opts) }), signal);
  } else {
    const query = args.query!;
    range = resolveRange(args);
    if (!prometheus) {
      throw new NotConfiguredError(
        'detect_anomaly with a query needs Prometheus: set PROMETHEUS_URL to the Prometheus or Thanos Querier URL, or pass the data inline as series.',
      );
    }
    // A counter summed (or otherwise combined) without a rate: analysed as asked, but the
    // agent is told the query to use, with the rate inside the aggregation.
    shape = await queryShape(query);
    const fixed = rawCounterFix(query, shape, formatDuration(Math.max(300_000, range.step)));
    if (fixed !== null) {
      warnings.push(
        `the query uses a counter without rate(): its values only climb (and drop when a series restarts), so what is found is in the running total, not the traffic; analyse ${fixed} instead`,
      );
      betterQuery = fixed;
    }
    const counter = isCounterQuery(shape);
    // Both requests at once, on the grid the client will align the range to.
    const aligned = alignRange(range);
    const plan = planExtremes(query, shape, aligned, args.method, counter);
    const [res, extremes] = await Promise.all([
      prometheus.queryRange(query, range, signal ? { signal } : undefined),
      plan ? fetchExtremes(prometheus, plan, aligned, warnings, signal) : null,
    ]);
    warnings.push(...res.warnings);
    range = { start: res.start, end: res.end, step: res.step };
    resolution = resolutionOf(range, plan, extremes !== null);
    let series = res.series;
    if (series.length > MAX_QUERY_SERIES) {
      // Too many to analyse in full: a quick pre-screen of all of them picks the ones to analyse.
      const ranked = series.map((x, i) => ({ x, i, j: jumpScore(x.values, counter) })).sort((a, b) => b.j - a.j || a.i - b.i);
      unanalysed = series.length - MAX_QUERY_SERIES;
      warnings.push(
        `the query returned ${series.length} series; only the ${MAX_QUERY_SERIES} with the sharpest jumps (a quick pre-screen of all: largest step between neighbouring points against the usual step) were analysed, ` +
          `${unanalysed} were not (a drift or a change in volatility there goes unseen): narrow the query with label matchers or aggregate (sum by (...))`,
      );
      series = ranked.slice(0, MAX_QUERY_SERIES).sort((a, b) => a.i - b.i).map((r) => r.x);
    }
    if (series.length === 0) warnings.push('the query returned no series in that range: check the metric name and label matchers');
    const r = range;
    items = await analyseAll(
      series,
      (raw) => {
        const { s, note } = counter ? { s: raw, note: undefined } : padLateState(raw, r);
        const analysis = analyze(s.timestamps, s.values, { ...opts, counter });
        // A padded 0/1 state has points the extremes do not: it moves in steps anyway.
        const ex: Extremes | undefined = note === undefined ? extremes?.get(seriesKey(s.labels)) : undefined;
        return { labels: s.labels, analysis: ex ? withExtremes(analysis, s, ex, r.step, sensitivity) : analysis, note };
      },
      signal,
    );
  }
  const unit = (labels: Record<string, string>) => unitOf(shape, labels);
  const ro = {
    source: args.query !== undefined ? ('query' as const) : ('series' as const),
    query: args.query,
    range: range && resolution && { ...range, ...resolution },
    sensitivity,
    method: args.method,
    top: args.top,
    maxAnomalies: Math.min(items.length, args.top) === 1 ? MAX_ANOMALIES_ONE_SERIES : MAX_ANOMALIES,
    warnings,
    unitOf: unit,
    betterQuery,
    unanalysed,
  };
  const report = buildReport(items, ro);
  return { report, text: renderReport(report, ro) };
}
