// The `auto` pipeline: grid → cycle (if the data has one) → running-median level → robust
// noise scale → every detector → one list of non-overlapping anomalies with scores.
// Each step is linear or n·log n in the series length.
import { counterRate, toGrid, type Grid } from './grid.js';
import { changePoints, SHIFT_SIGMA, type ChangePoint } from './level-shift.js';
import { pointAnomalies, POINT_Z } from './points.js';
import { seasonalBreaks } from './seasonal-break.js';
import { DAY, deseasonalize, detectSeason, refitSeason, WEEK, type Season } from './seasonal.js';
import { blockMedians, mad, median, normalTail, quantile, robustScale, rollingMedian, runningUpperQuantile } from './stats.js';
import { findDrift, trendSummary } from './trend.js';
import type { Candidate, Direction, Kind, Method } from './types.js';
import { blockBounds, blockScaleSeries, levelAdjustedScales, referenceScales, VAR_DOWN, VAR_UP, varianceChanges } from './variance.js';

export type { Method };
export type Sensitivity = 'low' | 'medium' | 'high' | number;

/** Points per block for local noise scales: enough for a MAD to within ~25%, short enough to see a volatile hour. */
const SCALE_BLOCK = 20;

/** Block medians the drift search runs on: it costs O(blocks²) whatever the series length. */
const TREND_BLOCKS = 120;

/** Points a verdict needs. */
export const MIN_POINTS = 30;

/** Minimum score reported at each sensitivity; a number is taken as the minimum score itself. */
export const MIN_SCORE = { low: 0.65, medium: 0.5, high: 0.35 } as const;

export interface DetectOptions {
  sensitivity?: Sensitivity;
  method?: Method;
  /** the values are a cumulative counter: analyse its per-second rate */
  counter?: boolean;
}

export interface Anomaly {
  kind: Kind;
  direction: Direction;
  /** epoch ms: a spike's peak, a shift's or drift's onset */
  at: number;
  from: number;
  to: number;
  /** observed value at `at` (for shifts and drifts: the new level) */
  value: number;
  expected: number;
  /** what counted as normal there */
  band: [number, number];
  /** 0-1 */
  score: number;
  /**
   * variance_change only: noise σ over the event / usual σ there. value and expected are
   * then those two σ and band the range of σ counted as normal.
   */
  ratio?: number;
}

export interface Analysis {
  status: 'ok' | 'insufficient_data' | 'flat';
  /** points with a value */
  points: number;
  /** grid slots without a value */
  missing: number;
  /** points given as NaN or ±Inf, left out (among the missing) */
  nonFinite: number;
  /** ms between points */
  step: number;
  start: number;
  end: number;
  /** true when the values were a counter and its per-second rate was analysed */
  rate: boolean;
  season: { periodMs: number; acf: number; cycles: number } | null;
  /** Theil–Sen change over the whole range and its Mann–Kendall p-value */
  trend: { change: number; p: number } | null;
  /** robust σ of the residuals (point noise), in value units */
  noise: number;
  /** the detectors that ran */
  detectors: string[];
  /** running-median window, points */
  window: number;
  anomalies: Anomaly[];
  /** max anomaly score, 0 when none */
  score: number;
  /** 0-1: how much history backs the verdict */
  confidence: number;
  /** the value, for a flat series */
  flatValue?: number;
}

/** Minimum strength (1 = the medium threshold) for a sensitivity, from score = u²/(u²+1). */
export function minStrength(s: Sensitivity = 'medium'): number {
  const score = typeof s === 'number' ? s : MIN_SCORE[s];
  return Math.sqrt(score / (1 - score));
}

export function scoreOf(strength: number): number {
  // 1 / (1 + 1/u²) is u²/(u²+1) without Infinity/Infinity when u² overflows (a 1e300
  // outlier) or u is Infinity (a value that stopped moving at all).
  return Math.round((1 / (1 + 1 / (strength * strength))) * 1000) / 1000;
}

/** One candidate as the tool reports it, its point indices read as the times `t` gives. */
export function anomalyOf(c: Candidate, t: ArrayLike<number>, value: number, expected: number, band: [number, number]): Anomaly {
  return { kind: c.kind, direction: c.direction, at: t[c.at]!, from: t[c.from]!, to: t[c.to]!, value, expected, band, score: scoreOf(c.strength) };
}

function oddClamp(v: number, lo: number, hi: number): number {
  const c = Math.max(lo, Math.min(hi, Math.round(v)));
  return c % 2 === 1 ? c : c + 1;
}

/** Running-median window for n points: ~1/50 of the series, 11-61 points. */
export function windowFor(n: number): number {
  return oddClamp(n / 50, 11, 61);
}

/** Least local noise scale, as a share of the global σ: a calm hour is not noise-free. */
const MIN_SCALE = 0.3;

/**
 * Per-point noise scale: the larger of the recent scale (median of 5 neighbouring blocks,
 * so one odd block does not count) and the typical scale at that phase of the cycle (busy
 * hours are noisier), or 0.7 × the global σ when there is no cycle to learn it from.
 */
