import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, redactUrl } from '../../src/config.js';
import { Credentials } from '../../src/prometheus/auth.js';
import { parseAnswer } from '../../src/prometheus/answer.js';
import { CircuitBreaker } from '../../src/prometheus/breaker.js';
import { ByteBudget } from '../../src/prometheus/budget.js';
import { ResultCache } from '../../src/prometheus/cache.js';
import { escapeRegex, matcher, quote } from '../../src/prometheus/promql.js';
import { shapeOf } from '../../src/prometheus/promql-syntax.js';
import { SERVICE_CA_FILES, clientSettings } from '../../src/prometheus/settings.js';
import { SERVICE_ACCOUNT_TOKEN } from '../../src/prometheus/auth.js';

describe('promql helpers', () => {
  it('escapes label values so they cannot end the string', () => {
    expect(quote('prod"} or vector(1) #')).toBe('"prod\\"} or vector(1) #"');
    expect(quote('a\\b\nc')).toBe('"a\\\\b\\nc"');
    expect(matcher('namespace', 'x"y')).toBe('namespace="x\\"y"');
    expect(() => matcher('bad-name', 'x')).toThrow(/invalid label name/);
    expect(escapeRegex('a.b*c')).toBe('a\\.b\\*c');
  });

  it('measures how far back a query reaches', () => {
    const lookbackMs = (q: string) => shapeOf(q)!.lookbackMs;
    expect(lookbackMs('up')).toBe(0);
    expect(lookbackMs('rate(x[5m])')).toBe(300_000);
    expect(lookbackMs('max_over_time(x[1h]) + avg_over_time(y[7d])')).toBe(7 * 86_400_000);
    expect(lookbackMs('rate(x[5m] offset 1d)')).toBe(300_000 + 86_400_000);
    expect(lookbackMs('max_over_time(rate(x[5m])[6h:1m])')).toBe(6 * 3_600_000);
    expect(lookbackMs('x{path="/a[30d]"}')).toBe(0); // inside a string: not a range
  });
});

describe('CircuitBreaker', () => {
  it('opens after the threshold, fails fast, lets one probe through, and closes on success', () => {
    let now = 0;
    const b = new CircuitBreaker(3, 1000, () => now);
    for (let i = 0; i < 2; i++) b.failure('boom');
    expect(b.state()).toBe('closed');
    b.failure('boom');
    expect(b.state()).toBe('open');
    expect(b.allow()).toBe(false);
    now = 1000;
    expect(b.state()).toBe('half_open');
    expect(b.allow()).toBe(true); // the probe
    expect(b.allow()).toBe(false); // others wait for it
    b.failure('still down');
    expect(b.state()).toBe('open');
    now = 2000;
    expect(b.allow()).toBe(true);
    b.success();
    expect(b.state()).toBe('closed');
    expect(b.allow()).toBe(true);
  });

  it('counts a timeout only when nothing succeeded within the open period', () => {
    let now = 0;
    const b = new CircuitBreaker(2, 1000, () => now);
    b.success();
    for (let i = 0; i < 5; i++) b.timedOut('slow');
    expect(b.state()).toBe('closed'); // the upstream answered 0 ms ago: the queries were slow
    now = 1000;
    b.timedOut('hung');
    b.timedOut('hung');
    expect(b.state()).toBe('open');
    expect(b.lastFailure).toBe('hung');
  });
});

