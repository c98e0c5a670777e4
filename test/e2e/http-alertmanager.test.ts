// /alertmanager's own answers through real HTTP against the built server: every refusal in
// its {"error": "..."} shape (never JSON-RPC), with the same statuses and headers as /mcp;
// alerts Alertmanager left out (max_alerts) reported; an alert that cannot be applied answered
// as `invalid` while the rest of the notification still counts.
import { afterEach, describe, expect, it } from 'vitest';
import { call, connectHttp, rawRequest, startHttpServer, tempDir, type HttpServer } from '../helpers/server.js';

const TOKEN = 'webhook-e2e-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
type S = Record<string, any>;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function server(env: Record<string, string> = {}, args: string[] = []): Promise<HttpServer> {
  const dir = tempDir();
  const srv = await startHttpServer({ DATA_DIR: dir.path, MCP_AUTH_TOKEN: TOKEN, ...env }, args);
  cleanups.push(() => dir.cleanup(), () => srv.stop());
  return srv;
}
const hook = (srv: HttpServer) => srv.url.replace(/\/mcp$/, '/alertmanager');

const alert = (pod: string, status: 'firing' | 'resolved' = 'firing') => ({
  status,
  labels: { alertname: 'KubePodCrashLooping', namespace: 'batch', pod, severity: 'warning' },
  annotations: { summary: 'Pod is crash looping.' },
  startsAt: '2026-11-23T09:12:00Z',
  endsAt: status === 'resolved' ? '2026-11-23T09:30:00Z' : '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus/graph',
  fingerprint: `fp-${pod}`,
});
const notification = (alerts: unknown[], truncatedAlerts = 0) =>
  JSON.stringify({ version: '4', status: 'firing', receiver: 'prom-incident-mcp', groupKey: '{}:{alertname="KubePodCrashLooping"}', truncatedAlerts, alerts });

/** A refusal in the webhook's shape: {error} only, no JSON-RPC envelope. */
function plainError(body: string): string {
  const parsed = JSON.parse(body) as S;
  expect(Object.keys(parsed)).toEqual(['error']);
  expect(typeof parsed.error).toBe('string');
  return parsed.error;
}

