// Graceful shutdown, the per-call time limit, audit lines and /metrics, through real HTTP
// against the built server. The store's own file lock, held by the test, is how calls are
// kept in flight on purpose.
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { call, connectHttp, connectStdio, freePort, rawRequest, startHttpServer, tempDir, text, type Connected, type HttpServer } from '../helpers/server.js';

type Structured = Record<string, any>;
const TOKEN = 'lifecycle-token-0123456789';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function dirFor(): string {
  const d = tempDir();
  cleanups.push(() => d.cleanup());
  return d.path;
}
/** Takes the store's cross-process lock, as another server writing would. */
function holdStoreLock(dir: string): Promise<() => Promise<void>> {
  return lockfile.lock(dir, { lockfilePath: join(dir, 'incidents.lock'), realpath: false, stale: 5000 });
}
async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
const health = async (srv: HttpServer) => JSON.parse((await rawRequest(srv.url.replace(/\/mcp$/, '/healthz'), { method: 'GET' })).body);
const incident = (n: string) => ({ title: n, description: 'd', severity: 'high', target: 'drain' });

describe('graceful shutdown', () => {
  it('on SIGTERM during a stream of creates, every acknowledged incident is kept and the exit code is 0', async () => {
    const dir = dirFor();
    const srv = await startHttpServer({ DATA_DIR: dir });
    cleanups.push(() => srv.stop('SIGKILL'));
    const conns = await Promise.all([0, 1, 2, 3, 4, 5].map(() => connectHttp(srv.url)));
    const acked: string[] = [];
    let failures = 0;
    const loops = conns.map(async (c, k) => {
      for (let n = 0; ; n++) {
        try {
          const r = await call(c.client, 'create_incident', incident(`s${k}-${n}`), { timeout: 5000 });
          if (!r.isError) acked.push((r.structuredContent as Structured).incident.id);
        } catch {
          failures++;
          return; // refused (503) or the connection closed: not acknowledged
        }
      }
    });
    await waitFor('150 acknowledged creates', async () => acked.length >= 150);
    const exit = srv.stop('SIGTERM');
    await Promise.all(loops);
    expect(await exit).toBe(0);
    expect(failures).toBe(conns.length);
    expect(srv.stderr()).toMatch(/"msg":"shutdown complete"/);
    for (const c of conns) await c.close().catch(() => undefined);

    const again = await connectStdio({ DATA_DIR: dir });
    cleanups.push(() => again.close());
    const s = (await call(again.client, 'list_incidents', { target: 'drain', limit: 500, status: 'all' })).structuredContent as Structured;
    const stored = new Set(s.incidents.map((i: Structured) => i.id));
    expect(s.total).toBeGreaterThanOrEqual(acked.length);
    for (const id of acked) expect(stored.has(id), id).toBe(true);
  }, 60_000);

  it('lets calls in flight finish before exiting, and refuses new ones meanwhile', async () => {
    const dir = dirFor();
    const srv = await startHttpServer({ DATA_DIR: dir });
    cleanups.push(() => srv.stop('SIGKILL'));
    const c = await connectHttp(srv.url);
    await call(c.client, 'list_incidents', {});
    const release = await holdStoreLock(dir);
    const pending = [1, 2, 3].map((n) => call(c.client, 'create_incident', incident(`inflight-${n}`), { timeout: 20_000 }));
    await waitFor('three calls in flight', async () => (await health(srv)).requests_in_flight === 3);
    const exit = srv.stop('SIGTERM');
    await waitFor('the drain to start', async () => /waiting for requests in flight/.test(srv.stderr()));
    // the listener is closed, so a new connection is refused; a kept-alive one gets 503
    await expect(rawRequest(srv.url, { method: 'GET' })).rejects.toThrow(/ECONNREFUSED/);
    await expect(call(c.client, 'list_incidents', {})).rejects.toThrow(/503|shutting down|fetch failed|other side closed/i);
    await release();
    const results = await Promise.all(pending);
    for (const r of results) expect(r.isError, text(r)).toBeFalsy();
    expect(await exit).toBe(0);
    await c.close().catch(() => undefined);

    const again = await connectStdio({ DATA_DIR: dir });
    cleanups.push(() => again.close());
    const s = (await call(again.client, 'list_incidents', { target: 'drain' })).structuredContent as Structured;
    expect(s.incidents.map((i: Structured) => i.title).sort()).toEqual(['inflight-1', 'inflight-2', 'inflight-3']);
  }, 60_000);
});

