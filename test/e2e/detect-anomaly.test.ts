// detect_anomaly through the SDK's real Client, over stdio and streamable HTTP, with inline
// series (no Prometheus configured, so a query must say what to set).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connectHttp, connectStdio, startHttpServer, tempDir, text, type Connected, type HttpServer } from '../helpers/server.js';
import { noise } from '../helpers/k8s-series.js';

type Structured = Record<string, any>;

const T0 = Date.UTC(2026, 0, 20) / 1000; // unix seconds
const MINUTES = 3 * 1440;

/** Three days of a CPU-like series at 1-minute steps with a daily cycle and mild noise. */
function daily(edit: (i: number, v: number) => number = (_i, v) => v, seed = 3): [number, string][] {
  const r = noise(seed);
  const out: [number, string][] = [];
  for (let i = 0; i < MINUTES; i++) {
    const hour = (i % 1440) / 60;
    const v = 500 + 200 * Math.max(0, Math.sin(((hour - 7) / 14) * Math.PI)) + 8 * (r() + r() + r());
    out.push([T0 + i * 60, edit(i, v).toFixed(3)]);
  }
  return out;
}

const SPIKE_AT = 2000; // minute index: 2026-01-21T09:20:00Z
const SHIFT_AT = 3500; // 2026-01-22T10:20:00Z
const iso = (minute: number) => new Date((T0 + minute * 60) * 1000).toISOString().replace('.000Z', 'Z');

