// Slow drift and trend, on block medians (so the cost is fixed however long the series):
// Theil–Sen slope (Theil, 1950; Sen, 1968) and the Mann–Kendall test (Mann, 1945; Kendall,
// 1975) describe the trend over the whole range; a drift that starts inside the range is
// found as the best continuous piecewise-linear (broken-stick) fit: a background line plus a
// ramp between two hinges, accepted when the ramp moves the level by much more than the
// blocks' own scatter and the point noise, and the ramp is monotonic by Mann–Kendall.
import { blockMedians, MAD_TO_SIGMA, median, normalTail } from './stats.js';

/** Departure at the end / block scatter, at medium sensitivity. */
export const DRIFT_Z = 6;
/** t-statistic of the ramp coefficient, at medium sensitivity. */
export const DRIFT_T = 8;
/** Smallest departure in units of the point noise σ, at medium sensitivity. */
export const DRIFT_SIGMA = 4;
/** Mann–Kendall z the post-hinge part must reach. */
const MK_Z = 3;
/** Blocks needed before the ramp and from its start to the end. */
const MIN_BEFORE = 3;
const MIN_AFTER = 4;

export interface TrendSummary {
  /** Theil–Sen slope in value units per block */
  slope: number;
  /** Mann–Kendall z and two-sided p-value */
  z: number;
  p: number;
}

export interface Drift {
  /** point index where the drift starts */
  onset: number;
  /** point index where it stops (the last point when it lasts to the end) */
  end: number;
  /** fitted level at `end` minus the pre-drift line extended there */
  departure: number;
  /** the pre-drift line extended to a point index: where the level would be without the drift */
  lineAt(i: number): number;
  strength: number;
}

/** Theil–Sen slope over present (index, value) pairs: O(B²), B being at most a few hundred blocks. */
export function theilSen(v: Float64Array): number {
  const slopes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (Number.isNaN(v[i]!)) continue;
    for (let j = i + 1; j < v.length; j++) if (!Number.isNaN(v[j]!)) slopes.push((v[j]! - v[i]!) / (j - i));
  }
  return slopes.length === 0 ? 0 : median(slopes);
}

/** Mann–Kendall S statistic's normal approximation (with continuity correction; ties ignored in the variance). */
export function mannKendall(v: Float64Array, from = 0, to = v.length): { s: number; z: number; p: number } {
  let s = 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    if (Number.isNaN(v[i]!)) continue;
    n++;
    for (let j = i + 1; j < to; j++) {
      const b = v[j]!;
      if (Number.isNaN(b)) continue;
      s += Math.sign(b - v[i]!);
    }
  }
  if (n < 3) return { s, z: 0, p: 1 };
  const variance = (n * (n - 1) * (2 * n + 5)) / 18;
  const z = s === 0 ? 0 : (s - Math.sign(s)) / Math.sqrt(variance);
  return { s, z, p: Math.min(1, 2 * normalTail(Math.abs(z))) };
}

export function trendSummary(blocks: Float64Array): TrendSummary {
  const mk = mannKendall(blocks);
  return { slope: theilSen(blocks), z: mk.z, p: mk.p };
}

/**
 * Solves A·x = b in place (A is k×k, row-major in `a`) by Gaussian elimination with partial
 * pivoting; false if singular. Works on preallocated arrays: it runs for every candidate drift.
 */
function solveInPlace(a: Float64Array, b: Float64Array, k: number): boolean {
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r * k + c]!) > Math.abs(a[p * k + c]!)) p = r;
    const piv = a[p * k + c]!;
    if (Math.abs(piv) < 1e-12 * Math.max(1, Math.abs(a[c * k + c]!))) return false;
    if (p !== c) {
      for (let q = 0; q < k; q++) {
        const tmp = a[c * k + q]!;
        a[c * k + q] = a[p * k + q]!;
        a[p * k + q] = tmp;
      }
      const tb = b[c]!;
      b[c] = b[p]!;
      b[p] = tb;
    }
    for (let r = c + 1; r < k; r++) {
      const f = a[r * k + c]! / a[c * k + c]!;
      if (f === 0) continue;
      for (let q = c; q < k; q++) a[r * k + q] = a[r * k + q]! - f * a[c * k + q]!;
      b[r] = b[r]! - f * b[c]!;
    }
  }
  for (let r = k - 1; r >= 0; r--) {
    let v = b[r]!;
    for (let q = r + 1; q < k; q++) v -= a[r * k + q]! * b[q]!;
    b[r] = v / a[r * k + r]!;
  }
  return true;
}

