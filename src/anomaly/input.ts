// detect_anomaly's two input forms made into plain arrays: inline [time, value] pairs, and
// the time range of a PromQL query (range/start/end/step as agents write them).
import { InputError } from '../errors.js';
import { MAX_POINTS_PER_SERIES as MAX_QUERY_POINTS, alignRange } from '../prometheus/promql.js';
import type { QueryShape } from '../prometheus/promql-syntax.js';
import { formatDuration, niceStep, parseDuration, parseSecondsOrDuration, parseTime } from '../time.js';

/** Prometheus refuses range queries of more than 11,000 points per series. */

/** Points per series we aim for when no step is given: fine enough for minutes-long spikes. */
const TARGET_POINTS = 3_000;
export const DEFAULT_RANGE = '24h';

export interface InlineSeries {
  labels?: Record<string, string> | undefined;
  /** [time, value] pairs, checked here rather than in the tool's schema */
  values: unknown[];
}

/** Inline series accepted in one call. */
export const MAX_INLINE_SERIES = 50;

export interface ParsedSeries {
  labels: Record<string, string>;
  timestamps: Float64Array;
  values: Float64Array;
}

/** A value as Prometheus writes it: a number, or a string such as "1.5", "NaN", "+Inf". */
function parseValue(v: number | string): number | null {
  if (typeof v === 'number') return v;
  const s = v.trim();
  if (/^[+-]?inf$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (s === '' || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return null;
  return Number(s);
}

/** A time as unix seconds (number or numeric string; ms when large) or RFC 3339. */
function parseSampleTime(t: number | string, now: number): number | null {
  if (typeof t === 'number') return Number.isFinite(t) && t >= 0 ? (t > 1e11 ? Math.round(t) : Math.round(t * 1000)) : null;
  // Only absolute forms: relative ones ("1h" ago) make no sense for a sample's own time.
  if (!/^\d+(\.\d+)?$/.test(t.trim()) && !/^\d{4}-\d{2}-\d{2}/.test(t.trim())) return null;
  return parseTime(t, now);
}

export function parseInline(series: InlineSeries[], now = Date.now()): ParsedSeries[] {
  if (series.length === 0 || series.length > MAX_INLINE_SERIES) {
    throw new InputError('series', `must have 1-${MAX_INLINE_SERIES} series, got ${series.length}`);
  }
  return series.map((s, i) => {
    const n = s.values.length;
    if (n === 0) throw new InputError(`series[${i}].values`, 'must not be empty');
    const timestamps = new Float64Array(n);
    const values = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const pair = s.values[j];
      const field = `series[${i}].values[${j}]`;
      if (!Array.isArray(pair) || pair.length !== 2) throw new InputError(field, 'must be a [time, value] pair');
      const [t, v] = pair as unknown[];
      const tm = typeof t === 'number' || typeof t === 'string' ? parseSampleTime(t, now) : null;
      if (tm === null) throw new InputError(`${field}[0]`, 'must be unix seconds or an RFC 3339 time');
      const val = typeof v === 'number' || typeof v === 'string' ? parseValue(v) : null;
      if (val === null) throw new InputError(`${field}[1]`, 'must be a number or a numeric string ("NaN", "+Inf" allowed)');
      timestamps[j] = tm;
      values[j] = val;
    }
    return { labels: s.labels ?? {}, timestamps, values };
  });
}

export interface RangeArgs {
  range?: string | undefined;
  start?: number | undefined;
  end?: number | undefined;
  step?: string | undefined;
}

export interface ResolvedRange {
  start: number;
  end: number;
  step: number;
}

/** The smallest familiar step, at least 15s, that keeps a range within TARGET_POINTS points. */
export function defaultStep(spanMs: number): number {
  return niceStep(spanMs, TARGET_POINTS, 15_000);
}

/** range ("24h", ending at `end` or now) or start/end; step given or chosen. Throws InputError naming the field. */
export function resolveRange(args: RangeArgs, now = Date.now()): ResolvedRange {
  if (args.range !== undefined && args.start !== undefined) throw new InputError('range, start', 'give range or start (with end), not both');
  const end = args.end ?? now;
  let start: number;
  if (args.start !== undefined) start = args.start;
  else {
    const span = parseDuration(args.range ?? DEFAULT_RANGE);
    if (span === null || span <= 0) throw new InputError('range', 'must be a duration such as "6h", "24h" or "7d"');
    start = end - span;
  }
  if (start >= end) throw new InputError('start', 'must be earlier than end');
  let step: number;
  if (args.step !== undefined) {
    const s = parseSecondsOrDuration(args.step);
    if (s === null || s < 1000) throw new InputError('step', 'must be a duration of at least 1s, such as "30s" or "5m"');
    step = s;
  } else step = defaultStep(end - start);
  const { points } = alignRange({ start, end, step });
  if (points > MAX_QUERY_POINTS) {
    const nice = niceStep(end - start, MAX_QUERY_POINTS - 1);
    throw new InputError('step', `gives ${points} points per series, Prometheus allows ${MAX_QUERY_POINTS}: use a step of ${formatDuration(nice)} or more`);
  }
  return { start, end, step };
}

/** Counter metric names, by Prometheus naming conventions. */
const COUNTER_NAME = /_(total|count|sum|bucket)$/;

/**
 * A bare counter selector ("http_requests_total{job="api"}"): its raw values only ever
 * climb, so the per-second rate is what has anomalies.
 */
export function isCounterQuery(shape: QueryShape | null): boolean {
  return shape?.plain != null && COUNTER_NAME.test(shape.plain.name);
}

/**
 * A counter (a `_total`, `_count`, `_sum` or `_bucket` metric) used raw inside a larger
 * expression, with no rate/irate/increase/delta/deriv anywhere in the query:
 * `sum(http_requests_total)` only climbs (and drops whenever one of its series restarts),
 * and a rate taken of the sum would count those drops as resets. Returns the query with
 * `rate(<selector>[window])` put in place of each such selector, inside the aggregation,
 * or null when there is nothing to correct (a bare selector is handled as a counter; one
 * under a range or subquery, as in max_over_time(x_total[1h]), was asked for on purpose).
 */
export function rawCounterFix(query: string, shape: QueryShape | null, window: string): string | null {
  if (!shape || isCounterQuery(shape) || shape.rateLike) return null;
  const raw = shape.rawSelectors.filter((s) => COUNTER_NAME.test(s.name));
  if (raw.length === 0) return null;
  let out = '';
  let last = 0;
  for (const s of raw) {
    // offset and @ modifiers go after the range: rate(x_total[5m] offset 1h).
    out += `${query.slice(last, s.from)}rate(${query.slice(s.from, s.to)}[${window}]${query.slice(s.to, s.end)})`;
    last = s.end;
  }
  return out + query.slice(last);
}

/** Functions whose result is not in the unit of their argument (a count, a rate, a prediction). */
const UNIT_CHANGING = new Set(['predict_linear', 'count', 'count_over_time', 'changes', 'resets']);

/**
 * The unit of a series, when its metric name says it (Prometheus naming conventions):
 * `_bytes` or `_seconds`, unless the query takes a rate or a derivative of it, or divides or
 * multiplies (used / limit is a ratio, not bytes).
 */
export function unitOf(shape: QueryShape | null | undefined, labels: Record<string, string>): 'bytes' | 'seconds' | undefined {
  if (shape && (shape.rateLike || shape.scales || [...shape.calls].some((c) => UNIT_CHANGING.has(c)))) return undefined;
  const name = labels.__name__ ?? shape?.selectors.find((s) => /_(bytes|seconds)$/.test(s.name))?.name ?? '';
  if (/_bytes$/.test(name)) return 'bytes';
  if (/_seconds$/.test(name)) return 'seconds';
  return undefined;
}
