// detect_anomaly's PromQL path and input handling, below MCP. The Prometheus side is a
// minimal object with the one method this path calls (queryRange); the end-to-end test
// against a real fixture Prometheus lives with the client.
import { describe, expect, it } from 'vitest';
import { InputError, NotConfiguredError } from '../../src/errors.js';
import { defaultStep, isCounterQuery, parseInline, resolveRange, unitOf } from '../../src/anomaly/input.js';
import { detectAnomalies, MAX_QUERY_SERIES, type DetectArgs } from '../../src/anomaly/service.js';
import type { PrometheusApi, Range, RangeResult, RangeSeries } from '../../src/prometheus/api.js';
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
    expect(isCounterQuery('rate(kube_pod_container_status_restarts_total[5m])')).toBe(false);
  });

  it('passes warnings on, bounds the series, and says when nothing matched', async () => {
    const many = Array.from({ length: MAX_QUERY_SERIES + 3 }, (_, k) => ({ labels: { k: String(k) }, timestamps: f.t.slice(0, 40), values: f.cpu.slice(0, 40) }));
    const { report, text } = await detectAnomalies(fakePrometheus(many, ['partial data']).api, args({ query: 'x', range: '1h', top: 2 }));
    expect(report.series_total).toBe(MAX_QUERY_SERIES);
    expect(report.series).toHaveLength(2);
    expect(report.series_omitted).toBe(MAX_QUERY_SERIES - 2);
    expect(report.warnings[0]).toBe('partial data');
    expect(report.warnings[1]).toMatch(/returned 203 series; analysed the first 200/);
    expect(text).toMatch(/198 more series not shown/);
    const none = await detectAnomalies(fakePrometheus([]).api, args({ query: 'nope', range: '1h' }));
    expect(none.report.warnings).toEqual(['the query returned no series in that range: check the metric name and label matchers']);
    expect(none.report.next).toBeNull();
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
    expect(unitOf('container_memory_working_set_bytes{pod="x"}', {})).toBe('bytes');
    expect(unitOf('max(container_memory_working_set_bytes)', {})).toBe('bytes');
    expect(unitOf('rate(container_cpu_usage_seconds_total[5m])', {})).toBeUndefined();
    expect(unitOf(undefined, { __name__: 'http_request_duration_seconds' })).toBe('seconds');
  });
});