for (const transport of ['stdio', 'http'] as const) {
  describe(`detect_anomaly over ${transport}`, () => {
    const dir = tempDir();
    let http: HttpServer | undefined;
    let conn: Connected;

    beforeAll(async () => {
      if (transport === 'stdio') conn = await connectStdio({ DATA_DIR: dir.path });
      else {
        http = await startHttpServer({ DATA_DIR: dir.path });
        conn = await connectHttp(http.url);
      }
    });
    afterAll(async () => {
      await conn?.close();
      await http?.stop();
      dir.cleanup();
    });

    it('is listed with honest annotations and an entry within the context budget', async () => {
      const { tools } = await conn.client.listTools();
      const tool = tools.find((t) => t.name === 'detect_anomaly')!;
      expect(tool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true });
      expect(tool.description).toMatch(/Example:/);
      expect(tool.outputSchema?.properties).toHaveProperty('series');
      expect(JSON.stringify(tool).length).toBeLessThanOrEqual(1600);
    });

    it('finds a spike with its time, direction and expected value', async () => {
      const values = daily((i, v) => (i >= SPIKE_AT && i < SPIKE_AT + 3 ? v + 250 : v));
      const r = await call(conn.client, 'detect_anomaly', { series: [{ labels: { pod: 'api-1' }, values }] });
      expect(r.isError, text(r)).toBeFalsy();
      const s = r.structuredContent as Structured;
      expect(s.series_total).toBe(1);
      const series = s.series[0];
      expect(series.labels).toEqual({ pod: 'api-1' });
      expect(series.anomalies).toHaveLength(1);
      const a = series.anomalies[0];
      expect(a).toMatchObject({ kind: 'spike', direction: 'up', from: iso(SPIKE_AT), to: iso(SPIKE_AT + 2) });
      expect([iso(SPIKE_AT), iso(SPIKE_AT + 1), iso(SPIKE_AT + 2)]).toContain(a.at);
      expect(a.value - a.expected).toBeGreaterThan(200);
      expect(a.band[1]).toBeLessThan(a.value);
      expect(a.score).toBeGreaterThan(0.9);
      expect(series.model).toMatch(/daily cycle/);
      expect(series.explanation).toMatch(/a spike to .* at 2026-01-21T09:2/);
      expect(text(r)).toContain(`spike up at ${a.at}`);
      expect(s.next).toBeNull();
    });

    it('finds a level shift and says it lasts to the end', async () => {
      const values = daily((i, v) => (i >= SHIFT_AT ? v - 120 : v), 5);
      const r = await call(conn.client, 'detect_anomaly', { series: [{ values }] });
      const a = (r.structuredContent as Structured).series[0].anomalies;
      expect(a).toHaveLength(1);
      expect(a[0]).toMatchObject({ kind: 'level_shift', direction: 'down' });
      expect(Math.abs(Date.parse(a[0].at) / 1000 - (T0 + SHIFT_AT * 60))).toBeLessThanOrEqual(5 * 60);
      expect(a[0].expected - a[0].value).toBeGreaterThan(90);
      expect((r.structuredContent as Structured).series[0].explanation).toMatch(/still in effect at the end/);
    });

    it('reports no anomalies on a clean series, and ranks several series', async () => {
      const clean = daily(undefined, 9);
      const spiky = daily((i, v) => (i === SPIKE_AT ? v + 400 : v), 4);
      const r = await call(conn.client, 'detect_anomaly', {
        series: [
          { labels: { pod: 'clean' }, values: clean },
          { labels: { pod: 'spiky' }, values: spiky },
          { labels: { pod: 'short' }, values: clean.slice(0, 12) },
        ],
        top: 2,
      });
      const s = r.structuredContent as Structured;
      expect(s).toMatchObject({ series_total: 3, series_omitted: 1, anomalous_series: 1 });
      expect(s.series.map((x: Structured) => x.labels.pod)).toEqual(['spiky', 'clean']);
      expect(s.series[1]).toMatchObject({ score: 0, anomalies: [], anomalies_omitted: 0, status: 'ok' });
      expect(s.series[1].explanation).toMatch(/Nothing unusual/);
      expect(text(r)).toMatch(/1 more series not shown/);
    });

    it('takes a minimum score as sensitivity, as a number or a numeric string', async () => {
      const values = daily((i, v) => (i >= SPIKE_AT && i < SPIKE_AT + 3 ? v + 250 : i === 3000 ? v + 45 : v), 6);
      const loose = (await call(conn.client, 'detect_anomaly', { series: [{ values }], sensitivity: 'high' })).structuredContent as Structured;
      const strict = (await call(conn.client, 'detect_anomaly', { series: [{ values }], sensitivity: 0.95 })).structuredContent as Structured;
      const asText = (await call(conn.client, 'detect_anomaly', { series: [{ values }], sensitivity: '0.95' })).structuredContent as Structured;
      expect(loose.series[0].anomalies.length).toBeGreaterThan(strict.series[0].anomalies.length);
      expect(strict.series[0].anomalies.length).toBeGreaterThan(0);
      expect(strict.series[0].anomalies.every((a: Structured) => a.score >= 0.95)).toBe(true);
      expect(asText.series[0].anomalies).toEqual(strict.series[0].anomalies);
    });

    it('prints a value and its expectation with enough digits to tell them apart', async () => {
      // 3.92M ± a few units with a spike of +400: at 3 significant digits both read "3.92M".
      const values = daily((i, v) => 3_920_000 + (v - 500) / 20 + (i === SPIKE_AT ? 400 : 0));
      const r = await call(conn.client, 'detect_anomaly', { series: [{ values }] });
      const a = (r.structuredContent as Structured).series[0].anomalies.find((x: Structured) => x.kind === 'spike');
      expect(a.value).not.toBe(a.expected);
      const row = new RegExp(`spike up at ${a.at}: (\\S+) \\(expected (\\S+)\\)`).exec(text(r));
      expect(row, text(r)).not.toBeNull();
      expect(row![1]).not.toBe(row![2]);
      expect(Number(row![1]!.replace('M', '')) * 1e6).toBeCloseTo(a.value, -2);
      const said = /a spike to (\S+) at .* \(expected about (\S+),/.exec((r.structuredContent as Structured).series[0].explanation);
      expect(said![1]).not.toBe(said![2]);
    });

    it('answers a too-short series honestly', async () => {
      const r = await call(conn.client, 'detect_anomaly', { series: [{ values: daily().slice(0, 12) }] });
      expect(r.isError).toBeFalsy();
      const s = (r.structuredContent as Structured).series[0];
      expect(s).toMatchObject({ status: 'insufficient_data', points: 12, anomalies: [] });
      expect(s.explanation).toMatch(/^Not enough history: 12 points, need 30/);
      expect(text(r)).toMatch(/Not enough history: 12 points, need 30/);
    });

    it('rejects bad input with errors that name the field', async () => {
      const both = await call(conn.client, 'detect_anomaly', { query: 'up', series: [{ values: daily().slice(0, 40) }] });
      expect(both.isError).toBe(true);
      expect(text(both)).toMatch(/query, series: give exactly one/);
      const none = await call(conn.client, 'detect_anomaly', {});
      expect(text(none)).toMatch(/query, series: give exactly one/);
      const badValue = await call(conn.client, 'detect_anomaly', { series: [{ values: [[T0, 'abc']] }] });
      expect(text(badValue)).toMatch(/series\[0\]\.values\[0\]\[1\]: must be a number/);
      const badSens = await call(conn.client, 'detect_anomaly', { series: [{ values: daily().slice(0, 40) }], sensitivity: 'extreme' });
      expect(text(badSens)).toMatch(/sensitivity: must be "low", "medium", "high" or a minimum score/);
      const badMethod = await call(conn.client, 'detect_anomaly', { series: [{ values: daily().slice(0, 40) }], method: 'magic' });
      expect(text(badMethod)).toMatch(/method: must be one of "auto"/);
      const rangeInline = await call(conn.client, 'detect_anomaly', { series: [{ values: daily().slice(0, 40) }], range: '1h' });
      expect(text(rangeInline)).toMatch(/range: only goes with query/);
      for (const r of [both, none, badValue, badSens, badMethod, rangeInline]) {
        expect(r.isError).toBe(true);
        expect(text(r)).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
      }
    });

    it('says what to configure for PromQL input when no Prometheus is set', async () => {
      const r = await call(conn.client, 'detect_anomaly', { query: 'sum(rate(container_cpu_usage_seconds_total[5m]))', range: '24h' });
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/^Not configured: .*set PROMETHEUS_URL to the Prometheus or Thanos Querier URL/);
      // Range errors come first: they do not depend on configuration.
      const bad = await call(conn.client, 'detect_anomaly', { query: 'up', range: 'yesterday' });
      expect(text(bad)).toMatch(/range: must be a duration/);
    });
  });
}
