// The `auto` pipeline on Kubernetes-shaped series (what the fixture Prometheus holds):
// each injected event found with the right kind, time and direction, nothing else of note.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze, MIN_POINTS, minStrength, scoreOf, type Analysis } from '../../src/anomaly/detect.js';
import { explain, formatValue, formatValues, ratioText } from '../../src/anomaly/explain.js';
import { gaussian, kubernetesFixture, MIN, noise } from '../helpers/k8s-series.js';
import { makeWorld, memory, podByName } from '../../tools/fixture/world.js';
import { ROOT } from '../helpers/server.js';

const f = kubernetesFixture(4);
const near = (t: number, i: number, minutes: number) => Math.abs(t - f.t[i]!) <= minutes * MIN;
const strong = (a: Analysis) => a.anomalies.filter((x) => x.score >= 0.8);

describe('analyze on Kubernetes series', () => {
  it('CPU rate with a daily cycle: the spike, and only the spike', () => {
    const a = analyze(f.t, f.cpu);
    expect(a.season?.periodMs).toBe(86_400_000);
    expect(a.anomalies).toHaveLength(1);
    expect(a.anomalies[0]).toMatchObject({ kind: 'spike', direction: 'up' });
    expect(near(a.anomalies[0]!.at, f.events.cpuSpike, 4)).toBe(true);
    // Expected is the usual afternoon level, not the night's.
    expect(a.anomalies[0]!.expected).toBeGreaterThan(0.9);
  });

  it('memory working set: the spike, the leak and the OOM kill', () => {
    const a = analyze(f.t, f.memory);
    const spike = a.anomalies.find((x) => x.kind === 'spike')!;
    expect(near(spike.at, f.events.memorySpike, 2)).toBe(true);
    expect(spike.value - spike.expected).toBeGreaterThan(300e6);
    const leak = a.anomalies.find((x) => x.kind === 'trend')!;
    expect(leak.direction).toBe('up');
    expect(near(leak.at, f.events.oomKill - 600, 60)).toBe(true);
    const kill = a.anomalies.find((x) => x.kind === 'level_shift')!;
    expect(kill.direction).toBe('down');
    expect(near(kill.at, f.events.oomKill, 3)).toBe(true);
    expect(strong(a).map((x) => x.kind).sort()).toEqual(['level_shift', 'spike', 'trend']);
  });

  it('a 0/1 OOMKilled series: the step up at the kill', () => {
    const a = analyze(f.t, f.oomKilled);
    expect(a.anomalies).toHaveLength(1);
    expect(a.anomalies[0]).toMatchObject({ kind: 'level_shift', direction: 'up', value: 1, expected: 0 });
    expect(near(a.anomalies[0]!.at, f.events.oomKill, 1)).toBe(true);
  });

  it('a restart counter: the storm as one burst of its rate, and the OOM restart', () => {
    const a = analyze(f.t, f.restarts, { counter: true });
    expect(a.rate).toBe(true);
    expect(a.anomalies.map((x) => x.kind)).toEqual(['spike', 'spike']);
    const [storm, kill] = [...a.anomalies].sort((x, y) => x.at - y.at);
    expect(near(storm!.from, f.events.stormFrom, 1)).toBe(true);
    expect(near(storm!.to, f.events.stormTo, 6)).toBe(true);
    expect(near(kill!.at, f.events.oomKill, 1)).toBe(true);
    // As raw counts the storm is a rise of the counter.
    const raw = analyze(f.t, f.restarts);
    expect(raw.anomalies.some((x) => x.direction === 'up' && near(x.at, f.events.stormFrom, 15))).toBe(true);
  });
});

