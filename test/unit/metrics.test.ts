// /metrics and /readyz wiring against the PrometheusApi interface, with a small stand-in for
// the client (the real one lands separately): its observer events, breaker state and health.
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { FileIncidentStore } from '../../src/incidents/file-store.js';
import { ServerMetrics } from '../../src/metrics.js';
import type { BreakerState, ClientObserver, Health, PrometheusApi } from '../../src/prometheus/api.js';
import { readiness } from '../../src/transports/http-ops.js';
import { captureLogger } from '../helpers/log.js';
import { tempDir } from '../helpers/server.js';

class StandIn {
  readonly url = 'https://thanos-querier.openshift-monitoring.svc:9091';
  observers: ClientObserver[] = [];
  breaker: BreakerState = 'closed';
  tiers: Health[] = [{ ok: true, url: this.url, tier: 'thanos', ms: 12 }];
  hang = false;
  addObserver(o: ClientObserver) {
    this.observers.push(o);
  }
  breakerState() {
    return this.breaker;
  }
  health(): Promise<Health[]> {
    return this.hang ? new Promise(() => {}) : Promise.resolve(this.tiers);
  }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(prom: StandIn | null) {
  const dir = tempDir();
  const { log } = captureLogger('silent');
  const store = await FileIncidentStore.open(dir.path, { logger: log });
  cleanups.push(() => dir.cleanup(), () => store.close());
  const prometheus = prom as unknown as PrometheusApi | null;
  const metrics = new ServerMetrics({ store, prometheus, log });
  const app = { store, prometheus, metrics, log } as unknown as App;
  return { store, metrics, app };
}

/** value of one sample line, e.g. sample(text, 'x_total{a="b"}') */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  it('counts tool calls, upstream requests, cache lookups, breaker state and incidents by status', async () => {
    const prom = new StandIn();
    const { store, metrics } = await setup(prom);
    expect(prom.observers).toHaveLength(1);
    const [obs] = prom.observers;
    obs!.request!({ endpoint: '/api/v1/query', tier: 'thanos', ms: 40, outcome: 'ok' });
    obs!.request!({ endpoint: '/api/v1/query', tier: 'thanos', ms: 3000, outcome: 'timeout' });
    obs!.request!({ endpoint: '/api/v1/query_range', tier: 'prometheus', ms: 5, outcome: 'rejected' });
    obs!.cache!({ hit: true, shared: false });
    obs!.cache!({ hit: true, shared: false });
    obs!.cache!({ hit: false, shared: true });
    prom.breaker = 'open';
    metrics.toolCall('list_incidents', 'ok', 0.004);
    metrics.toolCall('list_incidents', 'invalid_input', 0.001);
    metrics.toolCall('create_incident', 'ok', 0.02);
    metrics.rejected('rate_limited');
    metrics.countInflight(() => 3);
    await store.create({ title: 't', description: 'd', severity: 'low', target: 'x' }, 'test');
    await store.create({ title: 't2', description: 'd', severity: 'high', target: 'x' }, 'test');

    const { body, contentType } = await metrics.scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const P = 'prom_incident_mcp_';
    expect(sample(body, `${P}tool_calls_total{tool="list_incidents",outcome="ok"}`)).toBe(1);
    expect(sample(body, `${P}tool_calls_total{tool="list_incidents",outcome="invalid_input"}`)).toBe(1);
    expect(sample(body, `${P}tool_call_duration_seconds_count{tool="list_incidents"}`)).toBe(2);
    expect(sample(body, `${P}tool_call_duration_seconds_bucket{le="0.005",tool="list_incidents"}`)).toBe(2);
    expect(sample(body, `${P}tool_call_duration_seconds_bucket{le="0.01",tool="create_incident"}`)).toBe(0);
    expect(sample(body, `${P}upstream_request_duration_seconds_count{endpoint="/api/v1/query",tier="thanos",outcome="ok"}`)).toBe(1);
    expect(sample(body, `${P}upstream_request_errors_total{endpoint="/api/v1/query",tier="thanos",outcome="timeout"}`)).toBe(1);
    expect(sample(body, `${P}upstream_request_errors_total{endpoint="/api/v1/query_range",tier="prometheus",outcome="rejected"}`)).toBe(1);
    expect(sample(body, `${P}upstream_request_errors_total{endpoint="/api/v1/query",tier="thanos",outcome="ok"}`)).toBeUndefined();
    expect(sample(body, `${P}query_cache_lookups_total{result="hit",shared="false"}`)).toBe(2);
    expect(sample(body, `${P}query_cache_lookups_total{result="miss",shared="true"}`)).toBe(1);
    expect(sample(body, `${P}upstream_breaker_state{state="open"}`)).toBe(1);
    expect(sample(body, `${P}upstream_breaker_state{state="closed"}`)).toBe(0);
    expect(sample(body, `${P}incidents{status="active"}`)).toBe(2);
    expect(sample(body, `${P}incidents{status="resolved"}`)).toBe(0);
    expect(sample(body, `${P}http_requests_in_flight`)).toBe(3);
    expect(sample(body, `${P}http_rejected_requests_total{reason="rate_limited"}`)).toBe(1);
    expect(body).not.toContain('process_cpu'); // process metrics only when served over HTTP
    metrics.enableProcessMetrics();
    expect((await metrics.scrape()).body).toContain('process_cpu_user_seconds_total');
  });

  it('has no upstream series when Prometheus is not configured', async () => {
    const { metrics } = await setup(null);
    const { body } = await metrics.scrape();
    expect(body).not.toContain('upstream_');
    expect(body).toContain('prom_incident_mcp_incidents{status="active"} 0');
  });
});

describe('/readyz', () => {
  it('is ready with a writable store and Prometheus not configured', async () => {
    const { app } = await setup(null);
    const r = await readiness(app, { draining: false });
    expect(r.ready).toBe(true);
    expect(r.body).toMatchObject({ status: 'ready', dependencies: { store: 'file, writable', prometheus: 'not configured' } });
  });

  it('follows Prometheus: connected, one tier down, all down, hanging', async () => {
    const prom = new StandIn();
    const { app } = await setup(prom);
    expect(await readiness(app, { draining: false })).toMatchObject({ ready: true, body: { dependencies: { prometheus: 'connected' } } });
    prom.tiers = [
      { ok: true, url: 'http://p', tier: 'prometheus', ms: 3 },
      { ok: false, url: 'http://t', tier: 'thanos', ms: 3, error: 'connection refused' },
    ];
    const partial = await readiness(app, { draining: false });
    expect(partial.ready).toBe(true);
    expect(partial.body.problems).toEqual(['thanos http://t: connection refused']);
    prom.tiers = [{ ok: false, url: 'http://t', tier: 'thanos', ms: 3, error: 'HTTP 503' }];
    expect(await readiness(app, { draining: false })).toMatchObject({ ready: false, body: { status: 'not ready', dependencies: { prometheus: 'unreachable' } } });
    prom.hang = true;
    const hung = await readiness(app, { draining: false, timeoutMs: 50 });
    expect(hung).toMatchObject({ ready: false, body: { problems: ['prometheus: Prometheus did not answer within 50 ms'] } });
  });

  it('is not ready while shutting down or when the store is closed', async () => {
    const { app, store } = await setup(null);
    expect((await readiness(app, { draining: true })).body).toMatchObject({ status: 'not ready', problems: ['shutting down'] });
    await store.close();
    const r = await readiness(app, { draining: false });
    expect(r).toMatchObject({ ready: false, body: { dependencies: { store: 'not writable' }, problems: ['store: the store is closed'] } });
  });
});
