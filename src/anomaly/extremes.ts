// Short events over long ranges. A range query's point is the value at one instant per step,
// so over 3 or 7 days (steps of minutes) a spike of a few minutes falls between points or is
// one point among many. When the step is longer than a minute, each step's highest and lowest
// value are fetched beside the value (one more request for both) and analysed as series of
// their own: peaks against the usual peaks, troughs against the usual troughs.
import { messageOf } from '../errors.js';
import type { PrometheusApi, RangeSeries } from '../prometheus/api.js';
import { MAX_POINTS_PER_SERIES } from '../prometheus/promql.js';
import type { QueryShape } from '../prometheus/promql-syntax.js';
import { formatDuration, niceStep } from '../time.js';
import { anomalyOf, byScore, minStrength, overlaps, windowFor, type Analysis, type Anomaly, type Method, type Sensitivity } from './detect.js';
import { pointAnomalies, POINT_Z } from './points.js';
import { MAD_TO_SIGMA, mad, rollingMedian } from './stats.js';
import type { ResolvedRange } from './input.js';

/** Steps up to this sample every event of a few minutes; longer ones fetch each step's max and min. */
const SAMPLED_STEP_MS = 60_000;
/** The finest sub-step a subquery is evaluated at: about a scrape interval. */
const MIN_SUB_STEP_MS = 15_000;
/** Label that tells the max and min series apart in the one answer (reserved-looking, so no real label clashes). */
const EXTREME_LABEL = '__extreme__';

export interface Resolution {
  /** sampled: each point is the value at its instant; max_min: each step's max and min were analysed too */
  within_step: 'sampled' | 'max_min';
  /** the same in words */
  resolution: string;
}

export interface ExtremesPlan {
  query: string;
  /** how the max and min were taken, for the result: "the raw samples" or "a 30s subquery" */
  source: string;
}

/**
 * The one query that returns each step's max and min, or null when the step samples finely
 * enough, the values are a counter (its rate counts every increase whatever the step) or
 * the method looks for sustained changes only. A plain selector takes them over its raw
 * samples (`max_over_time(x[step])`); any other expression as a subquery evaluated at the
 * finest sub-step that keeps the whole range within Prometheus's points limit. Both cover
 * the step ending at each point, the same step the point stands for.
 */
export function planExtremes(query: string, shape: QueryShape | null, range: ResolvedRange, method: Method, counter: boolean): ExtremesPlan | null {
  if (range.step <= SAMPLED_STEP_MS || counter) return null;
  if (method !== 'auto' && method !== 'robust' && method !== 'seasonal') return null;
  const step = formatDuration(range.step);
  let inner: string;
  let source: string;
  if (shape?.plain) {
    // the selector alone: a comment after it would swallow the bracket
    inner = `${query.slice(shape.plain.from, shape.plain.to)}[${step}]`;
    source = 'the raw samples';
  } else {
    const sub = niceStep(range.end - range.start, MAX_POINTS_PER_SERIES - 1, MIN_SUB_STEP_MS);
    if (sub >= range.step) return null;
    // On lines of its own: a trailing "# comment" in the query must not swallow the bracket.
    inner = `(\n${query}\n)[${step}:${formatDuration(sub)}]`;
    source = `a ${formatDuration(sub)} subquery`;
  }
  const tag = (fn: string, name: string) => `label_replace(${fn}_over_time(${inner}), "${EXTREME_LABEL}", "${name}", "", "")`;
  return { query: `${tag('max', 'max')} or ${tag('min', 'min')}`, source };
}

