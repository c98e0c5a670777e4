// Seasonality: find a daily or weekly (or hourly) cycle from the data itself, then model it
// as a per-phase profile so each point is compared with the same time in other cycles.
// The method is classical decomposition in the spirit of STL (Cleveland et al., 1990):
// remove the level with a moving average over one period, take the median of each
// cycle-subseries (all points at one phase), smooth that across neighbouring phases.
import { blockMedians, mean, median, quantileSorted, robustScale, rollingMedian } from './stats.js';

export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const WEEK = 7 * DAY;

/** Candidate periods, longest first (the longest significant one wins; it contains the shorter). */
const CANDIDATES = [WEEK, DAY, HOUR] as const;
/** Autocorrelation at the period lag that counts as a cycle. */
export const MIN_ACF = 0.3;

export interface Season {
  /** period in points */
  period: number;
  /** period in ms */
  periodMs: number;
  /** autocorrelation at the period lag, after removing the level */
  acf: number;
  /** full cycles in the data */
  cycles: number;
  /** per-phase profile, zero-mean, indexed by (point index mod period) */
  profile: Float64Array;
}

/** Centered moving average over `width` points, skipping missing ones (edges use what exists). */
export function movingAverage(x: Float64Array, width: number): Float64Array {
  const n = x.length;
  const sum = new Float64Array(n + 1);
  const cnt = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    const ok = !Number.isNaN(v);
    sum[i + 1] = sum[i]! + (ok ? v : 0);
    cnt[i + 1] = cnt[i]! + (ok ? 1 : 0);
  }
  const before = Math.floor(width / 2);
  const after = width - 1 - before;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lo = Math.max(0, i - before);
    const hi = Math.min(n, i + after + 1);
    const c = cnt[hi]! - cnt[lo]!;
    out[i] = c === 0 ? NaN : (sum[hi]! - sum[lo]!) / c;
  }
  return out;
}

/**
 * x minus its moving average over one period: the cycle plus noise, without level or trend.
 * Within half a period of either end the window is incomplete and its average would carry
 * part of the cycle, so there the level is the complete region's straight-line trend extended.
 */
function detrended(x: Float64Array, period: number): Float64Array {
  const n = x.length;
  const ma = movingAverage(x, period);
  const first = Math.floor(period / 2);
  const last = n - period + first; // last index whose window is complete
  if (last > first) {
    const edge = Math.max(1, Math.min(first, Math.floor((last - first) / 4)));
    const a = mean(ma.subarray(first, first + edge));
    const b = mean(ma.subarray(last - edge + 1, last + 1));
    const slope = last - edge + 1 > first ? (b - a) / (last - edge + 1 - first) : 0;
    for (let i = 0; i < first; i++) ma[i] = a + slope * (i - first);
    for (let i = last + 1; i < n; i++) ma[i] = b + slope * (i - (last - edge + 1));
  }
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = x[i]! - ma[i]!;
  return d;
}

/** Pearson correlation of d[i] with d[i+lag] over present pairs, after clipping outliers (so one spike cannot hide a cycle). */
export function lagCorrelation(d: Float64Array, lag: number): { r: number; pairs: number } {
  const s = robustScale(d, 0);
  const clip = Number.isFinite(s) && s > 0 ? 4 * s : Infinity;
  const c = (v: number) => (v > clip ? clip : v < -clip ? -clip : v);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  let sa = 0;
  let sb = 0;
  let pairs = 0;
  for (let i = 0; i + lag < d.length; i++) {
    const a = d[i]!;
    const b = d[i + lag]!;
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    const ca = c(a);
    const cb = c(b);
    sa += ca;
    sb += cb;
    sab += ca * cb;
    saa += ca * ca;
    sbb += cb * cb;
    pairs++;
  }
  if (pairs < 3) return { r: 0, pairs };
  const cov = sab - (sa * sb) / pairs;
  const va = saa - (sa * sa) / pairs;
  const vb = sbb - (sb * sb) / pairs;
  return { r: va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : 0, pairs };
}

/**
 * The cycle the data shows, if any: for each candidate period that fits at least twice in
 * the series (and spans at least 4 points), the autocorrelation at that lag after removing
 * the level. Returns null when none reaches MIN_ACF.
 */
export function detectSeason(x: Float64Array, step: number, only?: number): Season | null {
  if (!(step > 0)) return null;
  const found: { periodMs: number; period: number; acf: number; d: Float64Array }[] = [];
  for (const periodMs of only === undefined ? CANDIDATES : [only]) {
    const period = Math.round(periodMs / step);
    if (period < 4 || x.length < 2 * period) continue;
    const d = detrended(x, period);
    const { r, pairs } = lagCorrelation(d, period);
    if (pairs < period / 2) continue;
    found.push({ periodMs, period, acf: r, d });
  }
  const ok = found.filter((f) => f.acf >= MIN_ACF);
  if (ok.length === 0) return null;
  // Among the cycles the data shows, the one whose profile best predicts cycles it was not
  // built from: a weekly profile wins only with a real weekday/weekend difference, since it
  // rests on fewer cycles; an hourly one wins over a daily one only without a daily shape.
  let best = ok[0]!;
  if (ok.length > 1) {
    // All on one basis: the series without the level of the shortest candidate's period.
    const basis = ok[ok.length - 1]!.d;
    let bestErr = Infinity;
    for (const f of ok) {
      const err = crossValidatedError(basis, f.period);
      if (err < bestErr) {
        bestErr = err;
        best = f;
      }
    }
  }
  const cycles = Math.floor(x.length / best.period);
  return { period: best.period, periodMs: best.periodMs, acf: best.acf, cycles, profile: robustProfile(x, best.d, best.period, cycles) };
}