/** Prefix sums over present points of 1, t, t², y, t·y: each piecewise-linear fit then costs O(1). */
class Sums {
  readonly c: Float64Array;
  readonly t: Float64Array;
  readonly tt: Float64Array;
  readonly y: Float64Array;
  readonly ty: Float64Array;
  readonly yy: number;
  readonly n: number;
  constructor(v: Float64Array) {
    const n = v.length;
    this.n = n;
    this.c = new Float64Array(n + 1);
    this.t = new Float64Array(n + 1);
    this.tt = new Float64Array(n + 1);
    this.y = new Float64Array(n + 1);
    this.ty = new Float64Array(n + 1);
    let yy = 0;
    for (let i = 0; i < n; i++) {
      const y = v[i]!;
      const ok = Number.isNaN(y) ? 0 : 1;
      this.c[i + 1] = this.c[i]! + ok;
      this.t[i + 1] = this.t[i]! + ok * i;
      this.tt[i + 1] = this.tt[i]! + ok * i * i;
      this.y[i + 1] = this.y[i]! + (ok ? y : 0);
      this.ty[i + 1] = this.ty[i]! + (ok ? i * y : 0);
      if (ok) yy += y * y;
    }
    this.yy = yy;
  }
  /** sums over t > h of 1, t, t², y, t·y, into out */
  after(h: number, out: Float64Array): Float64Array {
    const lo = Math.max(0, Math.floor(h) + 1);
    const n = this.n;
    out[0] = this.c[n]! - this.c[lo]!;
    out[1] = this.t[n]! - this.t[lo]!;
    out[2] = this.tt[n]! - this.tt[lo]!;
    out[3] = this.y[n]! - this.y[lo]!;
    out[4] = this.ty[n]! - this.ty[lo]!;
    return out;
  }
}

interface Fit {
  /** a, b, c1, c2 (b = 0 with flatBefore; c2 = 0 when h2 is the end) */
  coef: number[];
  rss: number;
  /** departure at h2 from the pre-drift line */
  departure: number;
  /** variance factor of the departure: its standard error is scatter × √varDep (only with withVariance) */
  varDep: number;
}

// Scratch space for piecewiseFit, which runs for every candidate drift.
const A = new Float64Array(16);
const A2 = new Float64Array(16);
const RHS = new Float64Array(4);
const G = new Float64Array(4);
const FULL = new Float64Array(16);
const RHS_FULL = new Float64Array(4);
const COLS = new Int32Array(4);
const S0 = new Float64Array(5);
const S1 = new Float64Array(5);
const S2 = new Float64Array(5);

/**
 * Least squares of y = a + b·t + c1·(t-h1)₊ + c2·(t-h2)₊: a line until h1, another slope
 * until h2, a third after (h2 = `end` leaves out c2; flatBefore leaves out b). The departure
 * at h2 is how far the fit is from the first line extended there; it is measured at h2
 * because beyond it a small error in the pre-drift slope would grow with the distance.
 */
