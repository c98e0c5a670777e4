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
 * Block scales with the part explained by the level taken out: counts (Poisson noise grows
 * as √level) and latencies (noise proportional to the level) get noisier when they rise,
 * which is a level change, not a volatility change. The exponent β of scale ∝ level^β is
 * fitted over the blocks (Theil–Sen on logs, clamped to 0-1); for series that can be
 * negative, or where levels hardly vary, nothing is taken out.
 */
export function levelAdjustedScales(scales: Float64Array, levels: Float64Array): Float64Array {
  const pairs: [number, number][] = [];
  let min = Infinity;
  for (let b = 0; b < scales.length; b++) {
    const l = levels[b]!;
    if (l < min) min = l;
    if (l > 0 && scales[b]! > 0) pairs.push([Math.log(l), Math.log(scales[b]!)]);
  }
  if (!(min >= 0) || pairs.length < 8) return scales;
  pairs.sort((a, b) => a[0] - b[0]);
  const lx = pairs.map((p) => p[0]);
  if (lx[lx.length - 1]! - lx[0]! < Math.log(1.5)) return scales;
  // Theil–Sen of log scale on log level, on up to 200 evenly spaced blocks to bound the cost.
  const stride = Math.max(1, Math.floor(pairs.length / 200));
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = 0; k < pairs.length; k += stride) {
    xs.push(pairs[k]![0]);
    ys.push(pairs[k]![1]);
  }
  const beta = Math.max(0, Math.min(1, slopeOf(xs, ys)));
  if (beta === 0) return scales;
  const ref = median(levels);
  return scales.map((sc, b) => (levels[b]! > 0 && ref > 0 ? sc / Math.pow(levels[b]! / ref, beta) : sc));
}

/** Theil–Sen slope of y on x. */
function slopeOf(xs: number[], ys: number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) if (xs[j]! > xs[i]!) slopes.push((ys[j]! - ys[i]!) / (xs[j]! - xs[i]!));
  return slopes.length === 0 ? 0 : median(slopes);
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
 * `raw` are the block scales in value units (before any level adjustment): the run's median
 * of them is the observed noise, and that divided by the ratio the usual noise.
 */
export function varianceChanges(scales: Float64Array, ref: Float64Array, bounds: Int32Array, uMin: number, raw: Float64Array = scales): Candidate[] {
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
      const observed = median(raw.subarray(b, e));
      // A dead-calm run (scale 0: zeros, a stuck value, a smooth stretch) has ratio 0, which
      // says nothing about the usual noise: take the reference itself (value units at the median level).
      const usual = m > 0 ? observed / m : median(ref.subarray(b, e));
      out.push({
        kind: 'variance_change',
        direction: dir > 0 ? 'up' : 'down',
        at: bounds[b]!,
        from: bounds[b]!,
        to: bounds[e]! - 1,
        strength: Math.log(m) / Math.log(dir > 0 ? VAR_UP : VAR_DOWN),
        noise: { observed, usual },
      });
    }
    b = Math.max(e, b + 1);
  }
  return out;
}
