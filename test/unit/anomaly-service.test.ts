// detect_anomaly's PromQL path and input handling, below MCP. The Prometheus side is a
// minimal object with the one method this path calls (queryRange); the end-to-end test
// against a real fixture Prometheus lives with the client.
import { describe, expect, it } from 'vitest';
import { InputError, NotConfiguredError } from '../../src/errors.js';
import { defaultStep, isCounterQuery, parseInline, rawCounterFix, resolveRange, unitOf } from '../../src/anomaly/input.js';
import { detectAnomalies, MAX_QUERY_SERIES, type DetectArgs } from '../../src/anomaly/service.js';
import type { PrometheusApi, Range, RangeResult, RangeSeries } from '../../src/prometheus/api.js';
import { shapeOf } from '../../src/prometheus/promql-syntax.js';
import { kubernetesFixture } from '../helpers/k8s-series.js';

const NOW = Date.UTC(2026, 0, 26);
const f = kubernetesFixture(4);

function fakePrometheus(series: RangeSeries[], warnings: string[] = []): { api: PrometheusApi; calls: { query: string; range: Range }[] } {
  const calls: { query: string; range: Range }[] = [];
  const api = {
    url: 'http://prometheus.test:9090',
    async queryRange(query: string, range: Range): Promise<RangeResult> {
      calls.push({ query, range });
      return { series, warnings, tier: 'prometheus', start: range.start, end: range.end, step: range.step };
    },
  } as unknown as PrometheusApi;
  return { api, calls };
}

const args = (a: Partial<DetectArgs>): DetectArgs => ({ sensitivity: 'medium', method: 'auto', top: 5, ...a });
const s = (labels: Record<string, string>, values: number[]): RangeSeries => ({ labels, timestamps: f.t, values });

