// Regular periodic workloads (a CronJob's bursts, a sawtooth) are the series' normal shape:
// the cycle is found from the data, narrow recurring peaks stay in its profile, and only a
// departure from them is reported.
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/anomaly/detect.js';
import { findPeriods } from '../../src/anomaly/seasonal.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 20);

function series(n: number, f: (i: number) => number, seed = 11): { t: number[]; v: number[] } {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const t: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < n; i++) {
    t.push(T0 + i * MIN);
    v.push(f(i) + 5 * (rnd() - 0.5)); // noise ±2.5
  }
  return { t, v };
}

const cron = (every: number, len: number) => (i: number) => 100 + (i % every < len ? 80 : 0);
const DAYS3 = 3 * 1440;

describe('periodic workloads', () => {
  it.each([
    ['hourly cron (3 min at +80)', cron(60, 3)],
    ['15-minute cron (2 min at +80)', cron(15, 2)],
    ['97-minute sawtooth', (i: number) => 500 + 3 * (i % 97)],
  ])('%s over 3 days: nothing reported at medium or low sensitivity', (_, f) => {
    const { t, v } = series(DAYS3, f);
    for (const sensitivity of ['medium', 'low'] as const) {
      const a = analyze(t, v, { sensitivity });
      expect(a.season, sensitivity).not.toBeNull();
      expect(a.anomalies.length, `${sensitivity}: ${JSON.stringify(a.anomalies.slice(0, 3))}`).toBeLessThanOrEqual(1);
    }
  });

  it('finds a period that is not an hour, a day or a week from the autocorrelation', () => {
    const { v } = series(DAYS3, (i) => 500 + 3 * (i % 97));
    expect(findPeriods(Float64Array.from(v))).toContain(97);
    const a = analyze(...Object.values(series(DAYS3, (i) => 500 + 3 * (i % 97))) as [number[], number[]]);
    expect(a.season?.periodMs).toBe(97 * MIN);
  });

  it.each([
    ['hourly', cron(60, 3)],
    ['15-minute', cron(15, 2)],
  ])('a real spike in a %s cron series is still found, between runs and on a run', (_, f) => {
    const quiet = 1537; // between runs of either (37 min past the hour): normally at the base level
    const onRun = 3000; // a run (i % 60 === 0, i % 15 === 0) twice its usual height
    const { t, v } = series(DAYS3, (i) => f(i) + (i === quiet ? 40 : 0) + (i === onRun ? 80 : 0));
    const a = analyze(t, v);
    const spikes = a.anomalies.filter((x) => x.kind === 'spike').map((x) => (x.at - T0) / MIN);
    expect(spikes).toContain(quiet);
    expect(spikes).toContain(onRun);
    expect(a.anomalies.length).toBeLessThanOrEqual(3);
  });

  it('a level shift in a sawtooth is found', () => {
    const { t, v } = series(DAYS3, (i) => 500 + 3 * (i % 97) + (i >= 2500 ? 60 : 0));
    const a = analyze(t, v);
    expect(a.anomalies[0]).toMatchObject({ kind: 'level_shift', direction: 'up' });
    expect(Math.abs((a.anomalies[0]!.at - T0) / MIN - 2500)).toBeLessThanOrEqual(5);
  });
});
