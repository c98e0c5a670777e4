// The HTTP transport's parts on their own: admission (its order, the caps on requests in flight
// and their release), the MCP endpoint's nesting guard, and the operations endpoints, each
// driven with plain request objects or a real local HTTP server; the e2e tests in
// test/e2e/http-*.test.ts drive the composed transport.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { App, HttpApp } from '../../src/app.js';
import { Admission, type AdmissionOptions } from '../../src/transports/http-admission.js';
import { TokenAuth } from '../../src/transports/http-auth.js';
import { MAX_NESTING, nestsDeeperThan } from '../../src/transports/http-mcp.js';
import { opsRoute } from '../../src/transports/http-ops.js';
import { createHostPolicy } from '../../src/transports/http-security.js';
import { captureLogger } from '../helpers/log.js';

const TOKEN = 'unit-token-0123456789abcdef';

function admission(overrides: Partial<AdmissionOptions> = {}, tokens: string[] = []): Admission {
  const { log } = captureLogger();
  return new Admission({
    auth: new TokenAuth({ tokens, file: null, log }),
    hostPolicy: createHostPolicy({ bindHost: '127.0.0.1', allowedHosts: [], allowedOrigins: [] }),
    rateLimit: 0,
    maxConcurrent: 10,
    maxConcurrentPerClient: 10,
    maxBodyBytes: 1000,
    log,
    ...overrides,
  });
}

const req = (headers: Record<string, string>, address = '127.0.0.1') => ({ headers, socket: { remoteAddress: address } }) as unknown as IncomingMessage;
const host = { host: '127.0.0.1:8080' };

describe('admission', () => {
  it('checks Host before the token, the token before the rate, and the declared size last', () => {
    const a = admission({ rateLimit: 1 }, [TOKEN]);
    const refused = (h: Record<string, string>) => {
      const r = a.check(req(h));
      return 'refused' in r ? `${r.refused.status} ${r.refused.reason}` : 'admitted';
    };
    expect(refused({ host: 'evil.example', 'content-length': '5000' })).toBe('403 forbidden');
    expect(refused({ ...host, 'content-length': '5000' })).toBe('401 unauthorized');
    expect(refused({ ...host, authorization: `Bearer ${TOKEN}`, 'content-length': '5000' })).toBe('413 too_large');
    expect(refused({ ...host, authorization: `Bearer ${TOKEN}` })).toBe('admitted');
    // a burst of 10 a second when the rate is 1 (at least 10): the 12th in a row is refused
    const statuses = Array.from({ length: 12 }, () => refused({ ...host, authorization: `Bearer ${TOKEN}` }));
    expect(statuses.at(-1)).toBe('429 rate_limited');
  });

  it('names the caller by token fingerprint, or by address without tokens', () => {
    const withTokens = admission({}, [TOKEN]).check(req({ ...host, authorization: `Bearer ${TOKEN}` }, '10.0.0.7'));
    expect(withTokens).toEqual({ caller: { client: expect.stringMatching(/^tok-[0-9a-f]{8}$/), address: '10.0.0.7', quota: expect.stringMatching(/^tok-/) } });
    expect(admission().check(req(host, '10.0.0.7'))).toEqual({ caller: { client: 'anonymous', address: '10.0.0.7', quota: 'addr:10.0.0.7' } });
  });

  it('caps requests in flight per process and per client, and frees a place once per release', () => {
    const a = admission({ maxConcurrent: 3, maxConcurrentPerClient: 2 });
    const alice = { client: 'anonymous', address: '10.0.0.1', quota: 'addr:10.0.0.1' };
    const bob = { client: 'anonymous', address: '10.0.0.2', quota: 'addr:10.0.0.2' };
    const enter = (c: typeof alice) => a.enter(c);
    const first = enter(alice);
    const second = enter(alice);
    const third = enter(alice);
    expect('refused' in third && third.refused).toMatchObject({ status: 503, reason: 'too_many_requests', message: expect.stringMatching(/for this client \(2, MCP_MAX_CONCURRENT_PER_CLIENT\)/) });
    expect('release' in enter(bob)).toBe(true);
    const fourth = enter(bob);
    expect('refused' in fourth && fourth.refused.message).toMatch(/^Too many requests in flight \(3, MCP_MAX_CONCURRENT\)/);
    expect(a.inflight).toBe(3);
    if (!('release' in first) || !('release' in second)) throw new Error('admitted');
    first.release();
    first.release(); // twice (close after finish): still one place
    expect(a.inflight).toBe(2);
    expect('release' in enter(alice)).toBe(true);
    second.release();
    expect(a.inflight).toBe(2);
  });
});

describe('the MCP endpoint nesting guard', () => {
  const nested = (depth: number) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { x: v };
    return v;
  };
  it('finds nesting past the limit at any depth without recursing', () => {
    expect(nestsDeeperThan(nested(MAX_NESTING), MAX_NESTING)).toBe(false);
    expect(nestsDeeperThan(nested(MAX_NESTING + 1), MAX_NESTING)).toBe(true);
    expect(nestsDeeperThan(nested(200_000), MAX_NESTING)).toBe(true);
    expect(nestsDeeperThan({ a: [1, 2, { b: 'c' }], d: null }, 3)).toBe(false);
    expect(nestsDeeperThan('flat', 0)).toBe(false);
  });
});

describe('operations endpoints', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function serve(ready: boolean, draining: boolean): Promise<string> {
    const app = {
      store: { health: async () => (ready ? { ok: true, backend: 'file' } : { ok: false, backend: 'file', error: 'disk full' }) },
      prometheus: null,
      metrics: { scrape: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'up 1\n' }) },
    } as unknown as HttpApp;
    const route = opsRoute(app, { inflight: () => 4, draining: () => draining });
    server = createServer((rq, rs) => void route(rq, rs, (rq.url ?? '/').split('?')[0]!));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const get = (url: string, method = 'GET') =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const rq = request(url, { method }, (rs) => {
        let body = '';
        rs.on('data', (d: Buffer) => (body += d.toString()));
        rs.on('end', () => resolve({ status: rs.statusCode ?? 0, body }));
      });
      rq.on('error', reject);
      rq.end();
    });

  it('answers liveness with the requests in flight, readiness from the store, and the metrics', async () => {
    const base = await serve(true, false);
    expect(JSON.parse((await get(`${base}/healthz`)).body)).toMatchObject({ status: 'ok', requests_in_flight: 4 });
    const ready = await get(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ready', dependencies: { store: 'file, writable', prometheus: 'not configured' } });
    expect(await get(`${base}/metrics`)).toEqual({ status: 200, body: 'up 1\n' });
    expect((await get(`${base}/metrics`, 'POST')).status).toBe(405);
  });

  it('is not ready while draining or when the store cannot write', async () => {
    const draining = await serve(true, true);
    expect(JSON.parse((await get(`${draining}/readyz`)).body)).toMatchObject({ status: 'not ready', problems: ['shutting down'] });
    server!.close();
    const broken = await serve(false, false);
    const r = await get(`${broken}/readyz`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).problems).toEqual(['store: disk full']);
  });
});