function localScale(bounds: Int32Array, blockScale: Float64Array, ref: Float64Array, phaseAware: boolean, sigma: number): Float64Array {
  const out = new Float64Array(bounds[bounds.length - 1]!);
  for (let b = 0; b + 1 < bounds.length; b++) {
    const near: number[] = [];
    for (let k = Math.max(0, b - 2); k <= Math.min(blockScale.length - 1, b + 2); k++) near.push(blockScale[k]!);
    const recent = median(near);
    const typical = phaseAware && ref[b]! > 0 ? ref[b]! : 0.7 * sigma;
    const s = Math.max(Number.isNaN(recent) ? sigma : recent, typical, MIN_SCALE * sigma);
    out.fill(s, bounds[b]!, bounds[b + 1]!);
  }
  return out;
}

/** Share of the history whose |z| measures its tail: Gaussian noise has 1% of points beyond 2.58σ. */
const TAIL_SHARE = 0.01;
/**
 * Points the tail is measured on, at least: 1% of a short history is a handful of points (its
 * own few events); 20, as for a block's noise scale (SCALE_BLOCK), pins it to within ~25%.
 */
const TAIL_POINTS = 20;
/** Share of the series that is judged against itself: history shorter than this says little. */
const TAIL_FIRST = 0.1;

/**
 * How much heavier the residuals' tail is than Gaussian noise's with the same core spread,
 * judged on what came before each point: the 99th percentile of |z| over the earlier points
 * over its Gaussian value, 2.58 (1 or less for Gaussian noise; with a short history, a lower
 * percentile so that TAIL_POINTS points measure it). Bursty series (counts of mentions, errors,
 * requests) routinely go 10σ past their median: once the series has shown that, a burst is
 * measured against its own tail, and only a burst beyond what it has done before is reported.
 * The first stretch (no history yet) is judged against itself.
 */
function tailFactors(r: Float64Array, scale: Float64Array): Float64Array {
  const n = r.length;
  const z = new Float64Array(n);
  let present = 0;
  for (let i = 0; i < n; i++) {
    z[i] = scale[i]! > 0 ? Math.abs(r[i]!) / scale[i]! : NaN;
    if (!Number.isNaN(z[i]!)) present++;
  }
  // the share of the history in the tail, for m points of history
  const share = (m: number) => Math.max(TAIL_SHARE, TAIL_POINTS / m);
  const first = Math.min(n, Math.ceil(TAIL_FIRST * n));
  const firstPresent = Math.max(1, present * TAIL_FIRST);
  const own = quantile(z.subarray(0, first), 1 - share(firstPresent)) / gaussianTail(share(firstPresent));
  const history = runningUpperQuantile(z, TAIL_SHARE, TAIL_POINTS);
  const out = new Float64Array(n).fill(1);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const f = i < first ? own : history[i]! / gaussianTail(share(m));
    if (f > 1) out[i] = f;
    if (!Number.isNaN(z[i]!)) m++;
  }
  return out;
}

/** Share of the series, just before a point, that is its recent past. */
const RECENT_SHARE = 0.2;
/** Earlier bursts of the recent past at least as far from the level as a burst that make it routine. */
const RECENT_RANK = 2;
/** Points per block of the recent past: each block counts once, with its largest |z| (one burst). */
const RECENT_BLOCK = 16;

/**
 * The noise-scale factor at which a point is only as far out as the RECENT_RANK-th largest burst
 * of its recent past (the RECENT_SHARE of the series before it, the last `gap` points left out:
 * they are the same burst), so that a burst no larger than two earlier ones of the recent past is
 * not reported. Bursts come in spells: a count that has burst this high twice in the last week
 * (a fifth of two months of 5-minute points) besides this time does so routinely, while its tail
 * over all of its history (tailFactors: 1% of it) is slow to learn a spell that began recently.
 * Bursts are counted, not points: a burst is a run of points (a 15-minute burst is 3 points at
 * 5-minute steps, 15 at 1-minute ones), so counted by points one earlier burst would make every
 * later one as high routine, more so the finer the step. The recent past is kept per block of
 * RECENT_BLOCK points (its largest |z|: one burst), so the cost is (n / block)² · share · rank:
 * about 15 M steps for 100,000 points.
 */
function recentBars(r: Float64Array, scale: Float64Array, gap: number): Float64Array {
  const n = r.length;
  const B = RECENT_BLOCK;
  const K = RECENT_RANK;
  const blocks = Math.ceil(n / B);
  // each block's largest |z| (NaN where it has none)
  const peak = new Float64Array(blocks).fill(NaN);
  for (let b = 0; b < blocks; b++) {
    for (let i = b * B; i < Math.min(n, (b + 1) * B); i++) {
      const z = scale[i]! > 0 ? Math.abs(r[i]!) / scale[i]! : NaN;
      if (z >= 0 && !(z <= peak[b]!)) peak[b] = z;
    }
  }
  const out = new Float64Array(n);
  const best = new Float64Array(K);
  const span = Math.round((RECENT_SHARE * n) / B);
  for (let b = 0; b < blocks; b++) {
    // the whole blocks that end at least `gap` points before this block starts
    const last = Math.floor((b * B - gap) / B) - 1;
    if (last < 0) continue;
    best.fill(NaN);
    for (let k = Math.max(0, last - span + 1); k <= last; k++) if (!Number.isNaN(peak[k]!)) insertTop(best, peak[k]!);
    const bar = best[K - 1]!;
    if (bar > 0) out.fill(bar / POINT_Z, b * B, Math.min(n, (b + 1) * B));
  }
  return out;
}