describe('ResultCache', () => {
  it('shares one load between concurrent callers and serves hits until the TTL', async () => {
    const cache = new ResultCache<{ n: number }>({ ttlMs: 1000, maxEntries: 10, maxBytes: 1000 });
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 20));
      return { value: { n: loads }, size: 10 };
    };
    const all = await Promise.all([cache.get('k', load), cache.get('k', load), cache.get('k', load)]);
    expect(loads).toBe(1);
    expect(all.map((r) => r.source).sort()).toEqual(['miss', 'shared', 'shared']);
    expect((await cache.get('k', load)).source).toBe('hit');
    await new Promise((r) => setTimeout(r, 1100));
    expect((await cache.get('k', load)).source).toBe('miss');
    expect(loads).toBe(2);
  });

  it('does not cache failures, and caches nothing with a TTL of 0', async () => {
    const cache = new ResultCache<{ n: number }>({ ttlMs: 1000, maxEntries: 10, maxBytes: 1000 });
    await expect(cache.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect((await cache.get('k', async () => ({ value: { n: 1 }, size: 1 }))).source).toBe('miss');
    const off = new ResultCache<{ n: number }>({ ttlMs: 0, maxEntries: 10, maxBytes: 1000 });
    await off.get('k', async () => ({ value: { n: 1 }, size: 1 }));
    expect((await off.get('k', async () => ({ value: { n: 2 }, size: 1 }))).value.n).toBe(2);
  });

  it('keeps an entry that asks for a shorter life only that long', async () => {
    const cache = new ResultCache<{ n: number }>({ ttlMs: 60_000, maxEntries: 10, maxBytes: 1000 });
    await cache.get('brief', async () => ({ value: { n: 1 }, size: 1, ttlMs: 30 }));
    await cache.get('full', async () => ({ value: { n: 1 }, size: 1 }));
    expect((await cache.get('brief', async () => ({ value: { n: 2 }, size: 1 }))).source).toBe('hit');
    await new Promise((r) => setTimeout(r, 60));
    expect((await cache.get('brief', async () => ({ value: { n: 2 }, size: 1 }))).value.n).toBe(2);
    expect((await cache.get('full', async () => ({ value: { n: 2 }, size: 1 }))).source).toBe('hit');
  });

  it('stays within its byte bound', async () => {
    const cache = new ResultCache<{ n: number }>({ ttlMs: 10_000, maxEntries: 100, maxBytes: 100 });
    for (let i = 0; i < 20; i++) await cache.get(`k${i}`, async () => ({ value: { n: i }, size: 10 }));
    expect(cache.size).toBeLessThanOrEqual(10);
  });
});