/** A series' identity across the value and the extremes answers: *_over_time drops the metric name. */
export function seriesKey(labels: Record<string, string>): string {
  return JSON.stringify(
    Object.entries(labels)
      .filter(([k]) => k !== '__name__' && k !== EXTREME_LABEL)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

export interface Extremes {
  max: RangeSeries;
  min: RangeSeries;
}

/** The extremes answer by series key; a key with only one of max/min is left out. */
export function pairExtremes(series: RangeSeries[]): Map<string, Extremes> {
  const half = new Map<string, Partial<Extremes>>();
  for (const s of series) {
    const which = s.labels[EXTREME_LABEL];
    if (which !== 'max' && which !== 'min') continue;
    const key = seriesKey(s.labels);
    half.set(key, { ...half.get(key), [which]: s });
  }
  const out = new Map<string, Extremes>();
  for (const [k, v] of half) if (v.max && v.min) out.set(k, { max: v.max, min: v.min });
  return out;
}

/** Fetches the extremes; on any failure (a scalar expression, clashing label sets) says why and carries on without. */
export async function fetchExtremes(
  prometheus: PrometheusApi,
  plan: ExtremesPlan,
  range: ResolvedRange,
  warnings: string[],
  signal?: AbortSignal,
): Promise<Map<string, Extremes> | null> {
  try {
    const res = await prometheus.queryRange(plan.query, range, signal ? { signal } : undefined);
    return pairExtremes(res.series);
  } catch (err) {
    signal?.throwIfAborted();
    const why = messageOf(err);
    warnings.push(`each step's max and min could not be fetched (${why.slice(0, 200)}): events shorter than the ${formatDuration(range.step)} step may be missed; a smaller step sees them`);
    return null;
  }
}

/** The values of `s` on the timestamps of `t` (NaN where it has none). */
function onTimes(t: readonly number[], s: RangeSeries): number[] {
  const byTime = new Map<number, number>();
  s.timestamps.forEach((x, i) => byTime.set(x, s.values[i]!));
  return t.map((x) => byTime.get(x) ?? NaN);
}

/**
 * Spikes among each step's max (dips among each step's min): a step's extreme against the
 * running median of its neighbours' (the usual peak there, which follows a daily cycle), by
 * the Hampel rule the value's own analysis uses. The scale is the value's noise, or the
 * extremes' own spread when that is wider: a max of many samples is smooth, so its own
 * residuals are mostly exactly 0 and would give no usable scale.
 */
function extremeEvents(t: readonly number[], y: Float64Array, kind: 'spike' | 'dip', noise: number, sensitivity: Sensitivity, stepMs: number): Anomaly[] {
  const h = (windowFor(y.length) - 1) / 2;
  const base = rollingMedian(y, h, h);
  const r = y.map((v, i) => v - base[i]!);
  const sigma = Math.max(noise, MAD_TO_SIGMA * mad(r, 0));
  if (!(sigma > 0)) return [];
  const uMin = minStrength(sensitivity);
  const half = POINT_Z * uMin * sigma;
  return pointAnomalies(y, base, new Float64Array(y.length).fill(sigma), uMin)
    .filter((c) => c.kind === kind)
    .map((c) => ({
      ...anomalyOf(c, t, y[c.at]!, base[c.at]!, [base[c.at]! - half, base[c.at]! + half]),
      // the extreme may be anywhere in the step that ends at its point
      from: t[c.from]! - stepMs,
    }));
}

/**
 * The value's analysis with the spikes found among each step's max and the dips among each
 * step's min added, unless the value's own analysis has that spike or dip already. Such an
 * anomaly's value is the step's max (or min).
 */
export function withExtremes(a: Analysis, s: RangeSeries, ex: Extremes, stepMs: number, sensitivity: Sensitivity): Analysis {
  if (a.status !== 'ok') return a;
  const found: Anomaly[] = [];
  for (const [series, kind] of [
    [ex.max, 'spike'],
    [ex.min, 'dip'],
  ] as const) {
    const y = Float64Array.from(onTimes(s.timestamps, series), (v) => (Number.isFinite(v) ? v : NaN));
    for (const an of extremeEvents(s.timestamps, y, kind, a.noise, sensitivity, stepMs)) {
      if (!a.anomalies.some((v) => v.kind === kind && overlaps(v, an))) found.push(an);
    }
  }
  if (found.length === 0) return a;
  const anomalies = [...a.anomalies, ...found].sort(byScore);
  return { ...a, anomalies, score: anomalies[0]!.score };
}

export function resolutionOf(range: ResolvedRange, plan: ExtremesPlan | null, fetched: boolean): Resolution {
  const step = formatDuration(range.step);
  if (plan && fetched) {
    return { within_step: 'max_min', resolution: `each ${step} step's max and min (over ${plan.source}) were analysed beside its value, so shorter spikes and dips are seen` };
  }
  return {
    within_step: 'sampled',
    resolution: range.step <= SAMPLED_STEP_MS ? `each point is the value at its instant, ${step} apart` : `each point is the value at its instant: events shorter than ${step} may fall between points`,
  };
}
