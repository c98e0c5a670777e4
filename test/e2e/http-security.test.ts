// The HTTP endpoint's defences through real HTTP against the built server: tokens (401),
// Host/Origin (403), body size (413), rate (429), caps on requests in flight (503), read-only;
// and that it keeps no session (any replica can answer any request).
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  INITIALIZE,
  MCP_POST_HEADERS,
  call,
  connectHttp,
  freePort,
  rawRequest,
  runServer,
  startHttpServer,
  tempDir,
  text,
  type HttpServer,
} from '../helpers/server.js';

const TOKEN = 'e2e-token-0123456789abcdef';
const OTHER = 'e2e-other-0123456789abcdef';
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
type Structured = Record<string, any>;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function server(env: Record<string, string> = {}, args: string[] = []): Promise<HttpServer> {
  const dir = tempDir();
  const srv = await startHttpServer({ DATA_DIR: dir.path, ...env }, args);
  cleanups.push(() => dir.cleanup(), () => srv.stop());
  return srv;
}

describe('authentication, Host and Origin', () => {
  let srv: HttpServer;
  const dir = tempDir();
  beforeAll(async () => {
    srv = await startHttpServer({ DATA_DIR: dir.path, MCP_AUTH_TOKEN: `${TOKEN},${OTHER}` });
  });
  afterAll(async () => {
    await srv?.stop();
    dir.cleanup();
  });

  it('answers 401 with a Bearer challenge without a token or with a wrong one', async () => {
    const none = await rawRequest(srv.url, { headers: MCP_POST_HEADERS, body: INITIALIZE });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="prom-incident-mcp"');
    expect(JSON.parse(none.body)).toMatchObject({ jsonrpc: '2.0', error: { message: expect.stringMatching(/^Unauthorized/) }, id: null });
    const wrong = await rawRequest(srv.url, { headers: { ...MCP_POST_HEADERS, ...bearer(`${TOKEN}x`) }, body: INITIALIZE });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Bearer realm="prom-incident-mcp", error="invalid_token"');
    const get = await rawRequest(srv.url, { method: 'GET', headers: bearer('nope-nope-nope-nope') });
    expect(get.status).toBe(401);
    await expect(connectHttp(srv.url)).rejects.toThrow();
  });

  it('serves the MCP client that sends a valid token; either rotation token works', async () => {
    for (const t of [TOKEN, OTHER]) {
      const c = await connectHttp(srv.url, bearer(t));
      const { tools } = await c.client.listTools();
      expect(tools.map((x) => x.name)).toContain('create_incident');
      await c.close();
    }
  });

  it('keeps no session: initialize opens none, and a 2025-era request needs none', async () => {
    const init = await rawRequest(srv.url, { headers: { ...MCP_POST_HEADERS, ...bearer(TOKEN) }, body: INITIALIZE });
    expect(init.status).toBe(200);
    expect(init.headers['mcp-session-id']).toBeUndefined();
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const v2025 = { ...MCP_POST_HEADERS, 'mcp-protocol-version': '2025-11-25' };
    for (const t of [TOKEN, OTHER]) {
      const r = await rawRequest(srv.url, { headers: { ...v2025, ...bearer(t) }, body: list });
      expect(r.status).toBe(200);
      expect(r.body).toContain('create_incident');
    }
  });

  it('answers an empty JSON-RPC batch with an Invalid Request error, not 202', async () => {
    const r = await rawRequest(srv.url, { headers: { ...MCP_POST_HEADERS, ...bearer(TOKEN) }, body: '[]' });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32600, message: expect.stringMatching(/^Invalid Request/) }, id: null });
  });

  it('answers 403 to a foreign Origin and to a rebinding Host, before looking at the token', async () => {
    const origin = await rawRequest(srv.url, { headers: { ...MCP_POST_HEADERS, ...bearer(TOKEN), origin: 'https://evil.example' }, body: INITIALIZE });
    expect(origin.status).toBe(403);
    expect(JSON.parse(origin.body).error.message).toMatch(/Origin "https:\/\/evil\.example" is not allowed; add it to MCP_ALLOWED_ORIGINS/);
    const port = new URL(srv.url).port;
    const host = await rawRequest(srv.url, { headers: { ...MCP_POST_HEADERS, ...bearer(TOKEN), host: `rebind.evil.example:${port}` }, body: INITIALIZE });
    expect(host.status).toBe(403);
    const local = await rawRequest(srv.url, {
      headers: { ...MCP_POST_HEADERS, ...bearer(TOKEN), host: `localhost:${port}`, origin: 'http://localhost:6274' },
      body: INITIALIZE,
    });
    expect(local.status).toBe(200);
  });

  it('warns at start-up when MCP_ALLOWED_HOSTS=* turns the rebinding check off', async () => {
    const open = await server({ MCP_ALLOWED_HOSTS: '*' });
    const port = new URL(open.url).port;
    expect((await rawRequest(open.url, { headers: { ...MCP_POST_HEADERS, host: `rebind.evil.example:${port}` }, body: INITIALIZE })).status).toBe(200);
    const warnings = open.stderr().split('\n').filter((l) => l.includes('"level":40'));
    expect(warnings).toEqual([expect.stringMatching(/MCP_ALLOWED_HOSTS is \*: any Host header is accepted, so \/mcp is NOT protected against DNS rebinding/)]);
    expect(srv.stderr()).not.toMatch(/DNS rebinding/);
  });

  it('warns at start-up when MCP_ALLOWED_ORIGINS=* lets any web page send requests', async () => {
    const open = await server({ MCP_ALLOWED_ORIGINS: '*' });
    const port = new URL(open.url).port;
    const from = { ...MCP_POST_HEADERS, ...bearer(TOKEN), host: `localhost:${port}`, origin: 'https://any.example' };
    expect((await rawRequest(open.url, { headers: from, body: INITIALIZE })).status).toBe(200);
    const warnings = open.stderr().split('\n').filter((l) => l.includes('"level":40'));
    expect(warnings).toEqual([expect.stringMatching(/MCP_ALLOWED_ORIGINS is \*: a page on any web site can send requests to \/mcp/)]);
    expect(srv.stderr()).not.toMatch(/MCP_ALLOWED_ORIGINS/);
  });

  it('answers 413 to a body over 1 MiB, declared or streamed', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { pad: 'x'.repeat(1_100_000) } });
    const declared = await rawRequest(srv.url, { headers: { ...MCP_POST_HEADERS, ...bearer(TOKEN) }, body: big });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error.message).toMatch(/^Payload too large/);
    const chunked = await rawRequest(srv.url, { headers: { ...MCP_POST_HEADERS, ...bearer(TOKEN), 'transfer-encoding': 'chunked' }, body: big });
    expect(chunked.status).toBe(413);
  });

  it('answers 413 before 100 Continue when the declared body is over the limit, and 100 Continue otherwise', async () => {
    const expect100 = (length: number, token = TOKEN) =>
      new Promise<{ continued: boolean; status: number }>((resolve, reject) => {
        const req = httpRequest(srv.url, {
          method: 'POST',
          agent: false,
          headers: { ...MCP_POST_HEADERS, ...bearer(token), expect: '100-continue', 'content-length': String(length) },
        });
        let continued = false;
        req.on('continue', () => {
          continued = true;
          req.end('x'.repeat(length)); // not JSON: answered 400 once read
        });
        req.on('response', (res) => {
          res.resume();
          resolve({ continued, status: res.statusCode ?? 0 });
          req.destroy();
        });
        req.on('error', reject);
        req.flushHeaders();
      });
    expect(await expect100(2_000_000)).toEqual({ continued: false, status: 413 });
    expect(await expect100(2_000_000, 'not-a-token-at-all')).toEqual({ continued: false, status: 401 });
    expect(await expect100(10)).toEqual({ continued: true, status: 400 });
  });

  it('serves probes and metrics without the token, with the refusals counted', async () => {
    const base = srv.url.replace(/\/mcp$/, '');
    const ready = await rawRequest(`${base}/readyz`, { method: 'GET' });
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ready', dependencies: { store: 'file, writable', prometheus: 'not configured' } });
    const health = await rawRequest(`${base}/healthz`, { method: 'GET' });
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
    const metrics = await rawRequest(`${base}/metrics`, { method: 'GET' });
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/prom_incident_mcp_http_rejected_requests_total\{reason="unauthorized"\} [1-9]/);
    expect(metrics.body).toMatch(/prom_incident_mcp_http_rejected_requests_total\{reason="forbidden"\} [1-9]/);
    expect(metrics.body).toMatch(/prom_incident_mcp_http_rejected_requests_total\{reason="too_large"\} [1-9]/);
    expect(metrics.body).toContain('process_resident_memory_bytes');
    expect(metrics.body).not.toContain(TOKEN);
  });
});

