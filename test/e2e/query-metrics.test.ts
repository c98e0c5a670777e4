// query_metrics through a real MCP client, over stdio and HTTP, against the fixture Prometheus.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cpuRate5m, makeWorld, memory, podByName } from '../../tools/fixture/world.js';
import { call, connectStdio, freePort, serverForSuite, tempDir, text } from '../helpers/server.js';

type S = Record<string, any>;
const url = inject('prometheusUrl');
const w = makeWorld(inject('fixtureNow'));
const iso = (s: number) => new Date(s * 1000).toISOString();

for (const transport of ['stdio', 'http'] as const) {
  describe(`query_metrics over ${transport}`, () => {
    const tool = serverForSuite(transport, { PROMETHEUS_URL: url });
    const q = (args: Record<string, unknown>) => tool('query_metrics', args);

    it('answers an instant query with the fixture values, largest first', async () => {
      const at = w.now - 7200 + 30;
      const { r, s, t } = await q({ query: 'sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="payments",container!=""}[5m]))', time: iso(at) });
      expect(r.isError, t).toBeFalsy();
      expect(s).toMatchObject({ kind: 'instant', tier: 'prometheus', result_type: 'vector', total: 5, returned: 5, omitted: 0 });
      const want = w.pods
        .filter((p) => p.namespace === 'payments')
        .map((p) => ({ pod: p.name, v: cpuRate5m(w, p, at) }))
        .sort((a, b) => b.v - a.v);
      expect(s.series.map((x: S) => x.labels.pod)).toEqual(want.map((x) => x.pod));
      s.series.forEach((x: S, i: number) => expect(x.value).toBeCloseTo(want[i]!.v, 5));
      expect(t).toMatch(/^5 series at .* \(prometheus\), largest first\.\n/);
    });

    it('summarises a range query and keeps the spike in its points', async () => {
      const spike = podByName(w, w.events.spike.pod);
      const start = w.events.spike.start - 3 * 3600;
      const end = w.events.spike.start + 3 * 3600;
      const { s, t } = await q({
        query: `container_memory_working_set_bytes{namespace="payments",container!=""}`,
        start: iso(start),
        end: iso(end),
        step: '1m',
        max_points: 40,
      });
      expect(s).toMatchObject({ kind: 'range', step: '1m', total: 5, start: iso(start), end: iso(end) });
      expect(s.common_labels).toMatchObject({ __name__: 'container_memory_working_set_bytes', namespace: 'payments' });
      const top = s.series[0];
      expect(top.labels.pod).toBe(spike.name); // largest max first
      let max = 0;
      for (let t2 = start; t2 <= end; t2 += 60) max = Math.max(max, memory(w, spike, t2));
      expect(top.max).toBe(max);
      expect(top.count).toBe((end - start) / 60 + 1);
      expect(top.points.length).toBeLessThanOrEqual(40);
      // the downsampled points still show the spike: a point inside it, at the spike's level
      let spikeLow = Infinity;
      for (let t2 = w.events.spike.start; t2 < w.events.spike.end; t2 += 60) spikeLow = Math.min(spikeLow, memory(w, spike, t2));
      const [peakAt, peak] = top.points.reduce((a: [number, number], p: [number, number]) => (p[1] > a[1] ? p : a));
      expect(peak).toBeGreaterThanOrEqual(spikeLow);
      expect(peakAt).toBeGreaterThanOrEqual(w.events.spike.start);
      expect(peakAt).toBeLessThan(w.events.spike.end);
      expect(t).toContain(`{pod="${spike.name}"}`);
    });

    it('takes unix seconds sent as a JSON number, as some tool-calling dialects send them', async () => {
      const at = w.now - 3600;
      const query = 'count by (namespace) (kube_pod_info)';
      const asNumber = await q({ query, time: at });
      expect(asNumber.r.isError, asNumber.t).toBeFalsy();
      expect(asNumber.s).toEqual((await q({ query, time: iso(at) })).s);
      expect(asNumber.s.total).toBe(new Set(w.pods.map((p) => p.namespace)).size);
    });

    it('keeps every digit of values that are timestamps', async () => {
      const { s } = await q({ query: `kube_pod_start_time{pod="${w.events.spike.pod}"}` });
      expect(s.series[0].value).toBe(w.start);
    });

    it('bounds series and says how many it left out', async () => {
      const { s, t } = await q({ query: 'kube_pod_status_phase', limit: 7 });
      const all = w.pods.length * 5;
      expect(s).toMatchObject({ total: all, returned: 7, omitted: all - 7 });
      expect(t).toContain(`(${all - 7} more omitted; raise limit or narrow the query)`);
    });

    it('discovers metric names, label values and series', async () => {
      const m = (await q({ discover: 'metrics', filter: 'memory' })).s;
      expect(m.values).toEqual(['container_memory_working_set_bytes', 'node_memory_MemAvailable_bytes', 'node_memory_MemTotal_bytes']);
      const ns = (await q({ discover: 'label_values', label: 'namespace', match: 'kube_pod_info' })).s;
      expect(ns.values).toEqual([...new Set(w.pods.map((p) => p.namespace))].sort());
      const nodes = (await q({ discover: 'series', match: 'kube_node_status_condition{condition="MemoryPressure",status="true"}' })).s;
      expect(nodes.total).toBe(3);
      expect(nodes.series.map((x: S) => x.labels.node).sort()).toEqual(['worker-0', 'worker-1', 'worker-2']);
      const rx = (await q({ discover: 'metrics', filter: '/^kube_horizontalpodautoscaler_/' })).s;
      expect(rx.total).toBe(5);
      const pods = (await q({ discover: 'label_values', label: 'pod', filter: '/^report-worker-/' })).s;
      expect(pods.values).toEqual(w.pods.filter((p) => p.deployment.name === 'report-worker').map((p) => p.name));
      // exponential for a backtracking engine on these names; Prometheus' RE2 answers at once
      const evil = await q({ discover: 'metrics', filter: '/^([a-z_]+)*[0-9]$/' });
      expect(evil.r.isError, evil.t).toBeFalsy();
      expect(evil.s.total).toBe(0);
      const labels = (await q({ discover: 'labels', match: 'kube_node_status_condition' })).s;
      expect(labels).toMatchObject({ kind: 'labels', tier: 'prometheus', warnings: [] });
      expect(labels.values).toEqual(expect.arrayContaining(['condition', 'node', 'status']));
      // backfilled series carry no metadata; what Prometheus scrapes of itself does (once scraped)
      const md = await q({ discover: 'metadata', filter: 'prometheus_', limit: 3 });
      expect(md.r.isError, md.t).toBeFalsy();
      expect(md.s).toMatchObject({ kind: 'metadata', tier: 'prometheus' });
      expect(md.s.returned).toBeLessThanOrEqual(3);
      for (const row of md.s.metadata as S[]) expect(row).toEqual({ metric: expect.stringMatching(/^prometheus_/), type: expect.any(String), help: expect.any(String), unit: expect.any(String) });
    });

    it('turns bad PromQL and impossible ranges into clear tool errors', async () => {
      const bad = await q({ query: 'sum(rate(x[5m]) by' });
      expect(bad.r.isError).toBe(true);
      expect(bad.t).toMatch(/^Prometheus rejected the request: bad_data: .*parse error/);
      const inverted = await q({ query: 'up', start: 'now-1h', end: 'now-2h' });
      expect(inverted.t).toMatch(/- start: must be before end/);
      const tooMany = await q({ query: 'up', range: '30d', step: '10s' });
      expect(tooMany.t).toMatch(/- step: 10s over 30d gives 259201 points per series; Prometheus allows 11000: use a step of at least 237s/);
      const both = await q({ query: 'up', discover: 'metrics' });
      expect(both.t).toMatch(/- query: give either query \(PromQL\) or discover/);
      const empty = await q({ query: '   ' });
      expect(empty.t).toMatch(/- query: must not be empty/);
    });
  });
}