function piecewiseFit(s: Sums, h1: number, h2: number, end: number, flatBefore: boolean, withVariance = false): Fit | null {
  s.after(-1, S0);
  s.after(h1, S1);
  const withC2 = h2 < end;
  if (withC2) s.after(h2, S2);
  else S2.fill(0);
  const n = S0[0]!;
  const st = S0[1]!;
  const stt = S0[2]!;
  const sy = S0[3]!;
  const sty = S0[4]!;
  const [a1, t1, tt1, y1, ty1] = [S1[0]!, S1[1]!, S1[2]!, S1[3]!, S1[4]!];
  const [a2, t2, tt2, y2, ty2] = [S2[0]!, S2[1]!, S2[2]!, S2[3]!, S2[4]!];
  // Sums of u1 = (t-h1)₊ and u2 = (t-h2)₊ against the basis and y.
  const u1 = t1 - h1 * a1;
  const u1u1 = tt1 - 2 * h1 * t1 + h1 * h1 * a1;
  const tu1 = tt1 - h1 * t1;
  const u1y = ty1 - h1 * y1;
  const u2 = t2 - h2 * a2;
  const u2u2 = tt2 - 2 * h2 * t2 + h2 * h2 * a2;
  const tu2 = tt2 - h2 * t2;
  const u2y = ty2 - h2 * y2;
  const u1u2 = tt2 - (h1 + h2) * t2 + h1 * h2 * a2; // u1·u2 is nonzero only for t > h2
  FULL[0] = n;
  FULL[1] = FULL[4] = st;
  FULL[2] = FULL[8] = u1;
  FULL[3] = FULL[12] = u2;
  FULL[5] = stt;
  FULL[6] = FULL[9] = tu1;
  FULL[7] = FULL[13] = tu2;
  FULL[10] = u1u1;
  FULL[11] = FULL[14] = u1u2;
  FULL[15] = u2u2;
  RHS_FULL[0] = sy;
  RHS_FULL[1] = sty;
  RHS_FULL[2] = u1y;
  RHS_FULL[3] = u2y;
  // The normal equations over the columns in use: 1, [t], u1, [u2].
  let k = 0;
  COLS[k++] = 0;
  if (!flatBefore) COLS[k++] = 1;
  COLS[k++] = 2;
  if (withC2) COLS[k++] = 3;
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < k; c++) A[r * k + c] = FULL[COLS[r]! * 4 + COLS[c]!]!;
    RHS[r] = RHS_FULL[COLS[r]!]!;
  }
  if (withVariance) A2.set(A.subarray(0, k * k));
  if (!solveInPlace(A, RHS, k)) return null;
  const coef = [0, 0, 0, 0];
  let rss = s.yy;
  let departure = 0;
  for (let r = 0; r < k; r++) {
    coef[COLS[r]!] = RHS[r]!;
    rss -= RHS[r]! * RHS_FULL[COLS[r]!]!;
    if (COLS[r] === 2) departure = (h2 - h1) * RHS[r]!;
  }
  let varDep = NaN;
  if (withVariance) {
    for (let r = 0; r < k; r++) G[r] = COLS[r] === 2 ? h2 - h1 : 0;
    if (!solveInPlace(A2, G, k)) return null;
    varDep = 0;
    for (let r = 0; r < k; r++) if (COLS[r] === 2) varDep = (h2 - h1) * G[r]!;
  }
  return { coef, rss, departure, varDep };
}

/** The (h1, h2) with the least residual sum of squares, within optional bounds. */
function bestPair(
  sums: Sums,
  last: number,
  minBefore: number,
  minAfter: number,
  flatBefore: boolean,
  h1Range: [number, number] = [0, last],
  h2Range: [number, number] = [0, last],
): { h1: number; h2: number } | null {
  let best: { h1: number; h2: number; rss: number } | null = null;
  for (let h1 = Math.max(minBefore, h1Range[0]); h1 <= Math.min(last - minAfter, h1Range[1]); h1++) {
    for (let h2 = Math.max(h1 + 2, h2Range[0]); h2 <= Math.min(last, h2Range[1]); h2++) {
      const f = piecewiseFit(sums, h1, h2, last, flatBefore);
      if (f && (!best || f.rss < best.rss)) best = { h1, h2, rss: f.rss };
    }
  }
  return best;
}

/**
 * The strongest drift that starts inside the series, or null. Its start and end are
 * searched on block medians (O(B²) fits of O(1) each, coarse to fine), then the start is
 * refined on the points themselves. The departure is measured from the line the series followed before
 * the drift. `sigma` is the point noise. With `mustLeaveRange` (a short series whose daily
 * cycle could not be learnt) the drift must also take the level beyond everything seen
 * before it and keep it there, since a ramp that stays within that range, or comes back,
 * may just be the time of day; and the level before it is taken as flat, since within a day
 * any slope may be the cycle.
 */