/** Puts z into the descending list a (NaN = empty), dropping its smallest. */
function insertTop(a: Float64Array, z: number): void {
  let j = a.length - 1;
  if (!Number.isNaN(a[j]!) && a[j]! >= z) return;
  while (j > 0 && (Number.isNaN(a[j - 1]!) || a[j - 1]! < z)) {
    a[j] = a[j - 1]!;
    j--;
  }
  a[j] = z;
}

/** |z| exceeded by Gaussian noise with probability p (two-sided), memoised: few distinct p occur. */
const gaussianTail = (() => {
  const memo = new Map<number, number>();
  return (p: number): number => {
    let z = memo.get(p);
    if (z === undefined) {
      let lo = 0;
      let hi = 40;
      for (let k = 0; k < 50; k++) {
        const mid = (lo + hi) / 2;
        if (2 * normalTail(mid) > p) lo = mid;
        else hi = mid;
      }
      z = (lo + hi) / 2;
      if (memo.size < 10_000) memo.set(p, z);
    }
    return z;
  };
})();

/**
 * Events of one kind (a detector's, which do not overlap) measured against the strongest earlier
 * one in the same direction, as spikes are against the series' own tail so far (tailFactors): a
 * series whose noise has tripled for an hour before, or whose cycle has broken before, does that
 * routinely, and only a stretch beyond the strongest earlier one is reported. An earlier event
 * past the medium threshold (strength > 1) becomes the threshold: `against` gives an event's
 * strength measured against it. A stuck value (strength Infinity) sets no bar and meets none.
 */
function beyondEarlier(events: Candidate[], against: (c: Candidate, earlier: number) => Candidate): Candidate[] {
  const strongest = { up: 1, down: 1 };
  return [...events]
    .sort((a, b) => a.from - b.from)
    .map((c) => {
      if (c.strength === Infinity) return c;
      const earlier = strongest[c.direction];
      strongest[c.direction] = Math.max(earlier, c.strength);
      return earlier > 1 ? against(c, earlier) : c;
    });
}

/** Cycles needed before a phase's own spread is trusted (the MAD of 10 values is within ~30%). */
const PHASE_SCALE_CYCLES = 10;

/**
 * The noise scale at each phase of the cycle, where enough cycles show that phase's own spread.
 * Raised where a phase is reliably noisier than its neighbourhood: a CronJob's burst that
 * differs a little from run to run, or the reset of a sawtooth whose period is not a whole
 * number of steps (so the drop lands a step earlier in some cycles). Lowered where the phase
 * and its two neighbours are all quieter: traffic and cost metrics are calm at night, and with
 * hourly steps one noise block (SCALE_BLOCK points) spans most of a day, so a night-time burst
 * would otherwise be judged against the day's noise. The neighbours (as in referenceScales)
 * keep one phase that is quiet by chance, or a sawtooth's jittering reset, from lowering it.
 * The blocks of localScale are too wide to see either; the floor is localScale's.
 */
function fitScaleToPhases(scale: Float64Array, r: Float64Array, season: Season, sigma: number): void {
  const P = season.period;
  if (season.cycles < PHASE_SCALE_CYCLES) return;
  const buf = new Float64Array(Math.ceil(r.length / P));
  const own = new Float64Array(P).fill(NaN);
  for (let p = 0; p < P; p++) {
    let k = 0;
    for (let i = p; i < r.length; i += P) if (!Number.isNaN(r[i]!)) buf[k++] = r[i]!;
    if (k >= PHASE_SCALE_CYCLES) own[p] = robustScale(buf.subarray(0, k), 0);
  }
  for (let p = 0; p < P; p++) {
    const ps = own[p]!;
    if (Number.isNaN(ps)) continue;
    // NaN (a neighbour too sparse to measure) makes quiet NaN: no lowering there.
    const quiet = Math.max(ps, own[(p + 1) % P]!, own[(p + P - 1) % P]!);
    for (let i = p; i < r.length; i += P) {
      if (ps > 1.5 * scale[i]!) scale[i] = ps;
      else if (quiet < scale[i]!) scale[i] = Math.max(quiet, MIN_SCALE * sigma);
    }
  }
}

/**
 * The first pass's shifts minus their echoes: a shift leaves a smaller, opposite shift at the
 * same phase of another cycle (through the profile), which must not be taken out as well.
 */