describe('analyze on one day of data', () => {
  // As a 24h query at 1m sees it: a daily cycle that cannot be learnt from one day.
  const day = (edit: (i: number, v: number) => number) => {
    const r = noise(21);
    const t: number[] = [];
    const v: number[] = [];
    for (let i = 0; i <= 1440; i++) {
      t.push(i * MIN);
      v.push(edit(i, 377e6 * (1 + 0.1 * Math.sin((2 * Math.PI * (i / 60 + 0.33)) / 24)) * (1 + 0.01 * r())));
    }
    return { t, v };
  };

  it('a 15-minute spike (longer than half the window) is one spike, expected at the level before it', () => {
    const { t, v } = day((i, x) => (i >= 1075 && i < 1090 ? 915e6 : x));
    const a = analyze(t, v);
    expect(a.anomalies).toHaveLength(1);
    expect(a.anomalies[0]).toMatchObject({ kind: 'spike', direction: 'up', at: 1075 * MIN, from: 1075 * MIN, to: 1089 * MIN });
    expect(a.anomalies[0]!.expected).toBeLessThan(420e6);
  });

  it('the fixture\'s 15-minute memory spike is one spike at whatever hour it falls, on a rising or falling day', () => {
    // what detect_anomaly sees of the fixture Prometheus: a 24h range at 30s steps of samples taken each minute
    for (let hour = 0; hour < 24; hour++) {
      const w = makeWorld(Date.UTC(2026, 11, 1, hour, 41));
      const p = podByName(w, w.events.spike.pod);
      const t: number[] = [];
      const v: number[] = [];
      for (let x = Math.ceil((w.now - 30 - 86_400) / 30) * 30; x <= w.now - 30; x += 30) {
        t.push(x * 1000);
        v.push(memory(w, p, Math.floor(x / 60) * 60));
      }
      const top = analyze(t, v).anomalies[0]!;
      expect(top, `hour ${hour}`).toMatchObject({ kind: 'spike', direction: 'up', at: w.events.spike.start * 1000 });
      expect(top.to, `hour ${hour}`).toBeLessThan(w.events.spike.end * 1000);
    }
  });

  it('the daily cycle alone is not called a drift', () => {
    const { t, v } = day((_i, x) => x);
    expect(analyze(t, v).anomalies).toEqual([]);
  });

  it('a burst of restarts stands out even when it is ~1% of the points', () => {
    const { t } = day((_i, x) => x);
    let count = 0;
    const restarts = t.map((_x, i) => (i >= 1000 && i < 1060 && i % 5 === 0 ? ++count : count));
    const a = analyze(t, restarts, { counter: true });
    expect(a.anomalies).toHaveLength(1);
    expect(a.anomalies[0]).toMatchObject({ kind: 'spike', from: 1000 * MIN });
  });
});

