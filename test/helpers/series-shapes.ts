// fast-check arbitraries for the series shapes real metrics take and detect_anomaly must
// survive (issue 15): mostly zero, constant, near-constant, smooth or rounded cycles, steps,
// negative, 1e6-scale, one huge outlier; sampled regularly, with holes, unevenly, with
// duplicate timestamps or out of order.
import fc from 'fast-check';

export interface ShapedSeries {
  /** how it was made, for failure messages */
  shape: string;
  /** unix seconds */
  t: number[];
  values: number[];
}

const T0 = Date.UTC(2026, 0, 20) / 1000;

/** A small deterministic generator, so one fast-check seed is one series. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

type ValueShape = 'constant' | 'near_constant' | 'noise' | 'sine' | 'rounded_sine' | 'mostly_zero' | 'half_zero' | 'steps' | 'counts';
const VALUE_SHAPES: ValueShape[] = ['constant', 'near_constant', 'noise', 'sine', 'rounded_sine', 'mostly_zero', 'half_zero', 'steps', 'counts'];

function valueAt(shape: ValueShape, i: number, r: () => number, period: number): number {
  switch (shape) {
    case 'constant':
      return 7;
    case 'near_constant':
      return 7 + (r() < 0.02 ? 1e-9 : 0);
    case 'noise':
      return 50 + 10 * (r() + r() + r() - 1.5);
    case 'sine':
      return 10 * Math.sin(i / period);
    case 'rounded_sine':
      return Math.round(10 * Math.sin(i / period));
    case 'mostly_zero':
      return r() < 0.8 ? 0 : Math.round(1000 * r()) / 10;
    case 'half_zero':
      return r() < 0.5 ? 0 : 1 + Math.floor(5 * r());
    case 'steps':
      return Math.floor(i / (period * 3)) % 3;
    case 'counts':
      return Math.floor(3 * r() * r());
  }
}

type TimeShape = 'regular' | 'holes' | 'uneven' | 'duplicates' | 'shuffled';
const TIME_SHAPES: TimeShape[] = ['regular', 'holes', 'uneven', 'duplicates', 'shuffled'];

/** n sample times at `step` seconds: with holes of 2-10 steps, uneven spacing, repeats or out of order. */
function timesFor(shape: TimeShape, n: number, step: number, r: () => number): number[] {
  const t: number[] = [];
  let now = T0;
  for (let i = 0; i < n; i++) {
    t.push(now);
    if (shape === 'duplicates' && r() < 0.1) continue; // the next sample repeats this time
    let gap = step;
    if (shape === 'holes' && r() < 0.08) gap = step * (2 + Math.floor(9 * r()));
    if (shape === 'uneven') gap = Math.max(1, Math.round(step * (0.3 + 1.4 * r())));
    now += gap;
  }
  if (shape === 'shuffled') for (let i = t.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [t[i], t[j]] = [t[j]!, t[i]!];
  }
  return t;
}

export const seriesShape: fc.Arbitrary<ShapedSeries> = fc
  .record({
    values: fc.constantFrom(...VALUE_SHAPES),
    times: fc.constantFrom(...TIME_SHAPES),
    n: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 60, max: 2500 })),
    step: fc.constantFrom(15, 60, 300, 600, 3600),
    period: fc.constantFrom(3, 20, 60, 288),
    scale: fc.constantFrom(1, -1, 1e6, 1e-6),
    offset: fc.constantFrom(0, -100, 1e6),
    outlier: fc.option(fc.constantFrom(1e12, -1e12, 1e300), { freq: 4 }),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })
  .map((p) => {
    const r = rng(p.seed);
    const values = Array.from({ length: p.n }, (_, i) => p.offset + p.scale * valueAt(p.values, i, r, p.period));
    if (p.outlier !== null) values[Math.floor(r() * p.n)] = p.outlier;
    const shape = `${p.values}/${p.times} n=${p.n} step=${p.step}s period=${p.period} scale=${p.scale} offset=${p.offset} outlier=${p.outlier} seed=${p.seed}`;
    return { shape, t: timesFor(p.times, p.n, p.step, r), values };
  });

/** [time, value] pairs as agents send them (values as strings, the declared type). */
export function pairs(s: ShapedSeries): [number, string][] {
  return s.t.map((t, i) => [t, String(s.values[i])]);
}

/** Paths of the numbers in `o` that are not finite (NaN, ±Infinity): none in any result. */
export function nonFinitePaths(o: unknown, path = ''): string[] {
  if (typeof o === 'number') return Number.isFinite(o) ? [] : [`${path}=${o}`];
  if (o && typeof o === 'object') return Object.entries(o).flatMap(([k, v]) => nonFinitePaths(v, path ? `${path}.${k}` : k));
  return [];
}