function withoutEchoes(shifts: ChangePoint[], period: number, W: number): ChangePoint[] {
  const kept: ChangePoint[] = [];
  for (const c of [...shifts].sort((a, b) => b.strength - a.strength)) {
    const echo = kept.some((k) => {
      const d = Math.abs(k.at - c.at) % period;
      return Math.min(d, period - d) <= W && Math.sign(k.delta) !== Math.sign(c.delta);
    });
    if (!echo) kept.push(c);
  }
  return kept;
}

/**
 * Running-median level of y, the residuals from it and their robust σ (never 0). When most
 * residuals are exactly 0 (a counter's rate between restarts, a 0/1 state), departures spread
 * over the whole series are the series' own noise and set the scale (see robustScale), but
 * departures packed into a few windows are a burst to be found: the scale then ignores them.
 */
function residuals(y: Float64Array, h: number, x: Float64Array): { level: Float64Array; r: Float64Array; sigma: number } {
  const level = rollingMedian(y, h, h);
  const r = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) r[i] = y[i]! - level[i]!;
  let tail = true;
  if (mad(r, 0) === 0) {
    const size = 2 * h + 1;
    const blocks = Math.ceil(r.length / size);
    let busy = 0;
    for (let b = 0; b < blocks; b++) {
      const part = r.subarray(b * size, (b + 1) * size);
      if (part.some((v) => v !== 0 && !Number.isNaN(v))) busy++;
    }
    tail = busy > Math.max(1, 0.1 * blocks);
  }
  return { level, r, sigma: Math.max(robustScale(r, 0, tail), 1e-12 * (Math.abs(median(x)) + 1)) };
}

export function analyze(timestamps: ArrayLike<number>, values: ArrayLike<number>, opts: DetectOptions = {}): Analysis {
  let g: Grid = toGrid(timestamps, values);
  if (opts.counter) g = counterRate(g);
  return analyzeGrid(g, opts);
}

/**
 * Below medium sensitivity, a lower threshold only adds anomalies: what medium reports is
 * reported as it is (its band drawn at the threshold asked, k × medium's), and the lower
 * threshold adds events where medium found none. Run at the lower threshold alone, runs of spike
 * points merge through points that were below medium's and a weak broken cycle absorbs a
 * stronger spike inside it, so an agent that asked for more saw less at the top
 * (docs/anomaly-benchmark.md).
 */
function nested(medium: Anomaly[], lower: Anomaly[], k: number): Anomaly[] {
  const kept = medium.map((a) => withBandScaled(a, k));
  const added = lower.filter((b) => !kept.some((a) => overlaps(a, b)));
  return [...kept, ...added].sort(byScore);
}

/** The band as at a threshold k × the one it was drawn at: half-widths ∝ the threshold, σ ratios as its power. */
function withBandScaled(a: Anomaly, k: number): Anomaly {
  const [lo, hi] = a.band;
  const e = a.expected;
  // a noise ratio's band is usual σ × VAR_DOWN^u .. × VAR_UP^u (no band to scale when the usual σ is 0)
  const ratioBand = (b: number) => (e > 0 && b > 0 ? e * Math.pow(b / e, k) : b);
  const band: [number, number] = a.ratio !== undefined ? [ratioBand(lo), ratioBand(hi)] : [e - (e - lo) * k, e + (hi - e) * k];
  return { ...a, band };
}

/**
 * Points averaged into one for the coarser look at bursts: a bump spread over a few points of
 * a low count (about 2 mentions per 5 minutes, then 6 for an hour) is lost in the
 * point-to-point noise and plain in averages over 4 points, as a range query with a 4× step
 * would show it. 2, 8 and 16 were measured too (docs/anomaly-benchmark.md).
 */
const COARSE_FACTOR = 4;
/** Coarse points the second look needs: ten noise blocks (SCALE_BLOCK), enough for its own scales and tail. */
const COARSE_MIN_POINTS = 10 * SCALE_BLOCK;