describe('detect_anomaly with a PromQL query', () => {
  it('fetches the range, ranks the series and points to the raw data around the top anomaly', async () => {
    const { api, calls } = fakePrometheus([
      s({ __name__: 'container_memory_working_set_bytes', pod: 'quiet' }, f.memory.map((_, i) => 400e6 + (i % 7) * 1e5)),
      s({ __name__: 'container_memory_working_set_bytes', pod: 'payment-7f9c' }, f.memory),
    ]);
    const end = f.t[f.t.length - 1]!;
    const { report, text } = await detectAnomalies(
      api,
      args({ query: 'container_memory_working_set_bytes{namespace="shop"}', start: f.t[0], end, step: '1m' }),
    );
    expect(calls).toEqual([{ query: 'container_memory_working_set_bytes{namespace="shop"}', range: { start: f.t[0], end, step: 60_000 } }]);
    expect(report.series.map((x) => x.labels.pod)).toEqual(['payment-7f9c', 'quiet']);
    expect(report).toMatchObject({ series_total: 2, series_omitted: 0, anomalous_series: 1 });
    const top = report.series[0]!;
    expect(top.anomalies[0]).toMatchObject({ kind: 'spike', direction: 'up' });
    expect(top.explanation).toMatch(/MiB/); // _bytes: values in binary units
    expect(report.next).toMatchObject({ tool: 'query_metrics', arguments: { query: 'container_memory_working_set_bytes{namespace="shop"}', step: '1m' } });
    const around = report.next!.arguments as { start: string; end: string };
    expect(Date.parse(around.start)).toBeLessThan(Date.parse(top.anomalies[0]!.at));
    expect(Date.parse(around.end)).toBeGreaterThan(Date.parse(top.anomalies[0]!.at));
    expect(text).toMatch(/^1 of 2 series anomalous; container_memory_working_set_bytes\{namespace="shop"\} from /);
    expect(text).toMatch(/Next: query_metrics/);
  });

  it('analyses a bare counter as its per-second rate', async () => {
    const { api } = fakePrometheus([s({ __name__: 'kube_pod_container_status_restarts_total', pod: 'api' }, f.restarts)]);
    const { report } = await detectAnomalies(api, args({ query: 'kube_pod_container_status_restarts_total{pod="api"}', range: '4d' }));
    expect(report.series[0]!.explanation).toMatch(/per-second rate of the counter/);
    expect(report.series[0]!.anomalies.map((a) => a.kind)).toEqual(['spike', 'spike']);
    expect(isCounterQuery(shapeOf('rate(kube_pod_container_status_restarts_total[5m])'))).toBe(false);
  });

  it('passes warnings on, bounds the series, and says when nothing matched', async () => {
    const many = Array.from({ length: MAX_QUERY_SERIES + 3 }, (_, k) => ({ labels: { k: String(k) }, timestamps: f.t.slice(0, 40), values: f.cpu.slice(0, 40) }));
    const { report, text } = await detectAnomalies(fakePrometheus(many, ['partial data']).api, args({ query: 'x', range: '1h', top: 2 }));
    expect(report.series_total).toBe(MAX_QUERY_SERIES);
    expect(report.series_unanalysed).toBe(3);
    expect(report.series).toHaveLength(2);
    expect(report.series_omitted).toBe(MAX_QUERY_SERIES - 2);
    expect(report.warnings[0]).toBe('partial data');
    expect(report.warnings[1]).toMatch(/returned 203 series; only the 200 with the sharpest jumps .* were analysed, 3 were not .*: narrow the query with label matchers/);
    expect(text).toMatch(/^0 of 200 analysed \(3 more returned, not analysed: see the warning\) series anomalous/);
    expect(text).toMatch(/198 more series not shown/);
    const none = await detectAnomalies(fakePrometheus([]).api, args({ query: 'nope', range: '1h' }));
    expect(none.report.warnings).toEqual(['the query returned no series in that range: check the metric name and label matchers']);
    expect(none.report.next).toBeNull();
  });

  it('with more series than it analyses, pre-screens all of them so the worst one is not cut off', async () => {
    const n = f.t.length;
    const quiet = (k: number) => ({ labels: { pod: `p${String(k).padStart(3, '0')}` }, timestamps: f.t, values: f.cpu.map((v, i) => v * (1 + k / 1000) + 0.001 * (i % 5)) });
    const many = Array.from({ length: MAX_QUERY_SERIES + 50 }, (_, k) => quiet(k));
    // The worst series comes last in Prometheus' order, beyond the first 200.
    const worst = quiet(999);
    worst.labels = { pod: 'zz-spiking' };
    worst.values = worst.values.map((v, i) => (i === Math.floor(n / 2) ? v * 8 : v));
    many.push(worst);
    const { report } = await detectAnomalies(fakePrometheus(many).api, args({ query: 'rate(container_cpu_usage_seconds_total[5m])', start: f.t[0], end: f.t[n - 1], step: '1m', top: 1 }));
    expect(report.series_total).toBe(MAX_QUERY_SERIES);
    expect(report.series_unanalysed).toBe(51);
    expect(report.series[0]!.labels.pod).toBe('zz-spiking');
    expect(report.series[0]!.anomalies[0]).toMatchObject({ kind: 'spike' });
  });

  it('warns when a counter is aggregated without rate(), and gives the query to use', async () => {
    const ramp = f.t.map((_, i) => 1000 + 37 * i);
    const { api } = fakePrometheus([s({ job: 'api' }, ramp)]);
    const q = 'sum by (job) (http_requests_total{code=~"5.."})';
    const { report, text } = await detectAnomalies(api, args({ query: q, range: '4d', step: '1m' }));
    const fixed = 'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))';
    expect(report.warnings[0]).toContain(`analyse ${fixed} instead`);
    expect(text).toContain(`Warning: the query uses a counter without rate()`);
    expect(report.next).toMatchObject({ tool: 'detect_anomaly', arguments: { query: fixed, step: '1m' } });
    // with a rate, or a bare selector (analysed as its rate), nothing to say
    for (const ok of ['sum(rate(http_requests_total[5m]))', 'http_requests_total{job="api"}']) {
      const r = await detectAnomalies(fakePrometheus([s({ job: 'api' }, ramp)]).api, args({ query: ok, range: '4d', step: '1m' }));
      expect(r.report.warnings.join(' '), ok).not.toMatch(/without rate/);
    }
  });

  it('rewrites each raw counter selector with the rate inside the aggregation', () => {
    expect(rawCounterFix('sum(x_total)', shapeOf('sum(x_total)'), '5m')).toBe('sum(rate(x_total[5m]))');
    expect(rawCounterFix('histogram_quantile(0.99, sum by (le) (h_bucket{job="api"}))', shapeOf('histogram_quantile(0.99, sum by (le) (h_bucket{job="api"}))'), '5m')).toBe('histogram_quantile(0.99, sum by (le) (rate(h_bucket{job="api"}[5m])))');
    expect(rawCounterFix('sum(a_total) / sum(b_count offset 1h)', shapeOf('sum(a_total) / sum(b_count offset 1h)'), '10m')).toBe('sum(rate(a_total[10m])) / sum(rate(b_count[10m] offset 1h))');
    expect(rawCounterFix('sum(x_total{path="/y_total"})', shapeOf('sum(x_total{path="/y_total"})'), '5m')).toBe('sum(rate(x_total{path="/y_total"}[5m]))');
    for (const q of ['sum(rate(x_total[5m]))', 'x_total', 'max_over_time(x_total[1h])', 'sum(container_memory_working_set_bytes)', 'count(up)', 'sum(increase(x_total[1h]))']) {
      expect(rawCounterFix(q, shapeOf(q), '5m'), q).toBeNull();
    }
  });

  it('takes a 0/1 state series that appears mid-range as 0 before it (an OOMKilled reason)', async () => {
    const last = f.t.length - 1;
    const from = f.events.oomKill;
    const { api } = fakePrometheus([
      { labels: { __name__: 'kube_pod_container_status_last_terminated_reason', reason: 'OOMKilled' }, timestamps: f.t.slice(from), values: f.t.slice(from).map(() => 1) },
    ]);
    const { report } = await detectAnomalies(api, args({ query: 'kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}', start: f.t[0], end: f.t[last], step: '1m' }));
    const s0 = report.series[0]!;
    expect(s0.anomalies).toHaveLength(1);
    expect(s0.anomalies[0]).toMatchObject({ kind: 'level_shift', direction: 'up', value: 1, expected: 0, at: new Date(f.t[from]!).toISOString().replace('.000Z', 'Z') });
    expect(s0.explanation).toMatch(/^The series only exists from .*; as a 0\/1 state it was taken as 0 before\./);
  });

  it('without Prometheus: NotConfiguredError saying what to set; inline input still works', async () => {
    await expect(detectAnomalies(null, args({ query: 'up', range: '1h' }))).rejects.toThrow(NotConfiguredError);
    await expect(detectAnomalies(null, args({ query: 'up' }))).rejects.toThrow(/set PROMETHEUS_URL to the Prometheus or Thanos Querier URL/);
    const { report } = await detectAnomalies(null, args({ series: [{ values: f.t.slice(0, 50).map((t, i) => [t / 1000, f.cpu[i]!]) }] }));
    expect(report.series[0]!.status).toBe('ok');
  });
});

