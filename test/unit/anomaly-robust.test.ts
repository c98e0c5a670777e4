// Issue 15, item 1: detect_anomaly never fails on a finite series. Generated series of the
// shapes real metrics take go through the domain service and the tool's own output schema
// (what the dispatcher checks), and the detector's raw analysis is checked for non-finite
// numbers too, so the report's last-line guard cannot hide a detector that produces them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze, type Analysis } from '../../src/anomaly/detect.js';
import { buildReport, renderReport, type ReportOptions } from '../../src/anomaly/report.js';
import { detectAnomalies } from '../../src/anomaly/service.js';
import { detectAnomaly } from '../../src/tools/detect-anomaly.js';
import { nonFinitePaths, pairs, seriesShape, type ShapedSeries } from '../helpers/series-shapes.js';

/** The numbers of an analysis that reach the result: all must be finite. */
function reported(a: Analysis) {
  return { score: a.score, confidence: a.confidence, noise: a.status === 'ok' ? a.noise : 0, flatValue: a.flatValue ?? 0, anomalies: a.anomalies };
}

async function check(s: ShapedSeries): Promise<void> {
  const raw = analyze(s.t.map((t) => t * 1000), s.values);
  expect(nonFinitePaths(reported(raw)), `detector output, ${s.shape}`).toEqual([]);
  const { report, text } = await detectAnomalies(null, { series: [{ values: pairs(s) }], sensitivity: 'medium', method: 'auto', top: 5 });
  const parsed = detectAnomaly.output.safeParse(report);
  expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`), s.shape).toEqual([]);
  expect(nonFinitePaths(report), s.shape).toEqual([]);
  expect(text).not.toMatch(/NaN|Infinity/);
}

describe('detect_anomaly on any finite series', () => {
  it('gives a valid, finite result for generated series of everyday shapes', async () => {
    await fc.assert(fc.asyncProperty(seriesShape, check), { numRuns: 400 });
  });

  it('gives a valid result for 100 one-minute points of 10*sin(i/20)', async () => {
    const t = Array.from({ length: 100 }, (_, i) => 1_768_867_200 + 60 * i);
    await check({ shape: 'sine', t, values: t.map((_, i) => 10 * Math.sin(i / 20)) });
  });

  it('gives a valid result for 100,000 points with zeros, holes and a huge outlier', async () => {
    const t: number[] = [];
    const values: number[] = [];
    for (let i = 0, now = 1_768_867_200; i < 100_000; i++, now += i % 997 === 0 ? 2100 : 300) {
      t.push(now);
      values.push(i === 54_321 ? 1e12 : i % 5 === 0 ? (i % 17) * 1e6 : 0);
    }
    await check({ shape: '100k', t, values });
  });

  it('calls a series honest names: too short is insufficient_data, all equal is flat', async () => {
    const run = async (values: number[]) =>
      (await detectAnomalies(null, { series: [{ values: values.map((v, i) => [1_768_867_200 + 60 * i, String(v)]) }], sensitivity: 'medium', method: 'auto', top: 5 })).report.series[0]!;
    expect((await run([0, 0, 5])).status).toBe('insufficient_data');
    expect((await run(Array(200).fill(0))).status).toBe('flat');
    expect((await run(Array(200).fill(-3e6))).status).toBe('flat');
  });
});

describe("the report's last line of defence", () => {
  it('leaves out an anomaly with a non-finite figure and says so, instead of failing the schema', () => {
    const good = { kind: 'spike', direction: 'up', at: 1, from: 1, to: 1, value: 9, expected: 1, band: [0, 2], score: 0.9 } as const;
    const bad = { ...good, kind: 'variance_change', value: 0, expected: NaN, band: [NaN, NaN], score: 1, ratio: NaN } as const;
    const analysis = analyze(
      Array.from({ length: 60 }, (_, i) => i * 60_000),
      Array.from({ length: 60 }, (_, i) => i % 3),
    );
    const broken = { ...analysis, anomalies: [bad, good] as Analysis['anomalies'], score: 1, confidence: NaN };
    const opts: ReportOptions = { source: 'series', sensitivity: 'medium', method: 'auto', top: 5, maxAnomalies: 5, warnings: [], unitOf: () => undefined };
    const report = buildReport([{ labels: {}, analysis: broken }], opts);
    expect(detectAnomaly.output.safeParse(report).success).toBe(true);
    expect(report.series[0]!.anomalies.map((a) => a.kind)).toEqual(['spike']);
    expect(report.series[0]!.score).toBe(0.9);
    expect(report.series[0]!.explanation).toContain('1 anomaly was left out');
    expect(report.warnings.join(' ')).toMatch(/not a finite number/);
    expect(renderReport(report, opts)).not.toMatch(/NaN/);
  });
});