describe('analyze edge cases', () => {
  const t = Array.from({ length: 200 }, (_, i) => i * MIN);

  it('too little history and flat series are answered as such', () => {
    const short = analyze(t.slice(0, 12), t.slice(0, 12).map(() => 1));
    expect(short).toMatchObject({ status: 'insufficient_data', points: 12, anomalies: [] });
    expect(explain(short, { shown: 0 })).toBe(`Not enough history: 12 points, need ${MIN_POINTS}. Widen the range or use a smaller step.`);
    const gappy = analyze(t, t.map((_, i) => (i % 10 === 0 ? 5 : NaN)));
    expect(gappy.status).toBe('insufficient_data');
    expect(gappy.points).toBe(20);
    const flat = analyze(t, t.map(() => 0));
    expect(flat).toMatchObject({ status: 'flat', flatValue: 0, anomalies: [], score: 0 });
    expect(explain(flat, { shown: 0 })).toMatch(/^Flat: all 200 points equal 0/);
  });

  it('a burst the series has made before is routine; the first ones and a bigger one are not', () => {
    // quiet noise, then from a quarter on a 5-point burst of +20σ every 100-200 points (28 in
    // all, 3% of the points), and near the end one of +200σ
    const r = noise(11);
    const n = 6000;
    const tt = Array.from({ length: n }, (_, i) => i * MIN);
    const starts = new Set<number>();
    for (let i = 1500; i < 5400; i += 100 + Math.floor((r() + 0.5) * 100)) starts.add(i);
    const burst = (i: number) => [0, 1, 2, 3, 4].some((d) => starts.has(i - d));
    const v = tt.map((_, i) => 100 + 2 * (r() + r() + r()) + (burst(i) ? 40 : 0) + (i >= 5500 && i < 5505 ? 400 : 0));
    const onsets = analyze(tt, v).anomalies.filter((a) => a.kind === 'spike').map((a) => Math.round(a.from / MIN));
    expect(starts.size).toBe(28);
    expect(onsets).toContain(1500);
    expect(onsets).toContain(5500);
    // once 20 burst points are history (4 bursts), the rest are within what the series does;
    // the look at 4-point averages learns it from 20 of its own points, a burst or two later
    expect(onsets.filter((i) => starts.has(i)).length).toBeLessThanOrEqual(6);
  });

  it('a bump in a low count, lost point by point, is found in averages over a few points', () => {
    // mentions per 5 minutes: about 2, in single digits; for an hour, about 4 more each time
    let s = 9;
    const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
    const poisson = (mean: number) => {
      let k = 0;
      for (let p = Math.exp(-mean), q = rnd(); q > p; q *= rnd()) k++;
      return k;
    };
    const step = 5 * MIN;
    const tt = Array.from({ length: 4000 }, (_, i) => i * step);
    const v = tt.map((_, i) => poisson(i >= 3000 && i < 3012 ? 6 : 2));
    const found = analyze(tt, v).anomalies.filter((a) => a.kind === 'spike' && Math.abs(a.from - 3000 * step) <= 12 * step);
    expect(found).toHaveLength(1);
    expect(found[0]!.value).toBeGreaterThan(found[0]!.expected);
  });

  it('hourly data with calm nights: a night-time burst of a routine daytime size is found', () => {
    // a cost per hour: 0.5 by day, 0.1 at night, noise 10% of the level; one night point at 0.2
    // (+2 day-time σ, +10 night-time σ). One noise block spans most of a day at hourly steps.
    const r = noise(5);
    const hour = 60 * MIN;
    const tt = Array.from({ length: 60 * 24 }, (_, i) => i * hour);
    const level = (i: number) => (i % 24 >= 8 && i % 24 < 20 ? 0.5 : 0.1);
    const burst = 40 * 24 + 2;
    const v = tt.map((_, i) => (i === burst ? 0.2 : level(i) * (1 + 0.2 * (r() + r() + r()))));
    const found = analyze(tt, v).anomalies.filter((a) => a.kind === 'spike');
    expect(found.map((a) => Math.round(a.at / hour))).toEqual([burst]);
  });

  it('sensitivity moves the threshold: high finds at least what medium finds, low at most', () => {
    const counts = (['low', 'medium', 'high'] as const).map((s) => analyze(f.t, f.memory, { sensitivity: s }).anomalies.length);
    expect(counts[0]).toBeLessThanOrEqual(counts[1]!);
    expect(counts[1]).toBeLessThanOrEqual(counts[2]!);
    expect(analyze(f.t, f.memory, { sensitivity: 0.99 }).anomalies.every((x) => x.score >= 0.99)).toBe(true);
    expect(scoreOf(minStrength('medium'))).toBeCloseTo(0.5, 3);
  });

  it('a sensitivity below medium keeps every anomaly medium reports, with its band drawn at that sensitivity', () => {
    // Two spikes with points between them above high's threshold but below medium's: at high alone
    // they ran together into one burst, and the weaker spike medium reports was lost.
    const r = noise(7);
    const v = t.map(() => 100 + r()).concat(Array.from({ length: 400 }, () => 100 + r()));
    const ts = v.map((_, i) => i * MIN);
    [2.4, 1.7, 1.7, 1.7, 4].forEach((d, k) => (v[300 + k]! += d));
    const medium = analyze(ts, v, { sensitivity: 'medium' }).anomalies;
    const high = analyze(ts, v, { sensitivity: 'high' }).anomalies;
    expect(medium).toHaveLength(2);
    const k = minStrength('high') / minStrength('medium');
    for (const m of medium) {
      const h = high.find((x) => x.from === m.from && x.to === m.to);
      expect(h).toMatchObject({ kind: m.kind, at: m.at, score: m.score, expected: m.expected });
      expect(h!.band[1] - h!.expected).toBeCloseTo((m.band[1] - m.expected) * k, 6);
      expect(h!.expected - h!.band[0]).toBeCloseTo((m.expected - m.band[0]) * k, 6);
    }
  });

  it('method picks the detectors', () => {
    const shifts = analyze(f.t, f.memory, { method: 'level_shift' });
    expect(shifts.detectors).toEqual(['mosum_cusum']);
    expect(shifts.anomalies.every((x) => ['level_shift', 'trend', 'spike', 'dip'].includes(x.kind))).toBe(true);
    const robust = analyze(f.t, f.memory, { method: 'robust' });
    expect(robust.detectors).toEqual(['hampel']);
    expect(robust.anomalies.every((x) => x.kind === 'spike' || x.kind === 'dip')).toBe(true);
  });

  it('says how far a dip may go, and where in its cycle a break is', () => {
    const base: Analysis = { ...analyze(f.t, f.cpu), anomalies: [] };
    const day = 86_400_000;
    const dip = { kind: 'dip' as const, direction: 'down' as const, at: f.t[100]!, from: f.t[100]!, to: f.t[100]!, value: 50, expected: 100, band: [92.1, 107.9] as [number, number], score: 0.9 };
    const text = (an: Analysis['anomalies'][number], periodMs = day) =>
      explain({ ...base, season: { periodMs, acf: 0.8, cycles: 7 }, anomalies: [an] }, { shown: 5 });
    expect(text(dip)).toContain('a dip to 50 at ');
    expect(text(dip)).toContain('(expected about 100, normal down to 92.1)');
    expect(text({ ...dip, kind: 'spike', direction: 'up', value: 150 })).toContain('normal up to 108)');
    // a daily cycle broken for two days is still compared with this time of day
    const brk = { ...dip, kind: 'seasonal_break' as const, to: dip.from + 2 * day };
    expect(text(brk)).toMatch(/where this time of day is usually about 100, lasting 2d/);
    expect(text(brk, 7 * day)).toMatch(/where this time of the week is usually about 100/);
  });

  it('names every cycle the same way in the comparison and at a break', () => {
    const base: Analysis = { ...analyze(f.t, f.cpu), anomalies: [] };
    const [hour, day, week] = [3_600_000, 86_400_000, 7 * 86_400_000];
    const brk = { kind: 'seasonal_break' as const, direction: 'down' as const, at: f.t[100]!, from: f.t[100]!, to: f.t[100]!, value: 50, expected: 100, band: [92.1, 107.9] as [number, number], score: 0.9 };
    const text = (periodMs: number) => explain({ ...base, season: { periodMs, acf: 0.8, cycles: 7 }, anomalies: [brk] }, { shown: 5 });
    expect(text(hour)).toContain('the other 6 hours (an hourly cycle was found)');
    expect(text(hour)).toContain('where this minute of the hour is usually about 100');
    expect(text(day)).toContain('the other 6 days (a daily cycle was found)');
    expect(text(week)).toContain('the other 6 weeks (a weekly cycle was found)');
    // a period without a name is named by its length
    expect(text(12 * hour)).toContain('the other 6 cycles (a 12h cycle was found)');
    expect(text(12 * hour)).toContain('where this point of the 12h cycle is usually about 100');
  });

  it('formats values with units', () => {
    expect(formatValue(1.5 * 1024 ** 3, 'bytes')).toBe('1.5 GiB');
    expect(formatValue(0.25, 'seconds')).toBe('250 ms');
    expect(formatValue(12_400)).toBe('12.4k');
    expect(formatValue(0.000123)).toBe('1.23e-4');
  });

  it('prints numbers side by side with the digits it takes to tell them apart, and no more', () => {
    expect(formatValues([3_920_400, 3_920_000])).toEqual(['3.9204M', '3.92M']);
    expect(formatValues([912 * 2 ** 20, 394 * 2 ** 20], 'bytes')).toEqual(['912 MiB', '394 MiB']);
    expect(formatValues([0.2501, 0.25], 'seconds')).toEqual(['250.1 ms', '250 ms']);
    expect(formatValues([5, 5])).toEqual(['5', '5']);
    expect(formatValues([1 + 2 ** -52, 1])).toEqual(['1.0000000000000002', '1']);
  });

  it('writes a noise ratio at the largest double without "Infinity"', () => {
    // roundedRatio caps an overflowing ratio (a 1e300 outlier over 1e-6 noise) at Number.MAX_VALUE,
    // which rounds up past it at 2 significant digits.
    expect(ratioText(Number.MAX_VALUE)).toBe('1.8e+308x');
    expect(ratioText(3.456)).toBe('3.5x');
  });
});