export function findDrift(points: Float64Array, blockSize: number, sigma: number, uMin: number, mustLeaveRange = false): Drift | null {
  const blocks = blockMedians(points, blockSize, Math.max(1, Math.floor(blockSize / 3)));
  const B = blocks.length;
  if (B < MIN_BEFORE + MIN_AFTER + 1) return null;
  const sums = new Sums(blocks);
  const last = B - 1;
  // Coarse to fine: all (h1, h2) on pairs of blocks, then ±2 blocks around the best pair.
  const coarse = new Float64Array(Math.ceil(B / 2));
  for (let k = 0; k < coarse.length; k++) {
    const a = blocks[2 * k]!;
    const b = 2 * k + 1 < B ? blocks[2 * k + 1]! : NaN;
    coarse[k] = Number.isNaN(a) ? b : Number.isNaN(b) ? a : (a + b) / 2;
  }
  const c = bestPair(new Sums(coarse), coarse.length - 1, Math.ceil(MIN_BEFORE / 2), Math.ceil(MIN_AFTER / 2), mustLeaveRange);
  if (!c) return null;
  const found = bestPair(sums, last, MIN_BEFORE, MIN_AFTER, mustLeaveRange, [2 * c.h1 - 2, 2 * c.h1 + 3], [2 * c.h2 - 2, 2 * c.h2 + 3]);
  if (!found) return null;
  const { h1, h2 } = found;
  const fit = piecewiseFit(sums, h1, h2, last, mustLeaveRange, true);
  if (!fit) return null;
  const coef = fit.coef;
  const line = (t: number) => coef[0]! + coef[1]! * t;
  const fitted = (t: number) => line(t) + coef[2]! * Math.max(0, t - h1) + coef[3]! * Math.max(0, t - h2);
  const resid: number[] = [];
  for (let t = 0; t < B; t++) if (!Number.isNaN(blocks[t]!)) resid.push(Math.abs(blocks[t]! - fitted(t)));
  const scatter = Math.max(MAD_TO_SIGMA * median(resid), 1e-12);
  const departure = fit.departure;
  // The t-statistic guards against fits whose pre-drift line rests on a few blocks.
  const t = Math.abs(departure) / (scatter * Math.sqrt(Math.max(fit.varDep, 1e-12)));
  const strength = Math.min(Math.abs(departure) / scatter / DRIFT_Z, t / DRIFT_T, Math.abs(departure) / sigma / DRIFT_SIGMA);
  if (!(strength >= uMin)) return null;
  if (h2 - h1 >= 6) {
    const mk = mannKendall(blocks, h1, h2 + 1);
    if (Math.sign(mk.z) !== Math.sign(departure) || Math.abs(mk.z) < MK_Z) return null;
  }
  if (mustLeaveRange) {
    // Relative to the pre-drift line: the drift must end beyond the range seen before it,
    // and stay there by a quarter of its size (a cycle's ramp comes back: over exactly a
    // day it ends where it began).
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k <= h1; k++) {
      const v = blocks[k]! - line(k);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const margin = Math.max(sigma, Math.abs(departure) / 4);
    const beyond = (v: number) => (departure > 0 ? v >= hi + margin : v <= lo - margin);
    for (let k = h2; k < B; k++) if (!Number.isNaN(blocks[k]!) && !beyond(blocks[k]! - line(k))) return null;
  }
  // Refine the start on the points: same model, start within a block of the coarse one.
  const center = (k: number) => Math.round(k * blockSize + (blockSize - 1) / 2);
  const pLast = points.length - 1;
  const p2 = h2 === last ? pLast : Math.min(pLast, center(h2));
  const psums = new Sums(points);
  let onset = center(h1);
  let bestRss = Infinity;
  for (let p1 = Math.max(1, center(h1 - 1)); p1 <= Math.min(p2 - 2, center(h1 + 1)); p1++) {
    const f = piecewiseFit(psums, p1, p2, pLast, mustLeaveRange);
    if (f && f.rss < bestRss) {
      bestRss = f.rss;
      onset = p1;
    }
  }
  // The pre-drift line at a point index (blocks sit at their centres).
  const lineAt = (i: number) => line((i - (blockSize - 1) / 2) / blockSize);
  return { onset, end: p2, departure, lineAt, strength };
}
