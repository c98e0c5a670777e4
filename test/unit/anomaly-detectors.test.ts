// Each detector on its own, on series built to contain exactly what it should find.
import { describe, expect, it } from 'vitest';
import { counterRate, toGrid } from '../../src/anomaly/grid.js';
import { changePoints } from '../../src/anomaly/level-shift.js';
import { pointAnomalies } from '../../src/anomaly/points.js';
import { seasonalBreaks } from '../../src/anomaly/seasonal-break.js';
import { DAY, deseasonalize, detectSeason, WEEK } from '../../src/anomaly/seasonal.js';
import { mad, median, quantile, quantileInPlace, robustScale, rollingMedian, runningUpperQuantile } from '../../src/anomaly/stats.js';
import { findDrift, mannKendall, theilSen } from '../../src/anomaly/trend.js';
import { blockBounds, blockScaleSeries, referenceScales, varianceChanges } from '../../src/anomaly/variance.js';
import { noise } from '../helpers/k8s-series.js';

const MIN = 60_000;

/** f(i) plus noise of standard deviation sd (a sum of 3 uniforms: close to Gaussian). */
function series(n: number, f: (i: number) => number, seed = 1, sd = 1): Float64Array {
  const r = noise(seed);
  return Float64Array.from({ length: n }, (_, i) => f(i) + sd * 2 * (r() + r() + r()));
}

describe('robust statistics', () => {
  it('rolling median matches a direct median for every window, skipping gaps', () => {
    const r = noise(5);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + Math.floor((r() + 0.5) * 80);
      const x = Float64Array.from({ length: n }, () => (r() < -0.35 ? NaN : Math.round((r() + 0.5) * 10)));
      const before = Math.floor((r() + 0.5) * 7);
      const after = Math.floor((r() + 0.5) * 7);
      const got = rollingMedian(x, before, after);
      for (let i = 0; i < n; i++) {
        const want = median(x.subarray(Math.max(0, i - before), Math.min(n, i + after + 1)));
        expect(Number.isNaN(want) ? Number.isNaN(got[i]!) : got[i]).toBe(Number.isNaN(want) ? true : want);
      }
    }
  });

  it('quickselect quantiles agree with sorting', () => {
    const r = noise(8);
    const v = Float64Array.from({ length: 1001 }, () => r());
    const sorted = Float64Array.from(v).sort();
    for (const q of [0, 0.1, 0.5, 0.995, 1]) {
      const pos = (v.length - 1) * q;
      const want = sorted[Math.floor(pos)]! + (sorted[Math.ceil(pos)]! - sorted[Math.floor(pos)]!) * (pos - Math.floor(pos));
      expect(quantileInPlace(Float64Array.from(v), q)).toBeCloseTo(want, 12);
    }
    expect(quantile([3, NaN, 1, 2], 0.5)).toBe(2);
  });

  it('the running upper quantile is the k-th largest of the history, k = max(minCount, share of it)', () => {
    const r = noise(9);
    const x = Float64Array.from({ length: 600 }, () => (r() < -0.4 ? NaN : Math.round(r() * 1000)));
    const got = runningUpperQuantile(x, 0.05, 3);
    const seen: number[] = [];
    for (let i = 0; i < x.length; i++) {
      if (seen.length === 0) expect(got[i]).toBeNaN();
      else {
        const k = Math.min(seen.length, Math.max(3, Math.ceil(0.05 * seen.length)));
        expect(got[i]).toBe([...seen].sort((a, b) => b - a)[k - 1]);
      }
      if (!Number.isNaN(x[i]!)) seen.push(x[i]!);
    }
  });

  it('MAD-based scale ignores outliers; the fallback keeps a lone event visible', () => {
    const x = series(2000, () => 0, 2, 1);
    const s = robustScale(x);
    expect(s).toBeGreaterThan(0.8);
    expect(s).toBeLessThan(1.2);
    x[10] = 1000;
    expect(robustScale(x)).toBeLessThan(1.2);
    // 0/1 series: one event stays far outside; frequent ones set the scale.
    const rare = new Float64Array(1000);
    rare[500] = 1;
    expect(mad(rare)).toBe(0);
    expect(1 / robustScale(rare)).toBeGreaterThan(100);
    const frequent = Float64Array.from({ length: 1000 }, (_, i) => (i % 40 === 0 ? 1 : 0));
    expect(1 / robustScale(frequent)).toBeLessThan(5);
  });
});