describe('a change in volatility is reported as noise against usual noise', () => {
  it('gives the observed and usual σ, the ratio and the band of normal σ, in the fields and the text', () => {
    const gauss = gaussian(3);
    const t: number[] = [];
    const v: number[] = [];
    for (let i = 0; i < 2000; i++) {
      t.push(Date.UTC(2026, 0, 20) + i * MIN);
      v.push(50 + (i >= 1000 && i < 1200 ? 4 : 1) * gauss()); // σ 1, then 4 for 200 minutes
    }
    const a = analyze(t, v);
    const vc = a.anomalies.find((x) => x.kind === 'variance_change')!;
    expect(vc).toMatchObject({ direction: 'up' });
    expect(vc.expected).toBeGreaterThan(0.7);
    expect(vc.expected).toBeLessThan(1.4);
    expect(vc.value).toBeGreaterThan(3);
    expect(vc.value).toBeLessThan(5.5);
    expect(vc.ratio).toBeGreaterThan(3);
    expect(vc.ratio).toBeCloseTo(vc.value / vc.expected, 1);
    expect(vc.band[0]).toBeLessThan(vc.expected);
    expect(vc.band[1]).toBeGreaterThan(vc.expected);
    expect(vc.band[1]).toBeLessThan(vc.value);
    const text = explain(a, { shown: 5 });
    expect(text).toMatch(/unusually volatile from [^;]*: noise ±\d[\d.]* where ±\d[\d.]* is usual \(\d[\d.]*x usual\)/);
  });

  it('a stretch no more volatile than an earlier one is routine; a more volatile one is reported', () => {
    const gauss = gaussian(7);
    const t: number[] = [];
    const e: number[] = [];
    for (let i = 0; i < 3000; i++) {
      t.push(Date.UTC(2026, 0, 20) + i * MIN);
      e.push(gauss());
    }
    // σ 1, with 100 minutes at σ 5 twice, then a third stretch at σ 5 (routine by then) or at σ 25
    const volatile = (i: number) => (i >= 600 && i < 700) || (i >= 1400 && i < 1500);
    const withLast = (last: number) => e.map((x, i) => 50 + (volatile(i) ? 5 : i >= 2200 && i < 2300 ? last : 1) * x);
    const changes = (v: number[]) => analyze(t, v).anomalies.filter((x) => x.kind === 'variance_change');
    const routine = changes(withLast(5));
    const first = routine.find((x) => Math.abs(x.from - t[600]!) <= 40 * MIN)!;
    expect(first.score).toBeGreaterThan(0.6);
    // the repeats are judged against the first: at most just past it (their σ is estimated, so a little above or below)
    for (const x of routine.filter((y) => y !== first)) expect(x.score).toBeLessThan(0.56);
    const beyond = changes(withLast(25)).find((x) => Math.abs(x.from - t[2200]!) <= 40 * MIN);
    expect(beyond).toMatchObject({ direction: 'up' });
    expect(beyond!.score).toBeGreaterThan(0.8);
    // its band of normal noise is raised to the strongest earlier stretch's
    expect(beyond!.band[1]).toBeGreaterThan(first.value);
    expect(beyond!.band[1]).toBeLessThan(beyond!.value);
  });

  it('a quieter stretch is not reported; a value that stops moving is', () => {
    const gauss = gaussian(5);
    const t: number[] = [];
    const quiet: number[] = [];
    const stuck: number[] = [];
    for (let i = 0; i < 2000; i++) {
      t.push(Date.UTC(2026, 0, 20) + i * MIN);
      const e = gauss();
      quiet.push(50 + (i >= 1000 && i < 1200 ? 0.2 : 1) * e); // σ 1, then 0.2 for 200 minutes
      stuck.push(i >= 1000 && i < 1200 ? 50 : 50 + e); // the exporter repeats its last value
    }
    expect(analyze(t, quiet).anomalies.filter((x) => x.kind === 'variance_change')).toEqual([]);
    const vc = analyze(t, stuck).anomalies.find((x) => x.kind === 'variance_change');
    expect(vc).toMatchObject({ direction: 'down', score: 1 });
    expect(Math.abs(vc!.from - t[1000]!)).toBeLessThanOrEqual(40 * MIN);
  });
});