describe('limits', () => {
  it('answers a flood with 429 and Retry-After, per client', async () => {
    const srv = await server({ MCP_AUTH_TOKEN: `${TOKEN},${OTHER}` }, ['--rate-limit', '2']);
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 30; i++) {
      const r = await rawRequest(srv.url, { method: 'GET', headers: bearer(TOKEN) });
      statuses.push(r.status);
      if (r.status === 429) retryAfter ??= r.headers['retry-after'] as string;
    }
    // a burst of 10 passes (to the 405: a stateless endpoint has no GET stream), then the limit bites
    expect(statuses.slice(0, 10).every((s) => s === 405)).toBe(true);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(15);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // another client (token) has its own budget
    expect((await rawRequest(srv.url, { method: 'GET', headers: bearer(OTHER) })).status).toBe(405);
  });

  it('answers a flood of wrong tokens with 429 and Retry-After, and logs each failure without the token', async () => {
    const srv = await server({ MCP_AUTH_TOKEN: TOKEN, MCP_RATE_LIMIT: '50' });
    const wrong = 'wrong-token-0123456789-hunter2';
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await rawRequest(srv.url, { headers: { ...MCP_POST_HEADERS, ...bearer(wrong) }, body: INITIALIZE }));
    const statuses = answers.map((r) => r.status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401)); // the burst
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(5);
    const refused = answers.find((r) => r.status === 429)!;
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refused.body).error.message).toBe('Too many failed authentications from this address: at most 10 at once, then 1 per second');
    // the address waits whatever it sends, until its budget refills
    const ok = () => rawRequest(srv.url, { method: 'GET', headers: bearer(TOKEN) });
    expect((await ok()).status).toBe(429);
    let status = 429;
    for (let i = 0; i < 50 && status === 429; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await ok()).status;
    }
    expect(status).toBe(405); // through to the MCP endpoint
    const logged = srv.stderr().split('\n').filter((l) => l.includes('authentication failed'));
    expect(logged).toHaveLength(statuses.filter((s) => s === 401).length);
    for (const l of logged) expect(JSON.parse(l)).toMatchObject({ level: 40, remote: '127.0.0.1', reason: 'invalid token' });
    expect(srv.stderr()).not.toContain('hunter2');
  });

  // The store's file lock, held by the test, keeps create_incident calls in flight on purpose.
  const holdStoreLock = (dir: string) => lockfile.lock(dir, { lockfilePath: join(dir, 'incidents.lock'), realpath: false, stale: 5000 });
  const create = (url: string, headers: Record<string, string> = {}) =>
    rawRequest(url, {
      headers: { ...MCP_POST_HEADERS, 'mcp-protocol-version': '2025-11-25', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'create_incident', arguments: { title: 't', description: 'd', severity: 'low', target: 'caps' } } }),
    });
  async function inFlight(srv: HttpServer, n: number): Promise<void> {
    const base = srv.url.replace(/\/mcp$/, '');
    for (let i = 0; i < 200; i++) {
      if (JSON.parse((await rawRequest(`${base}/healthz`, { method: 'GET' })).body).requests_in_flight === n) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`never ${n} requests in flight`);
  }

  it('caps the requests in flight of the process with 503 and Retry-After', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const srv = await startHttpServer({ DATA_DIR: dir.path, MCP_MAX_CONCURRENT: '2', MCP_MAX_CONCURRENT_PER_CLIENT: '2' });
    cleanups.push(() => srv.stop());
    const release = await holdStoreLock(dir.path);
    const held = [create(srv.url), create(srv.url)];
    await inFlight(srv, 2);
    const third = await create(srv.url);
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('1');
    expect(JSON.parse(third.body).error.message).toBe('Too many requests in flight (2, MCP_MAX_CONCURRENT); retry shortly');
    await release();
    for (const r of await Promise.all(held)) expect(r.status).toBe(200);
    expect((await create(srv.url)).status).toBe(200); // answered requests free their place
  });

  it('caps the requests in flight of one client, so one token holder cannot take them all', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const srv = await startHttpServer({ DATA_DIR: dir.path, MCP_AUTH_TOKEN: `${TOKEN},${OTHER}`, MCP_MAX_CONCURRENT: '8' }); // 2 per client by default
    cleanups.push(() => srv.stop());
    const release = await holdStoreLock(dir.path);
    const held = [create(srv.url, bearer(TOKEN)), create(srv.url, bearer(TOKEN))];
    await inFlight(srv, 2);
    const third = await create(srv.url, bearer(TOKEN));
    expect(third.status).toBe(503);
    expect(JSON.parse(third.body)).toEqual({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Too many requests in flight for this client (2, MCP_MAX_CONCURRENT_PER_CLIENT); wait for answers before sending more' },
      id: null,
    });
    const other = create(srv.url, bearer(OTHER)); // another token has its own share
    await inFlight(srv, 3);
    await release();
    for (const r of await Promise.all([...held, other])) expect(r.status).toBe(200);
  });

  it('refuses to serve a non-loopback address without a token', async () => {
    const r = await runServer(['--transport', 'http', '--host', '0.0.0.0', '--port', String(await freePort())], { DATA_DIR: tempDir().path });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'prom-incident-mcp: HOST 0.0.0.0 is not a loopback address and no token is set: set MCP_AUTH_TOKEN or MCP_AUTH_TOKEN_FILE, or pass --allow-unauthenticated (MCP_ALLOW_UNAUTHENTICATED=true) if something else guards the port',
    );
  });

  it('refuses an unreadable token file at start-up with exit code 2', async () => {
    const r = await runServer(['--transport', 'http', '--port', String(await freePort())], { DATA_DIR: tempDir().path, MCP_AUTH_TOKEN_FILE: '/nonexistent/token' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/MCP_AUTH_TOKEN_FILE \/nonexistent\/token cannot be read/);
  });
});

