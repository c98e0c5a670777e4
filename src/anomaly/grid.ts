// Puts a series on a regular time grid (missing points become NaN) so that "the same time
// yesterday" is a fixed number of points away. Prometheus range queries are regular already;
// inline data may be unsorted, duplicated or gappy.

export interface Grid {
  /** epoch ms of each point */
  t: Float64Array;
  /** values; NaN where a point is missing or not finite */
  x: Float64Array;
  /** ms between points (the median spacing of the input) */
  step: number;
  /** false when timestamps were too irregular for a grid: points are then in time order, one per slot */
  regular: boolean;
  /** points given with a finite value */
  present: number;
  /** points given with NaN or ±Inf (kept out of the analysis) */
  nonFinite: number;
}

/** Longest grid, relative to the number of points, before we give up on a regular grid. */
const MAX_STRETCH = 4;

export function toGrid(timestamps: ArrayLike<number>, values: ArrayLike<number>): Grid {
  const n = Math.min(timestamps.length, values.length);
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(timestamps[i]!)) order.push(i);
  let sorted = true;
  for (let i = 1; i < order.length; i++) if (timestamps[order[i]!]! < timestamps[order[i - 1]!]!) sorted = false;
  if (!sorted) order.sort((a, b) => timestamps[a]! - timestamps[b]! || a - b);
  // Duplicate timestamps: the later one given wins.
  const ts: number[] = [];
  const vs: number[] = [];
  for (const i of order) {
    const t = timestamps[i]!;
    if (ts.length > 0 && ts[ts.length - 1] === t) vs[vs.length - 1] = values[i]!;
    else {
      ts.push(t);
      vs.push(values[i]!);
    }
  }
  let nonFinite = 0;
  for (let i = 0; i < vs.length; i++) {
    if (!Number.isFinite(vs[i]!)) {
      vs[i] = NaN;
      nonFinite++;
    }
  }
  const present = vs.length - nonFinite;
  if (ts.length < 2) {
    return { t: Float64Array.from(ts), x: Float64Array.from(vs), step: 0, regular: true, present, nonFinite };
  }
  const diffs = new Float64Array(ts.length - 1);
  for (let i = 1; i < ts.length; i++) diffs[i - 1] = ts[i]! - ts[i - 1]!;
  diffs.sort();
  const step = diffs[diffs.length >> 1]!;
  const t0 = ts[0]!;
  const slots = Math.round((ts[ts.length - 1]! - t0) / step) + 1;
  if (slots > MAX_STRETCH * ts.length + 1000) {
    return { t: Float64Array.from(ts), x: Float64Array.from(vs), step, regular: false, present, nonFinite };
  }
  const t = new Float64Array(slots);
  const x = new Float64Array(slots).fill(NaN);
  for (let i = 0; i < slots; i++) t[i] = t0 + i * step;
  for (let i = 0; i < ts.length; i++) {
    const slot = Math.round((ts[i]! - t0) / step);
    // Two inputs rounding to one slot (jittered scrapes): keep a present value, the later one.
    if (!Number.isNaN(vs[i]!) || Number.isNaN(x[slot]!)) x[slot] = vs[i]!;
  }
  return { t, x, step, regular: true, present, nonFinite };
}

/**
 * Per-second rate of a cumulative counter (Prometheus semantics: a drop is a reset, after
 * which the new value is the increase). The first point is NaN; across a gap the rate is the
 * average over the gap.
 */
export function counterRate(g: Grid): Grid {
  const x = new Float64Array(g.x.length).fill(NaN);
  let prev = NaN;
  let prevT = NaN;
  for (let i = 0; i < g.x.length; i++) {
    const v = g.x[i]!;
    if (Number.isNaN(v)) continue;
    if (!Number.isNaN(prev)) {
      const inc = v >= prev ? v - prev : v;
      x[i] = inc / ((g.t[i]! - prevT) / 1000);
    }
    prev = v;
    prevT = g.t[i]!;
  }
  let present = 0;
  for (const v of x) if (!Number.isNaN(v)) present++;
  return { ...g, x, present };
}