describe('per-call time limit, audit and metrics', () => {
  let srv: HttpServer;
  let conn: Connected;
  let dir: string;

  it('answers a call stuck past MCP_TOOL_TIMEOUT with a tool error; the create still lands', async () => {
    dir = dirFor();
    srv = await startHttpServer({ DATA_DIR: dir, MCP_AUTH_TOKEN: TOKEN, MCP_TOOL_TIMEOUT: '1s' });
    cleanups.push(() => srv.stop());
    conn = await connectHttp(srv.url, { authorization: `Bearer ${TOKEN}` });
    cleanups.push(() => conn.close());
    const release = await holdStoreLock(dir);
    const r = await call(conn.client, 'create_incident', incident('slow'));
    await release();
    expect(r.isError).toBe(true);
    expect(text(r)).toBe('create_incident did not finish within 1s (MCP_TOOL_TIMEOUT). It may still complete: check the current state before retrying.');
    await waitFor('the late create', async () => {
      const l = (await call(conn.client, 'list_incidents', { target: 'drain' })).structuredContent as Structured;
      return l.total === 1;
    });

    const ok = await call(conn.client, 'create_incident', incident('audited'));
    const id = (ok.structuredContent as Structured).incident.id;
    const audit = srv
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"audit":true'))
      .map((l) => JSON.parse(l));
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ tool: 'create_incident', outcome: 'timeout', incident: null, client: 'vitest-http', auth: expect.stringMatching(/^tok-/) });
    expect(audit[1]).toMatchObject({ tool: 'create_incident', outcome: 'ok', incident: id, client: 'vitest-http', level: 30 });
    expect(srv.stderr()).not.toContain(TOKEN);

    const m = (await rawRequest(srv.url.replace(/\/mcp$/, '/metrics'), { method: 'GET' })).body;
    expect(m).toContain('prom_incident_mcp_tool_calls_total{tool="create_incident",outcome="timeout"} 1');
    expect(m).toContain('prom_incident_mcp_tool_calls_total{tool="create_incident",outcome="ok"} 1');
    expect(m).toMatch(/prom_incident_mcp_tool_calls_total\{tool="list_incidents",outcome="ok"\} [1-9]/);
    expect(m).toContain('prom_incident_mcp_incidents{status="active"} 2');
    expect(m).toContain('prom_incident_mcp_http_requests_in_flight 0');
    expect(m).toMatch(/prom_incident_mcp_tool_call_duration_seconds_bucket\{le="\+Inf",tool="create_incident"\} 2/);
  }, 60_000);
});

describe('with the real Prometheus client', () => {
  it('reports Prometheus in /readyz, and its requests, cache and breaker in /metrics', async () => {
    const srv = await startHttpServer({ DATA_DIR: dirFor(), PROMETHEUS_URL: inject('prometheusUrl') });
    cleanups.push(() => srv.stop());
    const base = srv.url.replace(/\/mcp$/, '');
    const ready = await rawRequest(`${base}/readyz`, { method: 'GET' });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ dependencies: { prometheus: 'connected' }, prometheus_tiers: [{ ok: true }] });
    const c = await connectHttp(srv.url);
    cleanups.push(() => c.close());
    for (let i = 0; i < 2; i++) {
      const r = await call(c.client, 'query_metrics', { query: 'up' });
      expect(r.isError, text(r)).toBeFalsy();
    }
    const bad = await call(c.client, 'query_metrics', { query: 'sum(' });
    expect(bad.isError).toBe(true);
    const m = (await rawRequest(`${base}/metrics`, { method: 'GET' })).body;
    expect(m).toMatch(/prom_incident_mcp_upstream_request_duration_seconds_count\{endpoint="[^"]+",tier="prometheus",outcome="ok"\} [1-9]/);
    expect(m).toMatch(/prom_incident_mcp_upstream_request_errors_total\{endpoint="[^"]+",tier="prometheus",outcome="rejected"\} 1/);
    expect(m).toMatch(/prom_incident_mcp_query_cache_lookups_total\{result="hit",shared="false"\} [1-9]/);
    expect(m).toContain('prom_incident_mcp_upstream_breaker_state{state="closed"} 1');
    expect(m).toContain('prom_incident_mcp_tool_calls_total{tool="query_metrics",outcome="ok"} 2');
  });

  it('is not ready while Prometheus does not answer', async () => {
    const srv = await startHttpServer({ DATA_DIR: dirFor(), PROMETHEUS_URL: `http://127.0.0.1:${await freePort()}` });
    cleanups.push(() => srv.stop());
    const ready = await rawRequest(srv.url.replace(/\/mcp$/, '/readyz'), { method: 'GET' });
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'not ready', dependencies: { store: expect.stringMatching(/writable/), prometheus: 'unreachable' } });
  });
});