/**
 * The profile with the level re-estimated twice as a running median of the deseasonalized
 * series over a quarter period (the inner loop of STL, made robust). A moving average over a
 * whole period smears a level shift or a drift over neighbouring cycles; with few cycles
 * that smear would leave a ghost of the shift one cycle earlier or later. The shorter,
 * median-based level follows shifts and long anomalies, so they stay out of the profile.
 */
function robustProfile(x: Float64Array, first: Float64Array, period: number, cycles: number): Float64Array {
  let S = profile(first, period, cycles);
  const d = new Float64Array(x.length);
  for (let iter = 0; iter < 2; iter++) {
    for (let i = 0; i < x.length; i++) d[i] = x[i]! - S[i % period]!;
    const level = smoothLevel(d, Math.max(5, Math.round(period / 4)));
    for (let i = 0; i < x.length; i++) d[i] = x[i]! - level[i]!;
    S = profile(d, period, cycles);
  }
  return S;
}

/**
 * Running median over `window` points. Long windows are approximated by a running median of
 * block medians, linearly interpolated between block centres, to stay O(n log b).
 */
export function smoothLevel(y: Float64Array, window: number): Float64Array {
  const half = Math.floor(window / 2);
  if (window <= 121) return rollingMedian(y, half, half);
  const size = Math.ceil(window / 25);
  const blocks = blockMedians(y, size, 1);
  const sm = rollingMedian(blocks, 12, 12);
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const pos = (i - (size - 1) / 2) / size;
    const lo = Math.max(0, Math.min(sm.length - 1, Math.floor(pos)));
    const hi = Math.min(sm.length - 1, lo + 1);
    const f = Math.max(0, Math.min(1, pos - lo));
    const a = sm[lo]!;
    const b = sm[hi]!;
    out[i] = Number.isNaN(a) ? b : Number.isNaN(b) ? a : a + (b - a) * f;
  }
  return out;
}

/** Error of each cycle's residual from a profile built on the other half (odd/even) of the cycles. */
function crossValidatedError(d: Float64Array, period: number): number {
  const cycles = Math.ceil(d.length / period);
  const half = (parity: number) => {
    const part = Float64Array.from(d);
    for (let c = 0; c < cycles; c++) if (c % 2 !== parity) part.fill(NaN, c * period, (c + 1) * period);
    return profile(part, period, Math.ceil((cycles - parity) / 2));
  };
  const p = [half(0), half(1)];
  const err = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const c = Math.floor(i / period);
    err[i] = d[i]! - p[1 - (c % 2)]![i % period]!;
  }
  // Mean absolute error with outliers clipped: a weekend that the daily profile misses is
  // 2/7 of the points, which a median-based scale would ignore; a spike is not.
  const clip = 5 * robustScale(err, 0);
  let sum = 0;
  let k = 0;
  for (const e of err) {
    if (Number.isNaN(e)) continue;
    sum += Math.min(Math.abs(e), clip);
    k++;
  }
  return k === 0 ? Infinity : sum / k;
}

/**
 * Median of each cycle-subseries, then a circular running median across phases; the
 * smoothing is wider when there are few cycles, because with two cycles the median is a
 * mean and a spike in either would leave a copy in the profile.
 */
function profile(d: Float64Array, period: number, cycles: number): Float64Array {
  const raw = new Float64Array(period);
  const buf = new Float64Array(Math.ceil(d.length / period));
  for (let p = 0; p < period; p++) {
    let k = 0;
    for (let i = p; i < d.length; i += period) if (!Number.isNaN(d[i]!)) buf[k++] = d[i]!;
    raw[p] = k === 0 ? NaN : quantileSorted(buf.subarray(0, k).sort(), 0.5);
  }
  const half = cycles >= 5 ? 1 : cycles >= 3 ? 2 : Math.max(2, Math.round(period / 96));
  // Circular: wrap `half` phases on each side.
  const ext = new Float64Array(period + 2 * half);
  for (let i = 0; i < ext.length; i++) ext[i] = raw[(((i - half) % period) + period) % period]!;
  const sm = rollingMedian(ext, half, half).subarray(half, half + period);
  const out = new Float64Array(period);
  for (let p = 0; p < period; p++) {
    const a = sm[(p - 1 + period) % period]!;
    const b = sm[p]!;
    const c = sm[(p + 1) % period]!;
    out[p] = Number.isNaN(b) ? 0 : Number.isNaN(a) || Number.isNaN(c) ? b : (a + 2 * b + c) / 4;
  }
  const m = median(out);
  for (let p = 0; p < period; p++) out[p] = out[p]! - m;
  return out;
}

/**
 * The same cycle's profile learnt again from x with known level shifts taken out: a moving
 * average smears a step over a whole period, and with few cycles that smear would leave
 * an echo of the shift one period earlier or later.
 */
export function refitSeason(x: Float64Array, s: Season, steps: readonly { at: number; delta: number }[]): Season {
  const adjusted = Float64Array.from(x);
  for (const st of steps) for (let i = st.at; i < x.length; i++) adjusted[i] = adjusted[i]! - st.delta;
  return { ...s, profile: robustProfile(adjusted, detrended(adjusted, s.period), s.period, s.cycles) };
}

/** x minus the seasonal profile at each point's phase. */
export function deseasonalize(x: Float64Array, s: Season): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i]! - s.profile[i % s.period]!;
  return y;
}