describe('Alertmanager webhook refusals', () => {
  it('answers 401, a foreign Host 403 and 413 as {error}, counted like /mcp refusals', async () => {
    const srv = await server();
    const none = await rawRequest(hook(srv), { headers: { 'content-type': 'application/json' }, body: notification([]) });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="prom-incident-mcp"');
    expect(plainError(none.body)).toMatch(/^Unauthorized/);

    const port = new URL(srv.url).port;
    const foreign = await rawRequest(hook(srv), { headers: { ...auth, host: `rebind.evil.example:${port}` }, body: notification([]) });
    expect(foreign.status).toBe(403);
    expect(plainError(foreign.body)).toMatch(/^Forbidden: .*rebind\.evil\.example/);

    const big = await rawRequest(hook(srv), { headers: auth, body: notification([{ ...alert('p'), annotations: { description: 'x'.repeat(1_100_000) } }]) });
    expect(big.status).toBe(413);
    expect(big.headers.connection).toBe('close');
    expect(plainError(big.body)).toMatch(/^Payload too large/);

    const metrics = (await rawRequest(srv.url.replace(/\/mcp$/, '/metrics'), { method: 'GET' })).body;
    for (const reason of ['unauthorized', 'forbidden', 'too_large']) {
      expect(metrics).toMatch(new RegExp(`prom_incident_mcp_http_rejected_requests_total\\{reason="${reason}"\\} [1-9]`));
    }
  });

  it('answers a flood with 429 and Retry-After as {error}', async () => {
    const srv = await server({}, ['--rate-limit', '2']);
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await rawRequest(hook(srv), { headers: auth, body: notification([]) }));
    const limited = answers.filter((r) => r.status === 429);
    expect(answers[0]!.status).toBe(200);
    expect(limited.length).toBeGreaterThanOrEqual(15);
    expect(Number(limited[0]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(plainError(limited[0]!.body)).toMatch(/^Too many requests/);
  });

  it('refuses every notification with 403 when the server is read-only', async () => {
    const srv = await server({}, ['--read-only']);
    const r = await rawRequest(hook(srv), { headers: auth, body: notification([alert('report-worker-1')]) });
    expect(r.status).toBe(403);
    expect(plainError(r.body)).toMatch(/read-only/);
    const mcp = await connectHttp(srv.url, { authorization: `Bearer ${TOKEN}` });
    cleanups.push(() => mcp.close());
    expect(((await call(mcp.client, 'list_incidents', { status: 'all' })).structuredContent as S).total).toBe(0);
  });
});

describe('Alertmanager webhook answers', () => {
  it('says so, and logs it, when Alertmanager left alerts out (max_alerts)', async () => {
    const srv = await server();
    const r = await rawRequest(hook(srv), { headers: auth, body: notification([alert('a'), alert('b')], 7) });
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as S;
    expect(body).toMatchObject({ received: 2, created: 2, truncated_alerts: 7 });
    expect(body.warnings).toEqual([expect.stringMatching(/left 7 alert\(s\) of this group out .*max_alerts/)]);
    expect(srv.stderr()).toMatch(/"truncated_alerts":7.*max_alerts/);
    // nothing cut: no warning
    const whole = JSON.parse((await rawRequest(hook(srv), { headers: auth, body: notification([alert('a')]) })).body) as S;
    expect(whole).not.toHaveProperty('warnings');
  });

  it('applies an alert without a fingerprint, answers one that is not an alert as invalid, and still applies the rest', async () => {
    const srv = await server();
    const { fingerprint: _, ...bare } = alert('no-fingerprint');
    const notAlert = { ...alert('broken'), labels: 'alertname=Broken' };
    const r = await rawRequest(hook(srv), { headers: auth, body: notification([bare, notAlert, alert('fine')]) });
    expect(r.status).toBe(200); // a 400 would lose the whole group: Alertmanager does not retry it
    const body = JSON.parse(r.body) as S;
    expect(body).toMatchObject({ received: 3, created: 2, invalid: 1 });
    expect(body.alerts.map((a: S) => a.action)).toEqual(['created', 'invalid', 'created']);
    expect(body.alerts[0].fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(body.alerts[1]).toMatchObject({ fingerprint: 'fp-broken', incident: null, error: expect.stringMatching(/labels: must be a record/) });
  });

  it('refuses another payload version with 400 naming the field', async () => {
    const srv = await server();
    const body = JSON.stringify({ ...(JSON.parse(notification([alert('a')])) as S), version: '5' });
    const r = await rawRequest(hook(srv), { headers: auth, body });
    expect(r.status).toBe(400);
    expect(plainError(r.body)).toMatch(/^not an Alertmanager webhook notification \(version 4\): version: must be "4".*, got "5"/);
  });

  it('answers invalid for an alert that cannot be applied, and still applies the others', async () => {
    const srv = await server();
    const first = JSON.parse((await rawRequest(hook(srv), { headers: auth, body: notification([alert('full')]) })).body) as S;
    const id = first.alerts[0].incident as string;
    // an incident keeps at most 200 timeline entries; fill this one
    const mcp = await connectHttp(srv.url, { authorization: `Bearer ${TOKEN}` });
    cleanups.push(() => mcp.close());
    for (let i = 1; i < 200; i++) await call(mcp.client, 'update_incident', { id, note: `note ${i}` });
    // changed annotations would add a note, which a full timeline refuses (a resolve would still land)
    const changed = { ...alert('full'), annotations: { summary: 'Pod is crash looping again.' } };
    const r = await rawRequest(hook(srv), { headers: auth, body: notification([changed, alert('other')]) });
    expect(r.status).toBe(200); // not 5xx: Alertmanager would retry for ever
    const body = JSON.parse(r.body) as S;
    expect(body).toMatchObject({ received: 2, invalid: 1, created: 1 });
    expect(body.alerts[0]).toMatchObject({ action: 'invalid', incident: id, error: expect.stringMatching(/timeline entries/) });
    expect(body.alerts[1]).toMatchObject({ action: 'created' });
    expect(srv.stderr()).toMatch(/alert could not become an incident/);
    const metrics = (await rawRequest(srv.url.replace(/\/mcp$/, '/metrics'), { method: 'GET' })).body;
    expect(metrics).toMatch(/alertmanager_alerts_total\{action="invalid"\} 1/);
  }, 60_000);
});