describe('a burst like recent ones is routine', () => {
  // σ 1 around 100 at 1-minute steps, with bursts added (minute → height)
  const series = (burst: Map<number, number>) => {
    const gauss = gaussian(9);
    const t: number[] = [];
    const v: number[] = [];
    for (let i = 0; i < 5000; i++) {
      t.push(Date.UTC(2026, 0, 20) + i * MIN);
      v.push(100 + gauss() + (burst.get(i) ?? 0));
    }
    return new Map(analyze(t, v).anomalies.map((a) => [Math.round((a.at - t[0]!) / MIN), a.score]));
  };

  it('reports equal bursts that recur only at first, and a larger one among them', () => {
    // +30 every 150 minutes from minute 1000, and +90 at minute 4500
    const burst = new Map<number, number>();
    for (let i = 1000; i < 5000; i += 150) burst.set(i, 30);
    burst.set(4500, 90);
    const scoreAt = series(burst);
    for (const i of [1000, 1150]) expect(scoreAt.get(i)).toBeGreaterThan(0.9);
    // later equal bursts are at most just past two recent ones (their noise decides which)
    for (const [i, h] of burst) if (i > 1150 && h === 30) expect(scoreAt.get(i) ?? 0).toBeLessThan(0.7);
    expect(scoreAt.get(4500)).toBeGreaterThan(0.85);
  });

  it('counts earlier bursts, not their points: one long burst does not make the next one routine', () => {
    // a 6-minute burst of +30 at minute 1000, then a 1-minute one as high at minute 1300
    const burst = new Map<number, number>();
    for (let i = 1000; i < 1006; i++) burst.set(i, 30);
    burst.set(1300, 30);
    expect(series(burst).get(1300)).toBeGreaterThan(0.9);
  });
});

describe('expected values an agent can believe', () => {
  it("keeps a drift's expected value within the range the series has shown (a cost never below 0.027)", () => {
    // NAB's exchange-2 cost per click: at high sensitivity a drift is found whose pre-drift
    // line, extended, ran below zero ("0.156, expected -0.132")
    const rows = readFileSync(join(ROOT, 'tools/nab/data/realAdExchange/exchange-2_cpc_results.csv'), 'utf8').trim().split('\n').slice(1);
    const t = rows.map((r) => Date.parse(`${r.split(',')[0]!.replace(' ', 'T')}Z`));
    const v = rows.map((r) => Number(r.split(',')[1]));
    const drifts = analyze(t, v, { sensitivity: 'high' }).anomalies.filter((a) => a.kind === 'trend');
    expect(drifts.length).toBeGreaterThan(0);
    for (const d of drifts) expect(d.expected).toBeGreaterThanOrEqual(Math.min(...v));
  });
});
