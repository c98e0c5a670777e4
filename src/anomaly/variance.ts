// Variance changes: the robust scale (MAD) of the residuals in consecutive blocks, compared
// with the typical block's (or, for a seasonal series with enough cycles, the typical block
// at the same phase, so busier hours are not called volatile). A run of blocks whose scale
// ratio passes the threshold is one event — more volatile (up) or suspiciously calm (down,
// e.g. a stuck value).
import { median, robustScale } from './stats.js';
import type { Candidate } from './types.js';

/** Scale ratio for "more volatile" at medium sensitivity. */
export const VAR_UP = 3;
/** Scale ratio for "calmer" at medium sensitivity. */
export const VAR_DOWN = 1 / 4;
/** Blocks a run needs. */
const MIN_RUN = 2;

/**
 * Block boundaries: starts of consecutive blocks of about `size` points, plus n at the end.
 * With a cycle of `period` points, blocks tile each cycle exactly (so block b and block
 * b + blocksPerCycle are at the same phase).
 */
export function blockBounds(n: number, size: number, period = 0): { bounds: Int32Array; perCycle: number } {
  const starts: number[] = [];
  let perCycle = 0;
  if (period > 0) {
    perCycle = Math.max(1, Math.round(period / size));
    for (let c = 0; c * period < n; c++) {
      for (let k = 0; k < perCycle; k++) {
        const s = c * period + Math.floor((k * period) / perCycle);
        if (s < n) starts.push(s);
      }
    }
  } else for (let s = 0; s < n; s += size) starts.push(s);
  starts.push(n);
  return { bounds: Int32Array.from(starts), perCycle };
}

/** Robust scale (see robustScale) of r around 0 in each block; NaN for blocks less than half present. */
export function blockScaleSeries(r: Float64Array, bounds: Int32Array): Float64Array {
  const out = new Float64Array(bounds.length - 1);
  for (let b = 0; b + 1 < bounds.length; b++) {
    const part = r.subarray(bounds[b]!, bounds[b + 1]!);
    let k = 0;
    for (const v of part) if (!Number.isNaN(v)) k++;
    out[b] = k < Math.max(5, part.length / 2) ? NaN : robustScale(part, 0);
  }
  return out;
}

/**
 * Typical scale per block: the median over all blocks or, with at least `minCycles` cycles,
 * over the blocks at the same and the two neighbouring phases in every cycle (busy hours are
 * noisier; the neighbours keep one odd block from setting its own reference).
 */
export function referenceScales(scales: Float64Array, perCycle: number, minCycles: number): Float64Array {
  const all = median(scales);
  const out = new Float64Array(scales.length).fill(all);
  const cycles = perCycle > 0 ? Math.floor(scales.length / perCycle) : 0;
  if (cycles < minCycles || perCycle < 3) return out;
  for (let p = 0; p < perCycle; p++) {
    const same: number[] = [];
    for (const q of [p - 1, p, p + 1]) {
      const ph = (q + perCycle) % perCycle;
      for (let b = ph; b < scales.length; b += perCycle) same.push(scales[b]!);
    }
    const m = median(same);
    if (!Number.isNaN(m)) for (let b = p; b < scales.length; b += perCycle) out[b] = m;
  }
  return out;
}

/**
 * Runs of at least MIN_RUN blocks whose scale ratio is ≥ VAR_UP^uMin or ≤ VAR_DOWN^uMin.
 * Strength is log(ratio)/log(threshold) of the run's median ratio, so 1 means at the threshold.
 */
export function varianceChanges(scales: Float64Array, ref: Float64Array, bounds: Int32Array, uMin: number): Candidate[] {
  const up = Math.pow(VAR_UP, uMin);
  const down = Math.pow(VAR_DOWN, uMin);
  const out: Candidate[] = [];
  let b = 0;
  while (b < scales.length) {
    const ratio = scales[b]! / ref[b]!;
    const dir = ratio >= up ? 1 : ratio <= down ? -1 : 0;
    if (!(ref[b]! > 0) || !Number.isFinite(ratio) || dir === 0) {
      b++;
      continue;
    }
    let e = b;
    const ratios: number[] = [];
    while (e < scales.length) {
      const r = scales[e]! / ref[e]!;
      if (Number.isFinite(r) && (dir > 0 ? r >= up : r <= down)) ratios.push(r);
      else break;
      e++;
    }
    if (e - b >= MIN_RUN) {
      const m = median(ratios);
      out.push({
        kind: 'variance_change',
        direction: dir > 0 ? 'up' : 'down',
        at: bounds[b]!,
        from: bounds[b]!,
        to: bounds[e]! - 1,
        strength: Math.log(m) / Math.log(dir > 0 ? VAR_UP : VAR_DOWN),
      });
    }
    b = Math.max(e, b + 1);
  }
  return out;
}