/** `coarse`: also look for bursts at COARSE_FACTOR× the step (false in that look itself). */
export function analyzeGrid(g: Grid, opts: DetectOptions = {}, coarse = true): Analysis {
  const method = opts.method ?? 'auto';
  const uMin = minStrength(opts.sensitivity);
  const n = g.x.length;
  const base: Analysis = {
    status: 'ok',
    points: g.present,
    missing: n - g.present,
    nonFinite: g.nonFinite,
    step: g.step,
    start: n > 0 ? g.t[0]! : NaN,
    end: n > 0 ? g.t[n - 1]! : NaN,
    rate: opts.counter === true,
    season: null,
    trend: null,
    noise: 0,
    detectors: [],
    window: 0,
    anomalies: [],
    score: 0,
    confidence: 0,
  };
  if (g.present < MIN_POINTS) return { ...base, status: 'insufficient_data' };
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of g.x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === hi) return { ...base, status: 'flat', flatValue: lo, confidence: confidenceOf(g, null) };

  const x = g.x;
  const run = (m: Method) => method === 'auto' || method === m;
  const W = windowFor(n);
  const h = (W - 1) / 2;
  let season: Season | null = (run('seasonal') || method === 'auto') && g.regular ? detectSeason(x, g.step) : null;
  let y = season ? deseasonalize(x, season) : x;
  let { level, r, sigma } = residuals(y, h, x);
  if (season) {
    // Second pass: learn the cycle again with clear level shifts taken out (see refitSeason).
    const steps = withoutEchoes(
      changePoints(y, W, sigma, Math.max(uMin, 1)).filter((c) => c.abrupt),
      season.period,
      W,
    );
    if (steps.length > 0) {
      season = refitSeason(x, season, steps);
      y = deseasonalize(x, season);
      ({ level, r, sigma } = residuals(y, h, x));
    }
  }
  const short = !season && n * g.step < 2 * DAY;
  const S = season ? season.profile : null;
  const seasonal = (i: number) => (S ? S[i % S.length]! : 0);
  // Noise follows the time of day even in a weekly cycle, and a day has many more repetitions.
  const scalePeriod = season ? (season.periodMs === WEEK ? Math.round(DAY / g.step) : season.period) : 0;
  const scaleCycles = scalePeriod > 0 ? Math.floor(n / scalePeriod) : 0;
  const { bounds, perCycle } = blockBounds(n, SCALE_BLOCK, scalePeriod);
  const blockScale = blockScaleSeries(r, bounds);
  const phaseAware = scaleCycles >= 2;
  // Step-like and mostly-zero series (a 0/1 state, restarts) have no noise to speak of:
  // every departure counts against the one global scale, not a local one it would inflate.
  const degenerate = mad(r, 0) === 0;
  const scale = degenerate ? new Float64Array(n).fill(sigma) : localScale(bounds, blockScale, referenceScales(blockScale, perCycle, 2), phaseAware, sigma);
  if (season && !degenerate) fitScaleToPhases(scale, r, season, sigma);
  if (!degenerate) {
    const heavy = tailFactors(r, scale);
    const recent = recentBars(r, scale, h);
    for (let i = 0; i < n; i++) scale[i]! *= Math.max(heavy[i]!, recent[i]!);
  }

  // the variance detector's block scales, freed of the level, and their usual values: the same at every threshold
  let variance: { adjusted: Float64Array; reference: Float64Array } | null = null;
  if (run('variance')) {
    const levels = new Float64Array(bounds.length - 1);
    for (let b = 0; b + 1 < bounds.length; b++) levels[b] = median(x.subarray(bounds[b]!, bounds[b + 1]!));
    const adjusted = levelAdjustedScales(blockScale, levels);
    variance = { adjusted, reference: referenceScales(adjusted, perCycle, 3) };
  }

  /** The detectors at one threshold: the anomalies, the detectors that ran and the trend left once they are taken out. */
  const find = (sensitivity: Sensitivity | undefined) => {
    const uMin = minStrength(sensitivity);
    const detectors: string[] = [];
    let cands: Candidate[] = [];
    if (season) detectors.push('seasonal');
    if (run('robust') || run('seasonal')) {
      detectors.push('hampel');
      cands.push(...pointAnomalies(y, level, scale, uMin, Math.max(1, Math.floor(W / 6))));
    }
    // Breaks and variance changes are found down to the medium threshold whatever the sensitivity,
    // so that the earlier ones that raise the bar (beyondEarlier) are the same at every sensitivity.
    const foundBreaks = season && (method === 'auto' || method === 'seasonal') ? seasonalBreaks(y, season, sigma, Math.min(uMin, 1)) : [];
    // A break's strength is a ratio to its thresholds (|β|, its t): the earlier break's divides it.
    const breaks = beyondEarlier(foundBreaks, (c, earlier) => ({ ...c, strength: c.strength / earlier })).filter((c) => c.strength >= uMin);
    if (season && (method === 'auto' || method === 'seasonal')) detectors.push('seasonal_break');
    cands.push(...breaks);
    let shifts: ChangePoint[] = [];
    if (run('level_shift')) {
      detectors.push('mosum_cusum');
      let cps = changePoints(y, W, sigma, uMin);
      // Without a learnt cycle, a gradual change within a day or two may be the time of day:
      // drifts there are left to findDrift, which checks for that.
      if (short) cps = cps.filter((c) => c.abrupt);
      const { events, steps } = shiftEvents(cps, n, W, breaks);
      cands.push(...events);
      shifts = steps;
    }
    // Block medians for the trend, with shifts undone and spikes dropped so they do not pass for drift.
    const corrected = Float64Array.from(y);
    for (const c of cands) if (c.kind === 'spike' || c.kind === 'dip') corrected.fill(NaN, c.from, c.to + 1);
    for (const s of shifts) for (let i = s.at; i < n; i++) corrected[i]! -= s.delta;
    const blockSize = Math.max(1, Math.ceil(n / TREND_BLOCKS));
    const blocks = blockMedians(corrected, blockSize, Math.max(1, Math.floor(blockSize / 3)));
    const ts = trendSummary(blocks);
    const trend = { change: ts.slope * (blocks.length - 1), p: ts.p };
    if (run('trend')) {
      detectors.push('trend');
      const d = findDrift(corrected, blockSize, sigma, uMin, short);
      if (d) {
        // Report where the drift got to before any later level shift (an OOM kill ending a
        // leak), with the shifts undone in `corrected` added back to the expected level.
        const cut = shifts.find((s) => s.at > d.onset && s.at <= d.end);
        const to = cut ? cut.at - 1 : d.end;
        const reached = lastMedian(y, d.onset, to, h + 1);
        if (!Number.isNaN(reached)) {
          cands.push({
            kind: 'trend',
            direction: d.departure > 0 ? 'up' : 'down',
            at: d.onset,
            from: d.onset,
            to,
            strength: d.strength,
            level: { value: reached, expected: d.lineAt(to) + shiftedBy(shifts, to) },
          });
        }
      }
    }
    if (variance) {
      detectors.push('variance');
      const changes = varianceChanges(variance.adjusted, variance.reference, bounds, Math.min(uMin, 1), blockScale);
      // Quieter than usual is routine in real metrics (a count at night, a slack hour); a value
      // that stopped moving (no noise left at all) is a stuck exporter or gauge, worth reporting,
      // unless it rests at the series' minimum (an idle count at zero).
      const kept = changes.filter((c) => c.direction === 'up' || (c.strength === Infinity && !atFloor(x, c.from, c.to, lo)));
      // A variance change's strength is log(ratio) / log(threshold ratio): the earlier one's, as the threshold, subtracts.
      cands.push(...beyondEarlier(kept, (c, earlier) => ({ ...c, strength: c.strength - (earlier - 1), noise: { ...c.noise!, routine: earlier - 1 } })));
    }

    if (coarse && !season && (run('robust') || run('seasonal')) && g.regular) {
      // The second look adds only bursts the first one did not see at all.
      const fine = cands.filter((c) => c.strength >= uMin);
      cands.push(...coarseBursts(g, level, { ...opts, sensitivity }).filter((c) => !fine.some((f) => overlaps(c, f))));
    }
    cands = resolveOverlaps(
      cands.filter((c) => c.strength >= uMin),
      W,
    );
    const event = (c: Candidate, value: number, expected: number, band: [number, number]) => anomalyOf(c, g.t, value, expected, band);
    const anomalies = cands.map((c): Anomaly => {
      if (c.noise) {
        // A change in volatility is about the noise, not the level: report σ against σ.
        const { observed, usual } = c.noise;
        const raised = uMin + (c.noise.routine ?? 0);
        const band: [number, number] = [usual * Math.pow(VAR_DOWN, c.direction === 'down' ? raised : uMin), usual * Math.pow(VAR_UP, c.direction === 'up' ? raised : uMin)];
        return { ...event(c, observed, usual, band), ratio: roundedRatio(observed / usual) };
      }
      if (c.measured) return event(c, c.measured.value, c.measured.expected, c.measured.band);
      const vi = c.level ? lastPresent(c, x) : nearestPresent(c, x);
      const s = seasonal(vi);
      const value = c.level ? c.level.value + s : x[vi]!;
      // A drift's expected value extends the line before it, which can run past anything the series
      // ever showed (below zero for a cost that never is): it is held to the range seen.
      const expected = c.level ? Math.min(hi, Math.max(lo, c.level.expected + s)) : level[vi]! + s;
      const half = (c.level ? SHIFT_SIGMA * sigma : POINT_Z * scale[vi]!) * uMin;
      return event(c, value, expected, [expected - half, expected + half]);
    });
    anomalies.sort(byScore);
    return { anomalies, detectors, trend };
  };
  const found = find(opts.sensitivity);
  const uMedium = minStrength('medium');
  const anomalies = uMin < uMedium ? nested(find('medium').anomalies, found.anomalies, uMin / uMedium) : found.anomalies;
  const { detectors, trend } = found;
  return {
    ...base,
    season: season ? { periodMs: season.periodMs, acf: season.acf, cycles: season.cycles } : null,
    trend,
    noise: sigma,
    detectors,
    window: W,
    anomalies,
    score: anomalies.length > 0 ? anomalies[0]!.score : 0,
    confidence: confidenceOf(g, season),
  };
}

