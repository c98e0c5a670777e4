// Faults a real Prometheus cannot produce on demand (hangs, 5xx, garbage, refusals),
// from a small local fake server; every one must end in a clear error within the timeout.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CapacityError, UpstreamRejectedError, UpstreamUnavailableError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { PrometheusClient, type ClientSettings } from '../../src/prometheus/client.js';
import { plainSettings } from '../../src/prometheus/settings.js';
import { captureLogger } from '../helpers/log.js';
import { freePort } from '../helpers/server.js';

const OK = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: { a: 'b' }, value: [1700000000, '1'] }] } });

interface Fake {
  url: string;
  requests: IncomingMessage[];
  close(): Promise<void>;
}

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c();
});

async function fake(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<Fake> {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    handler(req, res, requests.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  const f = {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  open.push(f.close);
  return f;
}

function client(url: string, over: Partial<ClientSettings> = {}): PrometheusClient {
  const c = new PrometheusClient(plainSettings(url, { timeoutMs: 1000, cacheTtlMs: 0, ...over }), createLogger('silent'));
  open.push(() => c.close());
  return c;
}

async function failure(p: Promise<unknown>): Promise<{ err: Error; ms: number }> {
  const started = Date.now();
  const err = await p.then(
    () => new Error('expected a failure'),
    (e: unknown) => e as Error,
  );
  return { err, ms: Date.now() - started };
}

describe('Prometheus client faults', () => {
  it('gives up on a server that never answers, within the timeout', async () => {
    const f = await fake(() => {
      /* never answer */
    });
    const { err, ms } = await failure(client(f.url).query('up'));
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err.message).toBe(`Prometheus at ${f.url} did not answer within 1s (PROMETHEUS_TIMEOUT)`);
    expect(ms).toBeLessThan(3000);
  });

  it('retries 5xx with backoff and succeeds when the server recovers', async () => {
    const f = await fake((_req, res, n) => {
      if (n < 3) {
        res.writeHead(503).end('overloaded');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(OK);
    });
    const r = await client(f.url, { timeoutMs: 5000 }).query('up');
    expect(r.samples[0]!.v).toBe(1);
    expect(f.requests).toHaveLength(3);
  });

  it('reports a persistent 5xx after its retries', async () => {
    const f = await fake((_req, res) => res.writeHead(502).end('bad gateway'));
    const { err } = await failure(client(f.url, { timeoutMs: 5000 }).query('up'));
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err.message).toBe(`Prometheus at ${f.url} failed (HTTP 502) (after 3 attempts)`);
    expect(f.requests).toHaveLength(3);
  });

  it('explains a body that is not the API\'s JSON, without retrying', async () => {
    const f = await fake((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Log in</html>'));
    const { err } = await failure(client(f.url).query('up'));
    expect(err.message).toMatch(/answered HTTP 200 with text\/html, not the Prometheus API's JSON/);
    expect(f.requests).toHaveLength(1);
    const g = await fake((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"succ'));
    expect((await failure(client(g.url).query('up'))).err.message).toMatch(/not the Prometheus API's JSON/);
  });

  it('says a closed port is unreachable', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const { err } = await failure(client(url, { retries: 0 }).query('up'));
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err.message).toMatch(new RegExp(`^Prometheus at ${url} is unreachable: connect ECONNREFUSED`));
  });

  /** A fake that fails with 500 until made healthy, and a client whose breaker `threshold` failures opened. */
  async function openedBreaker(threshold: number, breakerOpenMs: number) {
    const state = { healthy: false };
    const f = await fake((_req, res) => (state.healthy ? res.writeHead(200, { 'content-type': 'application/json' }).end(OK) : res.writeHead(500).end()));
    const c = client(f.url, { retries: 0, breakerThreshold: threshold, breakerOpenMs });
    for (let i = 0; i < threshold; i++) await failure(c.query(`up${i}`));
    expect(c.breakerState()).toBe('open');
    return { f, c, heal: () => (state.healthy = true) };
  }

  it('opens the circuit after repeated failures, fails fast, then probes again', async () => {
    const { f, c, heal } = await openedBreaker(3, 1000);
    const { err } = await failure(c.query('up'));
    expect(err.message).toMatch(/is unavailable: 3 requests in a row failed \(last: failed \(HTTP 500\)\); next try in/);
    expect(f.requests).toHaveLength(3); // the fast failure never reached the server
    heal();
    await new Promise((r) => setTimeout(r, 1100));
    expect(c.breakerState()).toBe('half_open');
    expect((await c.query('up')).samples).toHaveLength(1);
    expect(c.breakerState()).toBe('closed');
  });

  it('does not open the circuit for slow queries while the upstream answers others', async () => {
    const f = await fake((req, res) => {
      if (req.url!.includes('heavy')) return; // answers only after the client gave up
      res.writeHead(200, { 'content-type': 'application/json' }).end(OK);
    });
    const c = client(f.url, { retries: 0, breakerThreshold: 3 });
    expect((await c.query('up')).samples).toHaveLength(1);
    const slow = await Promise.all(Array.from({ length: 6 }, (_, i) => failure(c.query(`heavy_${i}`))));
    for (const { err } of slow) expect(err.message).toBe(`Prometheus at ${f.url} did not answer within 1s (PROMETHEUS_TIMEOUT)`);
    expect(c.breakerState()).toBe('closed');
    expect((await c.query('up2')).samples).toHaveLength(1);
    expect(await c.health()).toEqual([expect.objectContaining({ ok: true, tier: 'prometheus' })]);
  });

  it('opens the circuit when an upstream answers nothing at all', async () => {
    const f = await fake(() => {
      /* never answer */
    });
    const c = client(f.url, { retries: 0, breakerThreshold: 2 });
    await Promise.all([failure(c.query('up0')), failure(c.query('up1'))]);
    expect(c.breakerState()).toBe('open');
  });

  it('probes the upstream for health past an open circuit, and an answer closes it', async () => {
    const { f, c, heal } = await openedBreaker(2, 60_000);
    const [down] = await c.health();
    expect(down).toMatchObject({ ok: false, error: 'failed (HTTP 500)' });
    expect(f.requests).toHaveLength(3); // the probe reached the server
    heal();
    expect((await c.health())[0]!.ok).toBe(true);
    expect(c.breakerState()).toBe('closed');
    expect((await c.query('up')).samples).toHaveLength(1);
  });

  it('passes Prometheus\'s own error for a bad query, and does not count it against the upstream', async () => {
    const f = await fake((_req, res) =>
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 4' })),
    );
    const c = client(f.url, { breakerThreshold: 1 });
    const { err } = await failure(c.query('sum('));
    expect(err).toBeInstanceOf(UpstreamRejectedError);
    expect(err.message).toBe('Prometheus rejected the request: bad_data: parse error at char 4');
    expect(c.breakerState()).toBe('closed');
    expect(f.requests).toHaveLength(1);
  });

  it('re-reads a rotated token after a 401, sends credentials, and never shows them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pim-tok-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'old-secret-token');
    const seen: string[] = [];
    const f = await fake((req, res) => {
      seen.push(String(req.headers.authorization));
      if (req.headers.authorization === 'Bearer new-secret-token') res.writeHead(200, { 'content-type': 'application/json' }).end(OK);
      else res.writeHead(401).end('Unauthorized');
    });
    const c = client(f.url.replace('http://', 'http://user:hunter2@'), {
      auth: { token: null, tokenFile, username: null, password: null, headers: { 'X-Scope-OrgID': 'tenant-a' } },
    });
    const { err } = await failure(c.query('up'));
    expect(err.message).toMatch(/refused the request \(HTTP 401\): check PROMETHEUS_TOKEN/);
    for (const secret of ['old-secret-token', 'hunter2']) expect(err.message).not.toContain(secret);
    expect(seen).toEqual(['Bearer old-secret-token', 'Bearer old-secret-token']);
    expect(f.requests[0]!.headers['x-scope-orgid']).toBe('tenant-a');
    writeFileSync(tokenFile, 'new-secret-token');
    expect((await c.query('up')).samples).toHaveLength(1);
  });

  it('recovers when the half-open probe meets a 401 and the token file is re-read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pim-tok-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 't');
    let mode: 'fail' | 'refuse' | 'ok' = 'fail';
    const f = await fake((_req, res) => {
      if (mode === 'fail') res.writeHead(500).end();
      else if (mode === 'refuse') res.writeHead(401).end('Unauthorized');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(OK);
    });
    const c = client(f.url, { retries: 0, breakerThreshold: 2, breakerOpenMs: 200, auth: { token: null, tokenFile, username: null, password: null, headers: {} } });
    for (let i = 0; i < 2; i++) await failure(c.query(`up${i}`));
    expect(c.breakerState()).toBe('open');
    await new Promise((r) => setTimeout(r, 250));
    mode = 'refuse';
    const { err } = await failure(c.query('up'));
    expect(err.message).toMatch(/refused the request \(HTTP 401\)/); // not "unavailable"
    expect(c.breakerState()).toBe('closed'); // a refusal proves the upstream is up
    mode = 'ok';
    expect((await c.query('up2')).samples).toHaveLength(1);
  });

  it('refuses an answer larger than its bound as its own refusal, not Prometheus\'s', async () => {
    const f = await fake((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"status":"success","data":"${'x'.repeat(5000)}"}`));
    const c = client(f.url, { maxResponseBytes: 1000 });
    const { err } = await failure(c.query('up'));
    expect(err).toBeInstanceOf(CapacityError);
    expect(err.message).toMatch(/^This server refused Prometheus's answer: it is larger than PROMETHEUS_MAX_ANSWER_MB \(.* MiB\)\. Narrow the query: fewer series/);
    expect(err.message).not.toMatch(/rejected/);
    expect(c.breakerState()).toBe('closed');
  });

  it('refuses an answer announced as too large without waiting for it', async () => {
    const f = await fake((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 10 << 20 });
      res.write('{"status":"success",'); // and nothing more
    });
    const { err } = await failure(client(f.url, { maxResponseBytes: 1 << 20, timeoutMs: 20_000 }).query('up'));
    expect(err.message).toMatch(/larger than PROMETHEUS_MAX_ANSWER_MB \(1 MiB\)/); // not a timeout
  });

  it('holds at most the in-flight budget of answers at once, refusing the excess as busy and giving bytes back', async () => {
    const padded = (n: number) => `{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["${'x'.repeat(n)}"]}`;
    let finishFirst = () => {};
    let firstStarted = () => {};
    const started = new Promise<void>((r) => (firstStarted = r));
    const f = await fake((req, res) => {
      const body = padded(600_000);
      if (req.url!.includes('first')) {
        // 600 kB streamed (no size announced), the end held back
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(body.slice(0, -10), () => setTimeout(firstStarted, 300));
        finishFirst = () => res.end(body.slice(-10));
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
      }
    });
    const c = client(f.url, { maxResponseBytes: 1 << 20, maxInflightBytes: 1 << 20, timeoutMs: 20_000 });
    const first = c.query('first');
    await started;
    const { err, ms } = await failure(c.query('second'));
    expect(err).toBeInstanceOf(CapacityError);
    expect(err.message).toMatch(
      /^This server is busy with other large answers: holding this answer too would pass PROMETHEUS_MAX_INFLIGHT_MB \(1 MiB of answers in memory at once\)\. Retry in a few seconds, or narrow the query/,
    );
    expect(ms).toBeLessThan(5000); // at once, not after the first answer
    finishFirst();
    expect((await first).warnings[0]).toHaveLength(600_000);
    // the first answer's bytes were given back, and so were the refused one's
    expect((await c.query('third')).warnings[0]).toHaveLength(600_000);
    expect((await c.query('fourth')).warnings[0]).toHaveLength(600_000);
  });

  it('sends long queries as a form POST and short ones as GET', async () => {
    const f = await fake((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(OK));
    const c = client(f.url);
    await c.query('up');
    await c.query(`up{a=~"${'x|'.repeat(4000)}x"}`);
    expect(f.requests.map((r) => r.method)).toEqual(['GET', 'POST']);
  });

  it('stops a caller waiting when its signal aborts', async () => {
    const f = await fake(() => {
      /* hang */
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled by the client')), 50);
    const { err, ms } = await failure(client(f.url, { timeoutMs: 5000 }).query('up', { signal: ac.signal }));
    expect(err.message).toBe('cancelled by the client');
    expect(ms).toBeLessThan(1000);
  });
});

describe('TLS', () => {
  it('trusts a configured CA file, refuses an unknown certificate, and skips verification only when asked', async () => {
    const { execFileSync } = await import('node:child_process');
    const { readFileSync } = await import('node:fs');
    const https = await import('node:https');
    const dir = mkdtempSync(join(tmpdir(), 'pim-tls-'));
    const sh = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    // a CA, and a server certificate for 127.0.0.1 signed by it (as OpenShift's service CA signs services)
    sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.crt']);
    sh(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'srv.key', '-out', 'srv.csr']);
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    sh(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'srv.crt']);
    const server = https.createServer({ key: readFileSync(join(dir, 'srv.key')), cert: readFileSync(join(dir, 'srv.crt')) }, (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(OK),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    open.push(() => new Promise<void>((r) => server.close(() => r())));
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;

    expect((await client(url, { caFile: join(dir, 'ca.crt') }).query('up')).samples).toHaveLength(1);
    const { err } = await failure(client(url, { retries: 0 }).query('up'));
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err.message).toMatch(/is unreachable: .*(certificate|UNABLE_TO_VERIFY|SELF_SIGNED)/i);
    const cap = captureLogger();
    const insecure = new PrometheusClient(plainSettings(url, { timeoutMs: 1000, cacheTtlMs: 0, insecureSkipVerify: true }), cap.log);
    open.push(() => insecure.close());
    expect((await insecure.query('up')).samples).toHaveLength(1);
    expect(cap.lines().filter((l) => l.level === 40).map((l) => l.msg)).toEqual([expect.stringMatching(/PROMETHEUS_INSECURE_SKIP_VERIFY .* NOT verified/)]);
  });
});

describe('TLS set-up', () => {
  it('names PROMETHEUS_CA_FILE when the CA file is missing (OpenShift\'s service-ca.crt elsewhere)', () => {
    const file = '/var/run/secrets/kubernetes.io/serviceaccount/no-such-ca.crt';
    expect(() => new PrometheusClient(plainSettings('https://prom:9091', { caFile: file }), createLogger('silent'))).toThrow(
      `PROMETHEUS_CA_FILE ${file} cannot be read: ENOENT`,
    );
  });
});

describe('answers that are not what the API promises', () => {
  it('turns JSON of an unexpected shape into a clear error, and reads an empty discovery answer as none', async () => {
    const f = await fake((req, res) => {
      const body = req.url!.startsWith('/api/v1/labels') ? { status: 'success', data: null } : { status: 'success', data: req.url!.startsWith('/api/v1/query') ? null : 'oops' };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    const c = client(f.url);
    // one at a time: a call started early and awaited late would reject with no handler yet
    const calls = [() => c.query('up'), () => c.queryRange('up', { start: Date.now() - 3_600_000, end: Date.now(), step: 60_000 }), () => c.labelValues('job')];
    for (const call of calls) {
      const { err } = await failure(call());
      expect(err).toBeInstanceOf(UpstreamUnavailableError);
      expect(err.message).toMatch(new RegExp(`^Prometheus answered /api/v1/\\S+ with JSON of an unexpected shape \\(.+\\): is the URL a Prometheus-compatible API\\?$`));
    }
    expect((await c.labelNames()).values).toEqual([]);
  });

  it('passes Thanos parameters and returns upstream warnings with discovery answers', async () => {
    const f = await fake((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: ['web'], warnings: ['partial response: store gateway unreachable'] }));
    });
    const c = client(f.url, { thanos: { dedup: true, partialResponse: true, maxSourceResolution: '5m' } });
    expect(await c.labelValues('namespace', { start: Date.now() - 60_000 })).toEqual({
      values: ['web'],
      warnings: ['partial response: store gateway unreachable'],
      tier: 'prometheus',
    });
    const q = new URL(f.requests[0]!.url!, f.url).searchParams;
    expect([q.get('dedup'), q.get('partial_response'), q.get('max_source_resolution')]).toEqual(['true', 'true', '5m']);
  });
});

describe('routing between Prometheus and Thanos', () => {
  /** Two fakes that answer with their own name, so the test sees which one was asked. */
  async function tiers(promUp = true) {
    const answer = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
      const path = new URL(req.url!, 'http://x').pathname;
      const data = path === '/api/v1/query'
        ? { resultType: 'vector', result: [{ metric: { from: name }, value: [1700000000, '1'] }] }
        : path === '/api/v1/query_range'
          ? { resultType: 'matrix', result: [{ metric: { from: name }, values: [[1700000000, '1']] }] }
          : path === '/api/v1/metadata' ? { up: [{ type: 'gauge', help: name, unit: '' }] } : [name];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data }));
    };
    const prom = await fake(promUp ? answer('prometheus') : (_req, res) => res.writeHead(503).end());
    const thanos = await fake(answer('thanos'));
    return { prom, thanos, c: client(prom.url, { thanosUrl: thanos.url, retries: 0 }) };
  }

  it('sends a short range in the past to Thanos: routing is on how far back data starts, not on span alone', async () => {
    const { c } = await tiers();
    const now = Date.now();
    const day = 86_400_000;
    expect((await c.queryRange('up', { start: now - 10 * 60_000, end: now, step: 60_000 })).tier).toBe('prometheus');
    expect((await c.queryRange('up', { start: now - 30 * day - 10 * 60_000, end: now - 30 * day, step: 60_000 })).tier).toBe('thanos');
    expect((await c.query('up', { time: now - 30 * day })).tier).toBe('thanos');
    expect((await c.query('up')).tier).toBe('prometheus');
    expect((await c.query('rate(up[1h])')).tier).toBe('thanos');
    expect((await c.labelValues('namespace', { start: now - 5 * 60_000 })).tier).toBe('prometheus');
    expect((await c.labelValues('namespace', { start: now - 2 * day })).tier).toBe('thanos');
  });

  it('asks Thanos for metadata when Prometheus is down, and keeps a fallback answer only briefly', async () => {
    const { c, thanos } = await tiers(false);
    const md = await c.metadata();
    expect(md.tier).toBe('thanos');
    expect(md.warnings[0]).toMatch(/^Prometheus failed \(HTTP 503\).*answered by Thanos instead/);
    expect(md.values.up![0]!.help).toBe('thanos');
    expect(thanos.requests).toHaveLength(1);
  });
});