describe('grid', () => {
  it('sorts, drops duplicates, and marks gaps and non-finite values as missing', () => {
    const g = toGrid([3 * MIN, 0, MIN, 2 * MIN, MIN, 6 * MIN], [3, 0, 1, 2, 1.5, Infinity]);
    expect(g.step).toBe(MIN);
    expect(Array.from(g.t)).toEqual([0, 1, 2, 3, 4, 5, 6].map((k) => k * MIN));
    expect(Array.from(g.x).map((v) => (Number.isNaN(v) ? null : v))).toEqual([0, 1.5, 2, 3, null, null, null]);
    expect(g.present).toBe(4);
    expect(g.nonFinite).toBe(1);
  });

  it('turns a counter into a per-second rate across resets', () => {
    const g = counterRate(toGrid([0, MIN, 2 * MIN, 3 * MIN], [100, 160, 10, 70]));
    expect(Array.from(g.x).map((v) => (Number.isNaN(v) ? null : v))).toEqual([null, 1, 10 / 60, 1]);
  });
});

describe('Hampel point detector', () => {
  it('finds a spike and a dip with their peaks; clean noise gives nothing', () => {
    const y = series(1000, () => 100, 3);
    y[300] = 130;
    y[301] = 140;
    y[700] = 60;
    const base = rollingMedian(y, 15, 15);
    const scale = new Float64Array(1000).fill(robustScale(y.map((v, i) => v - base[i]!)));
    const got = pointAnomalies(y, base, scale, 1);
    expect(got.map((c) => [c.kind, c.direction, c.at, c.from, c.to])).toEqual([
      ['spike', 'up', 301, 300, 301],
      ['dip', 'down', 700, 700, 700],
    ]);
    const clean = series(1000, () => 100, 4);
    const cb = rollingMedian(clean, 15, 15);
    expect(pointAnomalies(clean, cb, new Float64Array(1000).fill(robustScale(clean.map((v, i) => v - cb[i]!))), 1)).toEqual([]);
  });
});

describe('MOSUM + CUSUM change points', () => {
  it('places an abrupt shift within a few points and calls it abrupt', () => {
    const y = series(1200, (i) => (i < 700 ? 50 : 58), 6);
    const cps = changePoints(y, 31, 1, 1);
    expect(cps).toHaveLength(1);
    expect(Math.abs(cps[0]!.at - 700)).toBeLessThanOrEqual(3);
    expect(cps[0]!.delta).toBeGreaterThan(6);
    expect(cps[0]!.abrupt).toBe(true);
  });

  it('calls a ramp gradual, and finds nothing in noise or in a single spike', () => {
    const ramp = series(1200, (i) => 50 + Math.min(20, Math.max(0, (i - 500) * 0.1)), 7);
    const cps = changePoints(ramp, 31, 1, 1);
    expect(cps.length).toBeGreaterThan(0);
    expect(cps.every((c) => !c.abrupt && c.delta > 0)).toBe(true);
    const flat = series(1200, () => 50, 8);
    flat[600] = 500;
    expect(changePoints(flat, 31, 1, 1)).toEqual([]);
  });

  it('finds a 0 → 1 step in a state series', () => {
    const y = Float64Array.from({ length: 2000 }, (_, i) => (i >= 1500 ? 1 : 0));
    const cps = changePoints(y, 41, 1e-12, 1);
    expect(cps.map((c) => [c.at, c.delta, c.abrupt])).toEqual([[1500, 1, true]]);
  });
});