/**
 * Spikes and dips found in the series averaged over COARSE_FACTOR points, as candidates on the
 * fine grid: from the start of the first coarse point to the end of the last, peaking at the
 * fine point furthest from the fine level in the event's direction. Their value, expected
 * value and band are the coarse ones (averages), and their strength is the coarse analysis's:
 * one threshold for both looks. It runs only where no cycle was learnt: a cycle's profile and
 * the noise of each of its phases are learnt at the series' own step, and a short one (30
 * minutes at 5-minute steps) cannot be learnt again at 4× the step.
 */
function coarseBursts(g: Grid, level: Float64Array, opts: DetectOptions): Candidate[] {
  const k = COARSE_FACTOR;
  const m = Math.floor(g.x.length / k);
  if (m < COARSE_MIN_POINTS) return [];
  const y = g.x;
  const t = new Float64Array(m);
  const x = new Float64Array(m);
  let present = 0;
  for (let b = 0; b < m; b++) {
    let sum = 0;
    let count = 0;
    for (let i = b * k; i < (b + 1) * k; i++) {
      if (Number.isNaN(y[i]!)) continue;
      sum += y[i]!;
      count++;
    }
    t[b] = g.t[b * k]!;
    x[b] = count > 0 ? sum / count : NaN;
    if (count > 0) present++;
  }
  const a = analyzeGrid({ t, x, step: g.step * k, regular: true, present, nonFinite: 0 }, opts, false);
  const out: Candidate[] = [];
  const index = (ms: number) => Math.round((ms - g.t[0]!) / g.step);
  for (const an of a.anomalies) {
    if (an.kind !== 'spike' && an.kind !== 'dip') continue;
    const from = index(an.from);
    const to = Math.min(g.x.length - 1, index(an.to) + k - 1);
    const sign = an.direction === 'up' ? 1 : -1;
    let at = from;
    for (let i = from; i <= to; i++) if (sign * (y[i]! - level[i]!) > sign * (y[at]! - level[at]!) || Number.isNaN(y[at]! - level[at]!)) at = i;
    out.push({
      kind: an.kind,
      direction: an.direction,
      at,
      from,
      to,
      strength: strengthOf(an.score),
      measured: { value: an.value, expected: an.expected, band: an.band },
    });
  }
  return out;
}