describe('read-only mode', () => {
  it('hides the tools that change incidents and refuses them when called anyway', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const rw = await startHttpServer({ DATA_DIR: dir.path });
    const w = await connectHttp(rw.url);
    await call(w.client, 'create_incident', { title: 'seen', description: 'd', severity: 'low', target: 'ro' });
    await w.close();
    await rw.stop();

    const srv = await startHttpServer({ DATA_DIR: dir.path }, ['--read-only']);
    cleanups.push(() => srv.stop());
    const c = await connectHttp(srv.url);
    cleanups.push(() => c.close());
    const { tools } = await c.client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toContain('list_incidents');
    expect(names).not.toContain('create_incident');
    expect(names).not.toContain('update_incident');
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
    const r = await call(c.client, 'create_incident', { title: 'no', description: 'd', severity: 'low', target: 'ro' });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/create_incident is disabled: this server is read-only \(MCP_READ_ONLY\)/);
    const u = await call(c.client, 'update_incident', { id: 'inc-0000000000000000', status: 'resolved' });
    expect(text(u)).toMatch(/update_incident is disabled: this server is read-only/);
    const list = (await call(c.client, 'list_incidents', { target: 'ro' })).structuredContent as Structured;
    expect(list.incidents.map((i: Structured) => i.title)).toEqual(['seen']);
    expect(srv.stderr()).toMatch(/"audit":true.*"outcome":"refused"/);
  });
});