describe('Credentials', () => {
  it('reads a token file and picks up a rotated token', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pim-token-'));
    const file = join(dir, 'token');
    writeFileSync(file, 'first\n');
    let now = 0;
    const c = new Credentials({ token: null, tokenFile: file, username: null, password: null, headers: { 'X-Scope-OrgID': 't1' } }, () => now);
    expect(c.headers()).toEqual({ 'X-Scope-OrgID': 't1', authorization: 'Bearer first' });
    writeFileSync(file, 'second\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    now = 20_000; // past the re-check interval
    expect(c.headers().authorization).toBe('Bearer second');
  });

  it('uses basic auth when no token is set, and fails clearly on a missing token file', () => {
    const c = new Credentials({ token: null, tokenFile: null, username: 'u', password: 'p', headers: {} });
    expect(c.headers().authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(() => new Credentials({ token: null, tokenFile: '/nonexistent/token', username: null, password: null, headers: {} })).toThrow(
      /cannot read the token file \/nonexistent\/token: ENOENT/,
    );
  });
});

/** The configuration read from these environment variables alone. */
function cfg(env: Record<string, string>) {
  const a = loadConfig([], { HOME: '/h', ...env });
  if (a.kind !== 'run') throw new Error('no config');
  return a.config;
}

describe('Prometheus configuration', () => {
  it('reads the settings with their defaults', () => {
    const c = cfg({ PROMETHEUS_URL: 'https://thanos-querier.openshift-monitoring.svc:9091' });
    expect(c).toMatchObject({ prometheusTimeoutMs: 10_000, prometheusCacheTtlMs: 300_000, queryRoutingThresholdMs: 900_000, thanosUrl: null });
    expect(cfg({ PROMETHEUS_HEADERS: 'X-Scope-OrgID=tenant-a, X-Extra = 1' }).prometheusHeaders).toEqual({ 'X-Scope-OrgID': 'tenant-a', 'X-Extra': '1' });
    expect(cfg({ PROMETHEUS_HEADERS: '{"X-Scope-OrgID":"t"}' }).prometheusHeaders).toEqual({ 'X-Scope-OrgID': 't' });
    expect(cfg({ PROMETHEUS_CACHE_TTL: '0' }).prometheusCacheTtlMs).toBe(0);
  });

  it('names the variable and the rule, and never echoes a secret', () => {
    expect(() => cfg({ PROMETHEUS_URL: 'localhost:9090' })).toThrow(/^PROMETHEUS_URL must be an http\(s\) URL such as https:\/\/thanos-querier/);
    expect(() => cfg({ PROMETHEUS_TIMEOUT: '10 seconds' })).toThrow('PROMETHEUS_TIMEOUT must be a duration from 1s to 5m, such as 10s, got "10 seconds"');
    expect(() => cfg({ THANOS_DEDUP: 'maybe' })).toThrow('THANOS_DEDUP must be true or false, got "maybe"');
    let msg = '';
    try {
      cfg({ PROMETHEUS_HEADERS: 'Authorization: Bearer s3cret' });
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/^PROMETHEUS_HEADERS must be/);
    expect(msg).not.toContain('s3cret');
  });

  it('uses the ServiceAccount token and service CA only for https URLs', () => {
    const present = (p: string) => p === SERVICE_ACCOUNT_TOKEN || p === SERVICE_CA_FILES[0];
    const tls = clientSettings(cfg({ PROMETHEUS_URL: 'https://thanos-querier.openshift-monitoring.svc:9091' }), present)!;
    expect(tls.auth.tokenFile).toBe(SERVICE_ACCOUNT_TOKEN);
    expect(tls.caFile).toBe(SERVICE_CA_FILES[0]);
    const plain = clientSettings(cfg({ PROMETHEUS_URL: 'http://prometheus:9090' }), present)!;
    expect(plain.auth.tokenFile).toBeNull();
    expect(plain.caFile).toBeNull();
    const explicit = clientSettings(cfg({ PROMETHEUS_URL: 'https://p:9091', PROMETHEUS_TOKEN: 't' }), present)!;
    expect(explicit.auth.tokenFile).toBeNull();
    expect(clientSettings(cfg({}), present)).toBeNull();
  });

  it('turns user:password in PROMETHEUS_URL into basic auth and keeps it out of the URL', () => {
    const st = clientSettings(cfg({ PROMETHEUS_URL: 'https://viewer:s%40cret@prom.example:9090' }), () => false)!;
    expect(st.url).toBe('https://prom.example:9090');
    expect(st.auth).toMatchObject({ username: 'viewer', password: 's@cret', tokenFile: null });
    const explicit = clientSettings(cfg({ PROMETHEUS_URL: 'https://a:b@p:9090', PROMETHEUS_USERNAME: 'u', PROMETHEUS_PASSWORD: 'p' }), () => false)!;
    expect(explicit.auth).toMatchObject({ username: 'u', password: 'p' });
  });

  it('redacts credentials in URLs', () => {
    expect(redactUrl('https://user:pw@prom.example:9090/')).toBe('https://user:***@prom.example:9090');
    expect(redactUrl('https://glpat-token@prom.example/')).toBe('https://***@prom.example');
    expect(redactUrl('http://127.0.0.1:9090')).toBe('http://127.0.0.1:9090');
  });

  it('rejects a PROMETHEUS_URL that is not http(s) without echoing its password', () => {
    const want = 'must be an http(s) URL such as https://thanos-querier.openshift-monitoring.svc:9091, got "ftp://admin:***@prom:9090"';
    expect(() => cfg({ PROMETHEUS_URL: 'ftp://admin:hunter2@prom:9090' })).toThrow(`PROMETHEUS_URL ${want}`);
    expect(() => loadConfig(['--prometheus-url', 'ftp://admin:hunter2@prom:9090'], {})).toThrow(`--prometheus-url ${want}`);
  });

  it('refuses credentials in THANOS_URL, which shares the PROMETHEUS_* credentials, without echoing them', () => {
    expect(() => cfg({ PROMETHEUS_URL: 'http://p:9090', THANOS_URL: 'https://u:s3cret@thanos:9091' })).toThrow(
      'THANOS_URL must be an http(s) URL without user:password (both tiers use the PROMETHEUS_* credentials), got "https://u:***@thanos:9091"',
    );
  });
});

describe('memory bounds of Prometheus answers', () => {
  it('reads the answer cap and the in-flight budget, which must hold one largest answer', () => {
    expect(cfg({})).toMatchObject({ prometheusMaxAnswerMb: 64, prometheusMaxInflightMb: 64 });
    expect(cfg({ PROMETHEUS_MAX_ANSWER_MB: '200' }).prometheusMaxInflightMb).toBe(200);
    expect(cfg({ PROMETHEUS_MAX_INFLIGHT_MB: '300' }).prometheusMaxInflightMb).toBe(300);
    expect(() => cfg({ PROMETHEUS_MAX_ANSWER_MB: '100', PROMETHEUS_MAX_INFLIGHT_MB: '50' })).toThrow(
      'PROMETHEUS_MAX_ANSWER_MB must be at most PROMETHEUS_MAX_INFLIGHT_MB (50), got 100',
    );
    const st = clientSettings(cfg({ PROMETHEUS_URL: 'http://p:9090', PROMETHEUS_MAX_ANSWER_MB: '8', PROMETHEUS_MAX_INFLIGHT_MB: '24' }))!;
    expect(st).toMatchObject({ maxResponseBytes: 8 << 20, maxInflightBytes: 24 << 20 });
  });

  it('shares one budget between holds and gives back what a hold held', () => {
    const budget = new ByteBudget(100);
    const a = budget.hold();
    const b = budget.hold();
    expect(a.take(60)).toBe(true);
    expect(b.take(50)).toBe(false); // nothing taken on a refusal
    expect(b.take(40)).toBe(true);
    expect(budget.inUse).toBe(100);
    a.release();
    a.release(); // twice gives nothing back twice
    expect(budget.inUse).toBe(40);
    expect(b.take(60)).toBe(true);
  });

  // labels with the characters the piecewise scan must see past: quotes, brackets, braces, backslashes
  const tricky = ['a"]}', 'b\\"[{', 'result', 'c\\\\', '"data":{"result":[]}'];
  const matrix = (n: number) => ({
    status: 'success',
    data: {
      resultType: 'matrix',
      result: Array.from({ length: n }, (_, i) => ({ metric: { pod: tricky[i % tricky.length]!, i: String(i) }, values: [[1700000000 + i, String(i)], [1700000015.5, 'NaN']] })),
    },
    warnings: ['w "1" ]'],
  });

  it('parses an answer piecewise to exactly what JSON.parse gives', () => {
    const bodies = [
      matrix(7),
      { status: 'success', data: { resultType: 'vector', result: [{ metric: { a: '}' }, value: [1, '2'] }] } },
      { status: 'success', data: { resultType: 'scalar', result: [1, '2'] } },
      { status: 'success', data: ['up', 'x"]'] },
      { status: 'success', data: { resultType: 'matrix', result: [] } },
      { status: 'error', errorType: 'bad_data', error: 'parse error: unexpected "}"' },
    ];
    for (const body of bodies) {
      for (const text of [JSON.stringify(body), JSON.stringify(body, null, 2)]) {
        expect(parseAnswer(text, (e) => e, 0)).toEqual(JSON.parse(text));
      }
    }
  });

  it('takes the last of a key given twice, as JSON.parse does', () => {
    const texts = [
      '{"data":{"result":[1]},"data":{"result":[2,3]}}',
      '{"data":{"result":[1],"result":[4]}}',
      '{"data":{"result":[1],"result":"x"}}',
      '{"data":{"result":[1]},"data":["up"]}',
      '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"\\"result\\":[9]"},"value":[1,"2"]}]}}',
    ];
    for (const text of texts) expect(parseAnswer(text, (e) => e, 0), text).toEqual(JSON.parse(text));
  });

  it('hands each element of a large result to compact, and only those', () => {
    const seen: unknown[] = [];
    const text = JSON.stringify(matrix(5));
    const parsed = parseAnswer(text, (e) => (seen.push(e), { n: seen.length }), 0) as { data: { result: unknown[] }; warnings: string[] };
    expect(seen).toEqual(matrix(5).data.result);
    expect(parsed.data.result).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
    expect(parsed.warnings).toEqual(['w "1" ]']);
    // below the size where piecewise parsing pays, JSON.parse does it all
    expect(parseAnswer(text, () => 'compacted', text.length + 1)).toEqual(JSON.parse(text));
  });

  it('fails on broken JSON as JSON.parse does', () => {
    const text = JSON.stringify(matrix(3));
    for (const broken of [text.slice(0, -20), text.replace('},{', '} {'), `${text}x`]) {
      expect(() => parseAnswer(broken, (e) => e, 0)).toThrow(SyntaxError);
    }
  });
});