describe('detect_anomaly with inline series', () => {
  const inline = (values: (number | string)[], t0 = Date.UTC(2026, 0, 20) / 1000) => ({ values: values.map((v, i) => [t0 + 60 * i, v]) });
  let seed = 11;
  const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 2;

  it('says how many points were NaN or ±Inf and left out', async () => {
    const values: (number | string)[] = Array.from({ length: 200 }, () => 100 + noise());
    values[50] = 'NaN';
    values[51] = '+Inf';
    values[120] = '-Inf';
    const { report } = await detectAnomalies(null, args({ series: [inline(values)] }));
    expect(report.series[0]!.points).toBe(197);
    expect(report.series[0]!.explanation).toMatch(/ 3 points were NaN or ±Inf and left out\.$/);
    const clean = await detectAnomalies(null, args({ series: [inline(values.map((v) => (typeof v === 'string' ? 100 : v)))] }));
    expect(clean.report.series[0]!.explanation).not.toMatch(/NaN/);
  });

  it('counts every anomaly it leaves out of the list, hundreds of them too', async () => {
    // 300 stretches where the value stopped moving (a stuck exporter) in quiet noise: each one is
    // reported. (Spikes would not do: equal ones that recur are routine after a few.)
    const values: number[] = [];
    for (let k = 0; k < 300; k++) {
      for (let j = 0; j < 100; j++) values.push(100 + noise());
      for (let j = 0; j < 60; j++) values.push(100);
    }
    const { report } = await detectAnomalies(null, args({ series: [inline(values)] }));
    const s0 = report.series[0]!;
    expect(s0.anomalies).toHaveLength(20);
    expect(s0.anomalies.length + s0.anomalies_omitted).toBe(300);
  });

  it('yields between inline series, as the query path does, and stops when cancelled', async () => {
    const big = inline(Array.from({ length: 50_000 }, () => 100 + noise()));
    const ac = new AbortController();
    // runs only once the analysis lets the event loop in
    setImmediate(() => ac.abort(new Error('cancelled')));
    await expect(detectAnomalies(null, args({ series: [big, inline([1, 2, 3])] }), ac.signal)).rejects.toThrow('cancelled');
  });
});

