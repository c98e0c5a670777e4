// Seasonal breaks: a stretch where the usual cycle does not happen (the morning peak is
// missing, doubled or shifted by hours). In each half-cycle window the deseasonalized
// values are regressed on the cycle's profile: normally the coefficient β is ~0; a missing
// cycle gives β ≈ -1, a doubled one β ≈ +1. Needs 3+ cycles so the profile is not made
// of the broken cycle itself.
// A real cycle's amplitude varies from day to day (a busy Monday, a quiet Sunday): β must also
// stand out from its own robust spread over all windows, as the level-shift test's statistic
// must stand out from its own (SHIFT_Z), so that a routine busier day is not a break.
import type { Season } from './seasonal.js';
import { SHIFT_Z } from './level-shift.js';
import { median, robustScale } from './stats.js';
import type { Candidate } from './types.js';

/** |β| at medium sensitivity. */
export const BREAK_BETA = 0.5;
/** β's t-statistic at medium sensitivity. */
export const BREAK_Z = 8;
/** The cycle must swing at least this many σ (rms) within a window to be testable there. */
const MIN_AMPLITUDE = 2;
/**
 * Points a cycle needs to be tested: in a shorter one (a 15-minute CronJob at 1-minute
 * steps) a window is a handful of points, and one odd run is a spike or dip, which the
 * point detector reports as such.
 */
const MIN_PERIOD = 16;

export function seasonalBreaks(y: Float64Array, season: Season, sigma: number, uMin: number): Candidate[] {
  if (season.cycles < 3 || season.period < MIN_PERIOD || !(sigma > 0)) return [];
  const P = season.period;
  const len = Math.max(8, Math.floor(P / 2));
  const stride = Math.max(4, Math.floor(P / 4));
  const tested: { a: number; level: number; sMean: number; beta: number; z: number }[] = [];
  for (let a = 0; a + len <= y.length; a += stride) {
    let sum = 0;
    let cnt = 0;
    for (let i = a; i < a + len; i++) {
      if (Number.isNaN(y[i]!)) continue;
      sum += season.profile[i % P]!;
      cnt++;
    }
    if (cnt < len / 2) continue;
    const sMean = sum / cnt;
    // The level from a whole cycle around the window: a break covering most of the window must not set it.
    const mid = a + Math.floor(len / 2);
    const level = median(y.subarray(Math.max(0, mid - Math.floor(P / 2)), Math.min(y.length, mid + Math.ceil(P / 2))));
    // Least squares of (y - level) on the centred profile and a centred time term, so that a
    // drift across the window is not taken for a change in the cycle.
    const tMid = a + (len - 1) / 2;
    let ss = 0;
    let st = 0;
    let tt = 0;
    let sr = 0;
    let tr = 0;
    for (let i = a; i < a + len; i++) {
      const v = y[i]!;
      if (Number.isNaN(v)) continue;
      const sc = season.profile[i % P]! - sMean;
      const tc = i - tMid;
      ss += sc * sc;
      st += sc * tc;
      tt += tc * tc;
      sr += (v - level) * sc;
      tr += (v - level) * tc;
    }
    if (Math.sqrt(ss / cnt) < MIN_AMPLITUDE * sigma) continue;
    const det = ss * tt - st * st;
    if (!(det > 0)) continue;
    const beta = (sr * tt - tr * st) / det;
    // The profile's share of variance not explained by time, for the t-statistic.
    const ssPartial = det / tt;
    tested.push({ a, level, sMean, beta, z: (Math.abs(beta) * Math.sqrt(ssPartial)) / sigma });
  }
  // β is about 0 in most windows: its spread is measured around 0.
  const spread = robustScale(tested.map((w) => w.beta), 0, false);
  const hits: Candidate[] = [];
  for (const { a, level, sMean, beta, z } of tested) {
    const strength = Math.min(Math.abs(beta) / BREAK_BETA, z / BREAK_Z, Math.abs(beta) / spread / SHIFT_Z);
    if (!(strength >= uMin)) continue;
    // Mark the point that contributes most to β; there the values sit on the wrong side of the cycle.
    let at = a;
    let best = -Infinity;
    for (let i = a; i < a + len; i++) {
      const v = y[i]!;
      if (Number.isNaN(v)) continue;
      const c = (v - level) * (season.profile[i % P]! - sMean) * Math.sign(beta);
      if (c > best) {
        best = c;
        at = i;
      }
    }
    const up = y[at]! - level > 0;
    hits.push({ kind: 'seasonal_break', direction: up ? 'up' : 'down', at, from: a, to: a + len - 1, strength });
  }
  // Overlapping windows of one break become one event (the strongest window's peak).
  const out: Candidate[] = [];
  for (const h of hits) {
    const last = out[out.length - 1];
    if (last && h.from <= last.to) {
      last.to = h.to;
      if (h.strength > last.strength) {
        last.strength = h.strength;
        last.at = h.at;
        last.direction = h.direction;
      }
    } else out.push({ ...h });
  }
  return out;
}
