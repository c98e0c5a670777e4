// Seasonality: find a daily or weekly (or hourly) cycle, or any other period the data repeats
// on (a CronJob every 15 minutes, a queue flushed every 97), then model it as a per-phase
// profile so each point is compared with the same time in other cycles.
// The method is classical decomposition in the spirit of STL (Cleveland et al., 1990):
// remove the level with a moving average over one period, take the median of each
// cycle-subseries (all points at one phase), smooth that across neighbouring phases where
// the phases agree (a narrow recurring peak, seen in enough cycles, is kept as it is).
import { blockMedians, mean, median, quantileSorted, robustScale, rollingMedian } from './stats.js';

export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const WEEK = 7 * DAY;

/** Calendar periods always tried, longest first; a period found in the data is tried with them. */
const CANDIDATES = [WEEK, DAY, HOUR] as const;
/** Autocorrelation at the period lag that counts as a cycle. */
export const MIN_ACF = 0.3;
/** Cycles a period found in the data needs within the series. */
const MIN_FOUND_CYCLES = 4;
/** Cycles from which a phase's own median is trusted over its neighbours' (a narrow recurring peak). */
const RAW_PHASE_CYCLES = 5;
/** Above this many points the period search runs on block means (the period is then refined at full resolution). */
const SEARCH_POINTS = 16_384;

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

/** Where lagCorrelation clips d: 4 robust σ. */
function clipOf(d: Float64Array): number {
  const s = robustScale(d, 0);
  return Number.isFinite(s) && s > 0 ? 4 * s : Infinity;
}

/** Pearson correlation of d[i] with d[i+lag] over present pairs, after clipping outliers (so one spike cannot hide a cycle). */
export function lagCorrelation(d: Float64Array, lag: number, clip = clipOf(d)): { r: number; pairs: number } {
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
 * The cycle the data shows, if any: for each candidate period (the calendar ones and the
 * period the autocorrelation peaks at, see findPeriod) that fits at least twice in the
 * series (and spans at least 4 points), the autocorrelation at that lag after removing the
 * level. Returns null when none reaches MIN_ACF.
 */
export function detectSeason(x: Float64Array, step: number, only?: number): Season | null {
  if (!(step > 0)) return null;
  const found: { periodMs: number; period: number; acf: number; d: Float64Array; searched: boolean }[] = [];
  const tryPeriod = (periodMs: number, period: number, searched: boolean) => {
    if (period < 4 || x.length < 2 * period) return;
    const d = detrended(x, period);
    const { r, pairs } = lagCorrelation(d, period);
    if (pairs < period / 2) return;
    found.push({ periodMs, period, acf: r, d, searched });
  };
  for (const periodMs of only === undefined ? CANDIDATES : [only]) tryPeriod(periodMs, Math.round(periodMs / step), false);
  if (only === undefined) {
    const calendar = CANDIDATES.map((c) => Math.round(c / step));
    for (const p of findPeriods(x, calendar)) if (!found.some((f) => f.period === p)) tryPeriod(p * step, p, true);
  }
  found.sort((a, b) => b.period - a.period);
  const ok = found.filter((f) => {
    if (f.acf < MIN_ACF) return false;
    // A period found in the data must explain the series better than no cycle at all.
    return !f.searched || crossValidatedError(f.d, f.period) < 0.8 * clippedMeanAbs(f.d);
  });
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
 * The periods, in points, at which the series' autocorrelation peaks (none, one or two): the level is
 * removed with a moving average twice as long as the longest lag searched (so a cycle of up
 * to that lag stays in), outliers are clipped, and the autocorrelation at every lag from 4
 * points to a quarter of the series comes from one FFT (Wiener–Khinchin), with missing
 * points masked. A peak counts when it rises at least 0.2 above the lowest correlation at a
 * shorter lag (noise that is merely autocorrelated decays and never rises again) and reaches
 * MIN_ACF; of peaks nearly as high, the shortest lag is the period, not one of its multiples.
 * Long series are searched on block means and the period refined at full resolution.
 * Periods within 1% of a `known` one (the calendar periods, tried anyway) are left out.
 */
export function findPeriods(x: Float64Array, known: readonly number[] = []): number[] {
  const n = x.length;
  const f = n > SEARCH_POINTS ? Math.ceil(n / SEARCH_POINTS) : 1;
  const xs = f === 1 ? x : blockMeans(x, f);
  const m = xs.length;
  const maxLag = Math.floor(m / MIN_FOUND_CYCLES);
  const minLag = Math.max(2, Math.ceil(4 / f));
  if (maxLag <= minLag + 2) return [];
  const ma = movingAverage(xs, 2 * maxLag + 1);
  const d = new Float64Array(m);
  for (let i = 0; i < m; i++) d[i] = xs[i]! - ma[i]!;
  const clip = clipOf(d);
  for (let i = 0; i < m; i++) {
    const v = d[i]!;
    d[i] = Number.isNaN(v) ? NaN : v > clip ? clip : v < -clip ? -clip : v;
  }
  const r = autocorrelation(d, maxLag);
  // The shortest lag whose peak is within 10% of the highest, among prominent peaks.
  let low = Infinity;
  const peaks: { lag: number; r: number }[] = [];
  for (let k = 1; k <= maxLag; k++) {
    const v = r[k]!;
    if (v < low) low = v;
    if (k < minLag || k >= maxLag) continue;
    if (v >= MIN_ACF && v >= r[k - 1]! && v >= r[k + 1]! && v - low >= 0.2) peaks.push({ lag: k, r: v });
  }
  if (peaks.length === 0) return [];
  const top = peaks.reduce((p, q) => (q.r > p.r ? q : p));
  const first = peaks.find((p) => p.r >= top.r - 0.1)!;
  // The shortest of the highest peaks too, if it fits 6+ times: a cycle of 21.8 steps (a
  // 109-minute cycle at 5-minute steps) repeats exactly only every 109 steps, and peaks there.
  const exact = peaks.find((p) => p.r >= top.r - 0.02 && p.lag * 6 <= m);
  // Searched on block means, a period is only known to a block: no fractions to resolve.
  const near = (lag: number) => known.some((k) => Math.abs(k - lag * f) <= 0.01 * k);
  const lags = (!exact || exact === first || f > 1 ? [first.lag] : [first.lag, exact.lag]).filter((lag) => !near(lag));
  if (f === 1) return lags;
  // Refine on the full series, between the neighbouring block lags.
  return lags.map((lag) => {
    let best = -Infinity;
    let at = lag * f;
    const dx = detrended(x, lag * f);
    const clip = clipOf(dx);
    for (let p = (lag - 1) * f; p <= (lag + 1) * f; p++) {
      const { r: c } = lagCorrelation(dx, p, clip);
      if (c > best) {
        best = c;
        at = p;
      }
    }
    return at;
  });
}

/** Means of consecutive blocks of `size` points (NaN where a block has none). */
function blockMeans(x: Float64Array, size: number): Float64Array {
  const out = new Float64Array(Math.ceil(x.length / size));
  for (let b = 0; b < out.length; b++) {
    let sum = 0;
    let k = 0;
    for (let i = b * size; i < Math.min(x.length, (b + 1) * size); i++) {
      if (!Number.isNaN(x[i]!)) {
        sum += x[i]!;
        k++;
      }
    }
    out[b] = k === 0 ? NaN : sum / k;
  }
  return out;
}

/**
 * Pearson-like autocorrelation of d (mean-removed, NaN = missing) at lags 0..maxLag: the
 * lagged products summed over present pairs, divided by the pairs and the variance. Both
 * sums come from one complex FFT of d + i·mask.
 */
export function autocorrelation(d: Float64Array, maxLag: number): Float64Array {
  const n = d.length;
  // Zero-padded to at least n + maxLag, so lags up to maxLag do not wrap around.
  let size = 1;
  while (size < n + maxLag + 1) size <<= 1;
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  let sum = 0;
  let cnt = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(d[i]!)) {
      sum += d[i]!;
      cnt++;
    }
  }
  const mu = cnt > 0 ? sum / cnt : 0;
  for (let i = 0; i < n; i++) {
    const ok = !Number.isNaN(d[i]!);
    re[i] = ok ? d[i]! - mu : 0;
    im[i] = ok ? 1 : 0;
  }
  fft(re, im, false);
  // Split Z = FFT(a + i·b) into A and B, then |A|² + i·|B|² (both spectra are real).
  const pr = new Float64Array(size);
  const pi = new Float64Array(size);
  for (let k = 0; k < size; k++) {
    const j = (size - k) & (size - 1);
    const ar = (re[k]! + re[j]!) / 2;
    const ai = (im[k]! - im[j]!) / 2;
    const br = (im[k]! + im[j]!) / 2;
    const bi = (re[j]! - re[k]!) / 2;
    pr[k] = ar * ar + ai * ai;
    pi[k] = br * br + bi * bi;
  }
  fft(pr, pi, true);
  const out = new Float64Array(maxLag + 1);
  const var0 = pr[0]! / Math.max(1, pi[0]!);
  for (let k = 0; k <= maxLag; k++) {
    const pairs = pi[k]!;
    out[k] = pairs >= 3 && var0 > 0 ? pr[k]! / pairs / var0 : 0;
  }
  return out;
}