/** The strength a score came from (scoreOf's inverse, to its rounding). */
function strengthOf(score: number): number {
  return score >= 1 ? Infinity : Math.sqrt(score / (1 - score));
}

/**
 * Whether every present point of from..to is the series' minimum: an idle count or a quiet
 * hour at zero is the metric at rest, not a stuck value (a drop to it is a dip or a shift).
 */
function atFloor(x: Float64Array, from: number, to: number, floor: number): boolean {
  for (let i = from; i <= to; i++) if (!Number.isNaN(x[i]!) && x[i] !== floor) return false;
  return true;
}

/**
 * Median of the last k present values in y[from..to]: where a drift got to. Counted in present
 * points, not slots, so holes at its end do not leave it without a value (NaN only when the
 * whole span is missing).
 */
function lastMedian(y: Float64Array, from: number, to: number, k: number): number {
  const got: number[] = [];
  for (let i = to; i >= from && got.length < k; i--) if (!Number.isNaN(y[i]!)) got.push(y[i]!);
  return median(got);
}

/** Total of the level shifts up to point `at`, removed from the trend's input. */
function shiftedBy(shifts: ChangePoint[], at: number): number {
  let s = 0;
  for (const p of shifts) if (p.at <= at) s += p.delta;
  return s;
}

/** To 2 decimals, and within the range of a double: ×100 overflows for a 1e300-scale outlier's noise. */
function roundedRatio(r: number): number {
  return r < 1e300 ? Math.round(r * 100) / 100 : Number.MAX_VALUE;
}

/** `at`, or the present point nearest to it within the event (a variance block may start on a gap). */
function nearestPresent(c: Candidate, x: Float64Array): number {
  for (let d = 0; c.at - d >= c.from || c.at + d <= c.to; d++) {
    if (c.at + d <= c.to && !Number.isNaN(x[c.at + d]!)) return c.at + d;
    if (c.at - d >= c.from && !Number.isNaN(x[c.at - d]!)) return c.at - d;
  }
  return c.at;
}

function lastPresent(c: Candidate, x: Float64Array): number {
  for (let i = c.to; i >= c.from; i--) if (!Number.isNaN(x[i]!)) return i;
  return c.at;
}

/**
 * Change points become level shifts; a gradual one becomes a trend; an up-shift followed
 * by a down-shift of similar size (or the reverse) within a few windows, or within one
 * seasonal-break window, is one long spike/dip. `steps` are the shifts reported as level
 * shifts: the ones the drift search takes out of the series.
 */