describe('drift', () => {
  it('finds a drift that starts inside the series, with its onset and size', () => {
    const y = series(3000, (i) => 100 + Math.min(30, Math.max(0, (i - 1800) * 0.05)), 9);
    const d = findDrift(y, 25, 1, 1)!;
    expect(d).not.toBeNull();
    expect(Math.abs(d.onset - 1800)).toBeLessThan(60);
    expect(d.departure).toBeGreaterThan(25);
    expect(d.lineAt(2999)).toBeCloseTo(100, 0);
  });

  it('ignores a steady background trend and plain noise', () => {
    expect(findDrift(series(3000, (i) => 100 + i * 0.002, 10), 25, 1, 1)).toBeNull();
    expect(findDrift(series(3000, () => 100, 11), 25, 1, 1)).toBeNull();
  });

  it('Theil–Sen and Mann–Kendall see a monotone trend through outliers', () => {
    const v = Float64Array.from({ length: 50 }, (_, i) => i * 2 + (i === 20 ? 500 : 0));
    expect(theilSen(v)).toBeCloseTo(2, 6);
    const mk = mannKendall(v);
    expect(mk.z).toBeGreaterThan(5);
    expect(mk.p).toBeLessThan(1e-6);
  });
});

describe('variance changes', () => {
  it('finds a volatile stretch against the typical block scale', () => {
    const r = noise(12);
    const resid = Float64Array.from({ length: 2000 }, (_, i) => (i >= 1200 && i < 1400 ? 5 : 1) * (r() + r() + r()));
    const { bounds } = blockBounds(2000, 20);
    const scales = blockScaleSeries(resid, bounds);
    const got = varianceChanges(scales, referenceScales(scales, 0, 3), bounds, 1);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ kind: 'variance_change', direction: 'up' });
    expect(got[0]!.from).toBeGreaterThanOrEqual(1180);
    expect(got[0]!.to).toBeLessThanOrEqual(1420);
  });
});

describe('seasonality', () => {
  const step = 5 * MIN;
  const perDay = DAY / step;
  const shape = (i: number) => 100 * Math.max(0, Math.sin((((i % perDay) / perDay) * 24 - 7) / 14 * Math.PI));

  it('finds a daily cycle and removes it', () => {
    const x = series(5 * perDay, (i) => 200 + shape(i), 13, 3);
    const s = detectSeason(x, step)!;
    expect(s.periodMs).toBe(DAY);
    expect(s.cycles).toBe(5);
    expect(s.acf).toBeGreaterThan(0.9);
    const y = deseasonalize(x, s);
    expect(robustScale(y)).toBeLessThan(6);
  });

  it('prefers a weekly cycle when weekends differ, and finds none in noise', () => {
    const weekday = (i: number) => Math.floor(i / perDay) % 7 < 5;
    const x = series(21 * perDay, (i) => 200 + shape(i) * (weekday(i) ? 1 : 0.3), 14, 3);
    expect(detectSeason(x, step)!.periodMs).toBe(WEEK);
    expect(detectSeason(series(5 * perDay, () => 200, 15, 3), step)).toBeNull();
  });

  it('finds a day whose cycle did not happen', () => {
    const x = series(6 * perDay, (i) => 200 + (i >= 3 * perDay && i < 4 * perDay ? 0 : shape(i)), 16, 3);
    const s = detectSeason(x, step)!;
    const got = seasonalBreaks(deseasonalize(x, s), s, 3, 1);
    expect(got.length).toBeGreaterThan(0);
    expect(got[0]).toMatchObject({ kind: 'seasonal_break', direction: 'down' });
    expect(got[0]!.at).toBeGreaterThanOrEqual(3 * perDay);
    expect(got[0]!.at).toBeLessThan(4 * perDay);
  });
});
