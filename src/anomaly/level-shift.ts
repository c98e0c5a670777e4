// Level shifts: a moving-window test (MOSUM; Eichinger & Kirch, 2018) on medians instead of
// means, so spikes inside a window do not move it: D(i) = median(y[i, i+w)) - median(y[i-w, i)).
// Candidates are the peaks of |D| that stand out from D's own robust spread (which absorbs
// autocorrelated wander) and exceed a minimum shift in units of the point noise. Each
// onset is then refined with Page's CUSUM (Page, 1954) run from the pre-shift level.
import { median, robustScale, rollingMedian } from './stats.js';

/** |D| / robust spread of D at medium sensitivity. */
export const SHIFT_Z = 6;
/** Smallest shift, in units of the point noise σ, at medium sensitivity. */
export const SHIFT_SIGMA = 3;

export interface ChangePoint {
  /** first point at the new level */
  at: number;
  /** D at the peak: after minus before */
  delta: number;
  before: number;
  after: number;
  /** the weaker of |D|/spread ÷ SHIFT_Z and |D|/σ ÷ SHIFT_SIGMA (1 = at the medium threshold) */
  strength: number;
  /** the level changed within a few points (a step) rather than over the window (a ramp) */
  abrupt: boolean;
}

export function changePoints(y: Float64Array, w: number, sigma: number, uMin: number): ChangePoint[] {
  const n = y.length;
  if (n < 2 * w + 2 || !(sigma > 0)) return [];
  const trailing = rollingMedian(y, w - 1, 0); // trailing[e] = median(y[e-w+1 .. e])
  const d = new Float64Array(n).fill(NaN);
  for (let i = w; i + w - 1 < n; i++) d[i] = trailing[i + w - 1]! - trailing[i - 1]!;
  // D is exactly 0 almost everywhere in step-like series (a 0/1 state, a counter between
  // restarts); there the spread is its mean absolute value, so a single step stands out.
  const spread = Math.max(robustScale(d, 0, false), 1e-12 * (Math.abs(median(y)) + 1));
  const thrZ = SHIFT_Z * uMin;
  const thrAbs = SHIFT_SIGMA * uMin * sigma;
  const strengthAt = (i: number) => {
    const a = Math.abs(d[i]!);
    // Both tests must pass; the strength is the weaker of the two ratios.
    return Math.min(a / spread / SHIFT_Z, a / sigma / SHIFT_SIGMA);
  };
  // Peaks of |D| above both thresholds, at least w apart, strongest first.
  const cand: number[] = [];
  for (let i = w; i + w - 1 < n; i++) {
    const a = Math.abs(d[i]!);
    if (!(a >= thrAbs && a / spread >= thrZ)) continue;
    cand.push(i);
  }
  cand.sort((a, b) => Math.abs(d[b]!) - Math.abs(d[a]!));
  // A peak hides weaker ones of the same sign within w; an opposite one may be close (the
  // way back down from a plateau shorter than the window).
  const taken = [new Uint8Array(n), new Uint8Array(n)];
  const out: ChangePoint[] = [];
  for (const i of cand) {
    const mark = taken[d[i]! > 0 ? 0 : 1]!;
    if (mark[i]) continue;
    for (let j = Math.max(0, i - w); j < Math.min(n, i + w); j++) mark[j] = 1;
    const delta = d[i]!;
    const before = trailing[i - 1]!;
    const after = trailing[i + w - 1]!;
    const at = cusumOnset(y, i, w, before, after, sigma);
    out.push({ at, delta, before, after, strength: strengthAt(i), abrupt: isAbrupt(y, at, w, delta) });
  }
  return out.sort((a, b) => a.at - b.at);
}

/**
 * Page's CUSUM for a shift of `delta` from the level `before` to `after`: the onset is the
 * last point where the cumulative sum was at zero before it crossed its alarm threshold
 * (reference value k = |delta|/2, threshold h = 4σ, the usual choices). It runs forward
 * from w points before the MOSUM peak, where the old level should hold; when it does not
 * (the way back down from a plateau shorter than the window: the points before the plateau
 * are already at the new level) it runs backward from w points after the peak instead.
 */
export function cusumOnset(y: Float64Array, peak: number, w: number, before: number, after: number, sigma: number): number {
  const k = Math.abs(after - before) / 2;
  const h = 4 * sigma;
  const lo = Math.max(0, peak - w);
  const hi = Math.min(y.length, peak + w) - 1;
  const q = Math.max(2, Math.floor(w / 6));
  const head = median(y.subarray(lo, lo + q));
  const forward = !(Math.abs(head - before) > Math.abs(head - after));
  const ref = forward ? before : after;
  const sign = (forward ? after - before : before - after) > 0 ? 1 : -1;
  // Forward, skip leading points already at the new level: with a plateau shorter than the
  // window in a drifting series, the MOSUM peak of the way back down can sit late enough that
  // the run would start before the plateau, alarm at once and put the onset there.
  let first = 0;
  if (forward) while (lo + first < hi && Math.abs(y[lo + first]! - after) < Math.abs(y[lo + first]! - before)) first++;
  let g = 0;
  let lastZero = forward ? lo + first : hi;
  for (let j = forward ? first : 0; j <= hi - lo; j++) {
    const i = forward ? lo + j : hi - j;
    const v = y[i]!;
    if (Number.isNaN(v)) continue;
    g = Math.max(0, g + sign * (v - ref) - k);
    if (g === 0) lastZero = forward ? i + 1 : i;
    else if (g > h) return Math.min(lastZero, y.length - 1);
  }
  return peak;
}

/** A step rather than a ramp: at least half the change happens within w/6 points of the onset. */
function isAbrupt(y: Float64Array, at: number, w: number, delta: number): boolean {
  const q = Math.max(2, Math.floor(w / 6));
  const left = median(y.subarray(Math.max(0, at - q), at));
  const right = median(y.subarray(at, Math.min(y.length, at + q)));
  if (Number.isNaN(left) || Number.isNaN(right)) return true;
  return (right - left) / delta >= 0.5;
}