describe('input forms', () => {
  const field = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return e instanceof InputError ? `${e.field}: ${e.rule}` : String(e);
    }
    return 'no error';
  };

  it('resolves range, start/end and step, naming the field at fault', () => {
    expect(resolveRange({}, NOW)).toEqual({ start: NOW - 86_400_000, end: NOW, step: 30_000 });
    expect(resolveRange({ range: '7d', step: '1m' }, NOW)).toEqual({ start: NOW - 7 * 86_400_000, end: NOW, step: 60_000 });
    expect(resolveRange({ start: NOW - 3_600_000, end: NOW, step: '15' }, NOW).step).toBe(15_000);
    expect(field(() => resolveRange({ range: '1h', start: NOW - 1 }, NOW))).toMatch(/^range, start: give range or start/);
    expect(field(() => resolveRange({ range: 'soon' }, NOW))).toMatch(/^range: must be a duration/);
    expect(field(() => resolveRange({ start: NOW, end: NOW - 1 }, NOW))).toBe('start: must be earlier than end');
    expect(field(() => resolveRange({ range: '30d', step: '15s' }, NOW))).toMatch(/^step: gives 172801 points per series, Prometheus allows 11000: use a step of 5m or more/);
    expect(field(() => resolveRange({ step: '0s' }, NOW))).toMatch(/^step: must be a duration of at least 1s/);
    expect(defaultStep(3 * 86_400_000)).toBe(120_000);
  });

  it('parses inline pairs as Prometheus writes them', () => {
    const [p] = parseInline([{ labels: { a: 'b' }, values: [[1_700_000_000, '1.5'], ['2023-11-14T22:13:21Z', 'NaN'], [1_700_000_002_000, '+Inf'], [1_700_000_003, 2]] }]);
    expect(Array.from(p!.timestamps)).toEqual([1_700_000_000_000, 1_700_000_001_000, 1_700_000_002_000, 1_700_000_003_000]);
    expect(Array.from(p!.values)).toEqual([1.5, NaN, Infinity, 2]);
    expect(field(() => parseInline([{ values: [[1, 2, 3]] }]))).toBe('series[0].values[0]: must be a [time, value] pair');
    expect(field(() => parseInline([{ values: [['1h', 2]] }]))).toMatch(/^series\[0\]\.values\[0\]\[0\]: must be unix seconds or an RFC 3339 time/);
    expect(field(() => parseInline([{ values: [] }]))).toBe('series[0].values: must not be empty');
    expect(field(() => parseInline([]))).toMatch(/^series: must have 1-50 series, got 0/);
  });

  it('knows units from metric names', () => {
    expect(unitOf(shapeOf('container_memory_working_set_bytes{pod="x"}'), {})).toBe('bytes');
    expect(unitOf(shapeOf('max(container_memory_working_set_bytes)'), {})).toBe('bytes');
    expect(unitOf(shapeOf('rate(container_cpu_usage_seconds_total[5m])'), {})).toBeUndefined();
    expect(unitOf(undefined, { __name__: 'http_request_duration_seconds' })).toBe('seconds');
    // a ratio of bytes to bytes has no unit; a "/" or "*" inside a label value is no division
    expect(unitOf(shapeOf('sum(container_memory_working_set_bytes{pod="x"}) / sum(kube_pod_container_resource_limits{resource="memory",pod="x"})'), {})).toBeUndefined();
    expect(unitOf(shapeOf('container_memory_working_set_bytes * 8'), {})).toBeUndefined();
    expect(unitOf(shapeOf('node_filesystem_avail_bytes{mountpoint="/",device=~".*"}'), {})).toBe('bytes');
  });
});