/** In-place iterative radix-2 FFT (length a power of 2); the inverse is scaled by 1/n. */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i]!;
      re[i] = re[j]!;
      re[j] = t;
      t = im[i]!;
      im[i] = im[j]!;
      im[j] = t;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const a = i + k;
        const b = a + half;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const t = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = t;
      }
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[i] = re[i]! / n;
      im[i] = im[i]! / n;
    }
  }
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
  // A profile is centred on its median, not its mean: for a narrow burst (one phase in three
  // high) that is an offset from the level, the same at every point, which is not an error.
  const offset = median(err);
  for (let i = 0; i < err.length; i++) err[i] = err[i]! - offset;
  return clippedMeanAbs(err);
}

/**
 * Mean absolute value with outliers clipped at 5 robust σ: a weekend that the daily profile
 * misses is 2/7 of the points, which a median-based scale would ignore; a spike is not.
 */
function clippedMeanAbs(err: Float64Array): number {
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
 * mean and a spike in either would leave a copy in the profile. With RAW_PHASE_CYCLES or
 * more cycles, a phase whose own median differs from the smoothed value by more than its
 * sampling error allows keeps its own: a CronJob's 3-minute burst every hour, or the drop
 * of a sawtooth, recurs in every cycle and is the cycle, not noise to smooth away.
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
  if (cycles >= RAW_PHASE_CYCLES) {
    // Sampling error of a phase's median: 1.25 σ / √cycles, σ from the spread around the raw medians.
    // (from at most ~4,000 evenly spread points: a scale needs no more)
    const stride = Math.max(1, Math.floor(d.length / 4096));
    const dev = new Float64Array(Math.ceil(d.length / stride));
    for (let j = 0, i = 0; i < d.length; i += stride, j++) dev[j] = d[i]! - raw[i % period]!;
    const se = (1.2533 * robustScale(dev, 0)) / Math.sqrt(cycles);
    for (let p = 0; p < period; p++) if (!Number.isNaN(raw[p]!) && Math.abs(raw[p]! - out[p]!) > 4 * se) out[p] = raw[p]!;
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