function shiftEvents(shifts: ChangePoint[], n: number, W: number, breaks: Candidate[]): { events: Candidate[]; steps: ChangePoint[] } {
  const out: Candidate[] = [];
  const steps: ChangePoint[] = [];
  const maxPlateau = Math.max(3 * W, Math.floor(n / 20));
  for (let k = 0; k < shifts.length; k++) {
    const a = shifts[k]!;
    // A long ramp shows as a run of gradual change points of one sign: one drift.
    if (!a.abrupt) {
      let e = k;
      while (e + 1 < shifts.length && !shifts[e + 1]!.abrupt && Math.sign(shifts[e + 1]!.delta) === Math.sign(a.delta) && shifts[e + 1]!.at - shifts[e]!.at <= 3 * W) e++;
      if (e > k) {
        let total = 0;
        let strength = 0;
        for (let j = k; j <= e; j++) {
          total += shifts[j]!.delta;
          strength = Math.max(strength, shifts[j]!.strength);
        }
        const z = shifts[e]!;
        out.push({
          kind: 'trend',
          direction: a.delta > 0 ? 'up' : 'down',
          at: a.at,
          from: a.at,
          to: shifts[e + 1] ? shifts[e + 1]!.at - 1 : n - 1,
          strength,
          level: { value: z.after, expected: a.before },
        });
        k = e;
        continue;
      }
    }
    const b = shifts[k + 1];
    const ratio = b ? -b.delta / a.delta : 0;
    // Down and back up inside a window where the cycle broke is part of that break.
    const inBreak = b !== undefined && breaks.some((w) => a.at >= w.from - W && b.at <= w.to + W);
    if (b && ratio > 1 / 3 && ratio < 3 && (b.at - a.at <= maxPlateau || inBreak)) {
      out.push({
        kind: a.delta > 0 ? 'spike' : 'dip',
        direction: a.delta > 0 ? 'up' : 'down',
        at: a.at,
        from: a.at,
        to: b.at - 1,
        strength: Math.max(a.strength, b.strength),
        level: { value: a.after, expected: a.before },
      });
      k++;
      continue;
    }
    if (a.abrupt) steps.push(a);
    out.push({
      kind: a.abrupt ? 'level_shift' : 'trend',
      direction: a.delta > 0 ? 'up' : 'down',
      at: a.at,
      from: a.at,
      to: b ? b.at - 1 : n - 1,
      strength: a.strength,
      level: { value: a.after, expected: a.before },
    });
  }
  return { events: out, steps };
}

/**
 * Which of two overlapping events to keep: the more specific explanation first. A level
 * shift explains a "broken cycle" window around it and, in count-like data, a variance
 * change in the same direction after it; breaks and variance changes explain the spikes
 * inside them.
 */
const PRIORITY: Record<Kind, number> = {
  level_shift: 0,
  seasonal_break: 1,
  variance_change: 2,
  trend: 3,
  spike: 4,
  dip: 4,
};

const ONSET_KINDS: ReadonlySet<Kind> = new Set(['level_shift', 'trend']);

function clashes(c: Candidate, k: Candidate, W: number): boolean {
  if (ONSET_KINDS.has(k.kind)) {
    // A shift or drift explains events near its onset, not everything after it.
    if (c.kind === k.kind) return overlaps(c, k);
    if (c.kind === 'seasonal_break') return k.at >= c.from && k.at <= c.to;
    const near = Math.abs(c.at - k.at) <= W;
    if (c.kind === 'variance_change') return near || (c.direction === k.direction && c.from >= k.from && c.from <= k.to);
    return near;
  }
  // A break or a volatile stretch explains the spikes inside it, not a shift or drift.
  return !ONSET_KINDS.has(c.kind) && overlaps(c, k);
}

/**
 * Keeps each candidate, most specific and strongest first, unless it clashes with one kept
 * before. Every candidate is resolved (anomalies_omitted counts them all), in n·log n plus n
 * times the shifts and drifts kept: those are checked one by one (change points are a window
 * apart, so they are few), while the other kinds kept never overlap each other and are found
 * by binary search.
 */
function resolveOverlaps(cands: Candidate[], W: number): Candidate[] {
  const sorted = [...cands].sort((a, b) => PRIORITY[a.kind] - PRIORITY[b.kind] || b.strength - a.strength);
  const kept: Candidate[] = [];
  const onsets: Candidate[] = [];
  /** kept breaks, variance changes, spikes and dips: disjoint, by `from` */
  const spans: Candidate[] = [];
  const lastFromAtMost = (i: number) => {
    let lo = 0;
    let hi = spans.length; // first span with from > i
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (spans[mid]!.from <= i) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  };
  for (const c of sorted) {
    if (onsets.some((k) => clashes(c, k, W))) continue;
    const onset = ONSET_KINDS.has(c.kind);
    // a break or a volatile stretch or a spike kept clashes only with the other kinds, and only by overlap
    if (!onset) {
      const j = lastFromAtMost(c.to);
      if (j >= 0 && spans[j]!.to >= c.from) continue;
      spans.splice(j + 1, 0, c);
    } else onsets.push(c);
    kept.push(c);
  }
  return kept;
}

/** Whether two events (candidates or anomalies) share a point or an instant. */
export function overlaps(a: { from: number; to: number }, b: { from: number; to: number }): boolean {
  return a.from <= b.to && b.from <= a.to;
}

/** The order anomalies are reported in: strongest first, then earliest. */
export const byScore = (a: Anomaly, b: Anomaly): number => b.score - a.score || a.at - b.at;

/** How much history backs the verdict: points (full at 500), share missing, cycles seen. */
function confidenceOf(g: Grid, season: Season | null): number {
  const pts = Math.min(1, Math.max(0, Math.log(g.present / MIN_POINTS) / Math.log(500 / MIN_POINTS)));
  const missing = g.x.length > 0 ? 1 - g.present / g.x.length : 0;
  let c = 0.3 + 0.7 * pts;
  c *= 1 - 0.5 * missing;
  if (season && season.cycles < 3) c *= 0.85;
  const span = g.x.length * g.step;
  if (!season && span < 2 * 86_400_000) c *= 0.85;
  return Math.round(Math.max(0.05, Math.min(1, c)) * 100) / 100;
}