// A Prometheus that accepts the connection and never answers: only a fake can do that on demand.
const hanging = createServer(() => {
  /* never answer */
});
await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', () => r()));
afterAll(() => {
  hanging.closeAllConnections();
  hanging.close();
});
const hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;

for (const transport of ['stdio', 'http'] as const) {
  describe(`query_metrics over ${transport} with a Prometheus that hangs`, () => {
    const tool = serverForSuite(transport, { PROMETHEUS_URL: hangingUrl, PROMETHEUS_TIMEOUT: '1s' });
    it('answers a clear tool error within the timeout, and the incident tools keep working', async () => {
      const started = Date.now();
      const { r, t } = await tool('query_metrics', { query: 'up', range: '1h' });
      expect(Date.now() - started).toBeLessThan(3000);
      expect(r.isError).toBe(true);
      expect(t).toBe(`Prometheus at ${hangingUrl} did not answer within 1s (PROMETHEUS_TIMEOUT)`);
      expect((await tool('list_incidents', {})).r.isError).toBeFalsy();
    });
  });
}

describe('query_metrics without a usable Prometheus', () => {
  it('says what to configure when PROMETHEUS_URL is not set, while the incident tools work', async () => {
    const dir = tempDir();
    const c = await connectStdio({ DATA_DIR: dir.path });
    const r = await call(c.client, 'query_metrics', { query: 'up' });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^Not configured: the metric tools need Prometheus or a Thanos Querier\. Set PROMETHEUS_URL/);
    const created = await call(c.client, 'create_incident', { title: 't', description: 'd', severity: 'low', target: 'x' });
    expect(created.isError).toBeFalsy();
    await c.close();
    dir.cleanup();
  });

  it('reports an outage clearly, within the timeout, and keeps serving', async () => {
    const dir = tempDir();
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = await connectStdio({ DATA_DIR: dir.path, PROMETHEUS_URL: dead, PROMETHEUS_TIMEOUT: '2s' });
    const started = Date.now();
    const r = await call(c.client, 'query_metrics', { query: 'up' });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(new RegExp(`^Prometheus at ${dead} is unreachable: connect ECONNREFUSED`));
    const listed = await call(c.client, 'list_incidents', {});
    expect(listed.isError).toBeFalsy();
    await c.close();
    dir.cleanup();
  });
});
