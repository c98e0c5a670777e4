// The client against a real Prometheus loaded with the fixture cluster; expected values
// come from the same world model that generated the data.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { UpstreamRejectedError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import type { RequestEvent } from '../../src/prometheus/api.js';
import { PrometheusClient, type ClientSettings } from '../../src/prometheus/client.js';
import { matcher } from '../../src/prometheus/promql.js';
import { plainSettings } from '../../src/prometheus/settings.js';
import { cpuRate5m, makeWorld, memory, podByName, restartsAt } from '../../tools/fixture/world.js';
import { freePort } from '../helpers/server.js';

const url = inject('prometheusUrl');
const w = makeWorld(inject('fixtureNow'));
const log = createLogger('silent');

const clients: PrometheusClient[] = [];
function client(over: Partial<ClientSettings> = {}): PrometheusClient {
  const c = new PrometheusClient(plainSettings(url, { cacheMaxBytes: 16 << 20, ...over }), log);
  clients.push(c);
  return c;
}
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

describe('PrometheusClient against a real Prometheus', () => {
  const c = client();

  it('answers instant queries with the fixture values', async () => {
    const spike = podByName(w, w.events.spike.pod);
    const t = w.events.spike.start + 300;
    const r = await c.query(`container_memory_working_set_bytes{${matcher('pod', spike.name)},container!=""}`, { time: t * 1000 });
    expect(r.resultType).toBe('vector');
    expect(r.tier).toBe('prometheus');
    expect(r.samples).toHaveLength(1);
    expect(r.samples[0]!.v).toBe(memory(w, spike, t));
    expect(r.samples[0]!.labels).toMatchObject({ namespace: 'payments', pod: spike.name, node: spike.node });
  });

  it('gives rate() exactly as the generator defines it', async () => {
    const at = w.now - 3600 + 30; // between samples, see cpuRate5m
    for (const pod of w.pods.filter((p) => p.runs).slice(0, 4)) {
      const r = await c.query(`rate(container_cpu_usage_seconds_total{${matcher('pod', pod.name)},container!=""}[5m])`, { time: at * 1000 });
      expect(r.samples[0]!.v).toBeCloseTo(cpuRate5m(w, pod, at), 6);
    }
  });

  it('answers range queries on a step-aligned grid with the fixture values', async () => {
    const storm = podByName(w, w.events.storm.pod);
    const r = await c.queryRange(
      `kube_pod_container_status_restarts_total{${matcher('pod', storm.name)}}`,
      { start: (w.events.storm.start - 600) * 1000 + 1234, end: (w.events.storm.end + 600) * 1000 + 999, step: 60_000 },
    );
    expect(r.start % 60_000).toBe(0);
    expect(r.end % 60_000).toBe(0);
    expect(r.series).toHaveLength(1);
    const s = r.series[0]!;
    expect(s.timestamps).toHaveLength((r.end - r.start) / 60_000 + 1);
    s.timestamps.forEach((t, i) => expect(s.values[i]).toBe(restartsAt(w, storm, t / 1000)));
    expect(s.values[s.values.length - 1]).toBe(w.events.storm.restarts.length);
  });

  it('discovers label values, series and metric names', async () => {
    const window = { start: (w.now - 3600) * 1000, end: w.now * 1000 };
    expect(await c.labelValues('namespace', { ...window, match: ['kube_pod_info'] })).toEqual({ values: [...new Set(w.pods.map((p) => p.namespace))].sort(), warnings: [], tier: 'prometheus' });
    const series = await c.series(['kube_pod_info{namespace="web"}'], window);
    expect(series.values).toHaveLength(w.pods.filter((p) => p.namespace === 'web').length);
    expect((await c.labelValues('__name__', window)).values).toEqual(expect.arrayContaining(['kube_pod_container_status_restarts_total', 'node_memory_MemAvailable_bytes']));
    expect((await c.labelNames({ ...window, match: ['kube_node_status_condition'] })).values).toEqual(
      expect.arrayContaining(['condition', 'node', 'status']),
    );
  });

  it('reads metric metadata from what Prometheus scrapes', async () => {
    const fresh = client({ cacheTtlMs: 0 });
    let md: Record<string, unknown> = {};
    for (let i = 0; i < 40 && !md.prometheus_tsdb_head_series; i++) {
      md = (await fresh.metadata()).values;
      if (!md.prometheus_tsdb_head_series) await new Promise((r) => setTimeout(r, 500));
    }
    expect(md.prometheus_tsdb_head_series).toEqual([expect.objectContaining({ type: 'gauge' })]);
  });

  it('keeps an injection attempt inside the label value', async () => {
    const r = await c.query(`count(kube_pod_info{${matcher('namespace', 'prod"} or vector(1) #')}})`);
    expect(r.samples).toEqual([]);
  });

  it('reports Prometheus\'s own error for bad PromQL', async () => {
    const err = await c.query('sum(rate(x[5m]) by').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamRejectedError);
    expect((err as UpstreamRejectedError).errorType).toBe('bad_data');
    expect((err as Error).message).toMatch(/^Prometheus rejected the request: bad_data: .*parse error/);
  });

  it('serves repeated and concurrent identical queries from one upstream request', async () => {
    const cc = client();
    const events: RequestEvent[] = [];
    const cache: boolean[] = [];
    cc.addObserver({ request: (e) => events.push(e), cache: (e) => cache.push(e.hit) });
    const q = 'sum by (namespace) (kube_pod_container_resource_requests{resource="cpu"})';
    const results = await Promise.all(Array.from({ length: 8 }, () => cc.query(q)));
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(events).toHaveLength(1);
    await cc.query(q);
    expect(events).toHaveLength(1);
    expect(cache.filter(Boolean)).toHaveLength(1);
    const range = { start: (w.now - 3600) * 1000, end: w.now * 1000, step: 60_000 };
    await cc.queryRange(q, range);
    await cc.queryRange(q, { ...range, start: range.start + 5000, end: range.end + 5000 }); // same grid after alignment
    expect(events).toHaveLength(2);
  });

  it('keeps an instant query at "now" only briefly, pinned times and ranges for the whole TTL', async () => {
    const cc = client({ cacheTtlMs: 300_000, nowCacheTtlMs: 300 });
    const events: RequestEvent[] = [];
    cc.addObserver({ request: (e) => events.push(e) });
    const q = 'count(kube_pod_info)';
    const range = { start: (w.now - 3600) * 1000, end: w.now * 1000, step: 60_000 };
    const all = () => Promise.all([cc.query(q), cc.query(q, { time: w.now * 1000 }), cc.queryRange(q, range)]);
    await all();
    await all();
    expect(events).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 400));
    await all();
    expect(events).toHaveLength(4); // only "now" asked again
  });

  it('routes long ranges to Thanos and short ones to Prometheus when THANOS_URL is set', async () => {
    // The fixture Prometheus stands in for both tiers; the tier the client reports is what matters.
    const tiers = client({ thanosUrl: url, thanos: { dedup: true, partialResponse: false, maxSourceResolution: '0s' } });
    const short = await tiers.queryRange('up', { start: (w.now - 600) * 1000, end: w.now * 1000, step: 60_000 });
    expect(short.tier).toBe('prometheus');
    const long = await tiers.queryRange('up', { start: (w.now - 6 * 3600) * 1000, end: w.now * 1000, step: 300_000 });
    expect(long.tier).toBe('thanos');
    expect((await tiers.query('max_over_time(kube_pod_container_status_restarts_total[7d])')).tier).toBe('thanos');
    expect((await tiers.query('kube_pod_info')).tier).toBe('prometheus');
    // an instant query now that reads a week ago through @ needs the tier that keeps history
    expect((await tiers.query(`sum(kube_pod_info @ ${w.now - 7 * 86_400})`)).tier).toBe('thanos');
    expect((await tiers.query(`sum(kube_pod_info @ ${w.now - 60})`)).tier).toBe('prometheus');
    // deeper than the PromQL grammar's parser goes: its 7d window cannot be read, so history's tier
    const deep = `max_over_time(up[7d])${' + up'.repeat(1000)}`;
    expect((await tiers.query(deep)).tier).toBe('thanos');
  });

  it('falls back to the other tier when one is down, and says so', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const thanosDown = client({ thanosUrl: dead, retries: 0 });
    const r = await thanosDown.queryRange('count(kube_pod_info)', { start: (w.now - 6 * 3600) * 1000, end: w.now * 1000, step: 300_000 });
    expect(r.tier).toBe('prometheus');
    expect(r.warnings[0]).toMatch(/^Thanos is unreachable: .*ECONNREFUSED.*answered by Prometheus instead/);
    const promDown = client({ url: dead, thanosUrl: url, retries: 0 });
    expect((await promDown.query('count(kube_pod_info)')).tier).toBe('thanos');
  });

  it('reports health per tier', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const h = await client({ thanosUrl: dead, retries: 0 }).health();
    expect(h.map((x) => [x.tier, x.ok])).toEqual([
      ['prometheus', true],
      ['thanos', false],
    ]);
    expect(h[1]!.error).toMatch(/unreachable/);
  });
});
