// Streamable HTTP on /mcp (one McpServer per session, all sharing the App), Alertmanager's
// webhook on /alertmanager, plus /healthz, /readyz and /metrics. Every /mcp request passes, in
// order: Host/Origin check (403), its address's budget of failed authentications (429), bearer
// token (401), per-client rate limit (429), body size (413), session lookup (404) and the
// session caps, global and per client (503). Shutdown drains: new requests get 503 while calls
// in flight finish.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { WebhookPayload, applyNotification, describeErrors } from '../alerts/alertmanager.js';
import type { App } from '../app.js';
import { ConfigError } from '../config.js';
import { messageOf } from '../errors.js';
import type { RejectReason } from '../metrics.js';
import { createMcpServer } from '../server.js';
import { TokenAuth } from './http-auth.js';
import { cachedReadiness, liveness } from './http-ops.js';
import { createHostPolicy, exposureProblem } from './http-security.js';
import { RateLimiter } from './rate-limit.js';

export const MAX_BODY_BYTES = 1 << 20;

/** Failed authentications one remote address may make: a burst, then this many a second. */
const AUTH_FAILURE_BURST = 10;
const AUTH_FAILURES_PER_S = 1;

/** How an endpoint answers errors: JSON-RPC (/mcp) or {"error": "..."} (/alertmanager). */
type Shape = 'rpc' | 'plain';

/** Who a request comes from, as admission found it. */
interface Caller {
  /** the token fingerprint, or "anonymous" without tokens */
  client: string;
  /** the socket's remote address ("" when the socket no longer knows it) */
  address: string;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  /** the token fingerprint that opened it; other callers get 404 */
  owner: string;
  /** whose per-client session cap it counts against */
  quota: string;
  lastSeen: number;
  /** POSTs in progress; an open GET stream alone does not keep a session from expiring */
  active: number;
  close(): Promise<void>;
}

export interface HttpHandle {
  url: string;
  server: Server;
  sessions: number;
  /** Stops accepting, lets calls in flight finish (at most graceMs), then closes every session. */
  close(graceMs?: number): Promise<{ abandoned: number }>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function rpcError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string | number> = {}): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null }, headers);
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new BodyError(413, `request body over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyError(413, `request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BodyError(400, 'request body is not valid JSON');
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function serveHttp(app: App, opts: { host?: string; port?: number } = {}): Promise<HttpHandle> {
  const cfg = app.config;
  const host = opts.host ?? cfg.host;
  const port = opts.port ?? cfg.port;
  const log = app.log.child({ transport: 'http' });
  const auth = new TokenAuth({ tokens: cfg.authTokens, file: cfg.authTokenFile, log });
  const exposed = exposureProblem(host, auth.enabled, cfg.allowUnauthenticated);
  if (exposed) throw new ConfigError(exposed);
  const hostPolicy = createHostPolicy({ bindHost: host, allowedHosts: cfg.allowedHosts, allowedOrigins: cfg.allowedOrigins });
  if (cfg.allowedHosts.includes('*')) {
    log.warn('MCP_ALLOWED_HOSTS is *: any Host header is accepted, so /mcp is NOT protected against DNS rebinding');
  }
  if (cfg.allowedOrigins.includes('*')) {
    log.warn(
      `MCP_ALLOWED_ORIGINS is *: a page on any web site can send requests to /mcp from a browser${auth.enabled ? ' (they still need a token)' : ', and no token is required'}`,
    );
  }
  const limiter = new RateLimiter(cfg.rateLimit);
  const authFailures = new RateLimiter(cfg.rateLimit > 0 ? AUTH_FAILURES_PER_S : 0, AUTH_FAILURE_BURST);
  const ready = cachedReadiness(app);
  if (!app.metrics) throw new Error('the HTTP transport needs the app built for it (MCP_TRANSPORT=http)');
  const metrics = app.metrics;
  const sessions = new Map<string, Session>();
  /** sessions open or opening per client (token fingerprint, or the remote address without tokens) */
  const held = new Map<string, number>();
  const hold = (quota: string, n: number) => {
    const left = (held.get(quota) ?? 0) + n;
    if (left > 0) held.set(quota, left);
    else held.delete(quota);
  };
  /** Removes a session from the table (once, however many paths close it). */
  const forget = (id: string): Session | undefined => {
    const s = sessions.get(id);
    if (!s) return undefined;
    sessions.delete(id);
    hold(s.quota, -1);
    return s;
  };
  metrics.countSessions(() => sessions.size);
  metrics.enableProcessMetrics();

  let draining = false;
  let inflight = 0;
  let opening = 0;
  let drained: (() => void) | null = null;

  /**
   * A refusal, counted, in the endpoint's own shape: a JSON-RPC error on /mcp, {"error": "..."}
   * on /alertmanager (what its other answers are, and what Alertmanager logs).
   */
  function refuse(res: ServerResponse, shape: Shape, reason: RejectReason, status: number, message: string, headers: Record<string, string | number> = {}): void {
    metrics.rejected(reason);
    if (shape === 'rpc') rpcError(res, status, -32000, message, headers);
    else sendJson(res, status, { error: message }, headers);
  }

  /** Checks that apply to every /mcp and /alertmanager request; returns the caller or null when refused. */
  function admit(req: IncomingMessage, res: ServerResponse, shape: Shape): Caller | null {
    if (draining) {
      refuse(res, shape, 'shutting_down', 503, 'Server is shutting down; retry on another replica', { 'retry-after': 1, connection: 'close' });
      return null;
    }
    const verdict = hostPolicy(header(req, 'host'), header(req, 'origin'));
    if (!verdict.ok) {
      refuse(res, shape, 'forbidden', 403, `Forbidden: ${verdict.reason}`);
      return null;
    }
    let client = 'anonymous';
    const address = req.socket.remoteAddress ?? '';
    if (auth.enabled) {
      // checked before the token, so guessing from one address is as slow as its budget
      const budget = authFailures.peek(address);
      if (!budget.ok) {
        refuse(
          res,
          shape,
          'rate_limited',
          429,
          `Too many failed authentications from this address: at most ${AUTH_FAILURE_BURST} at once, then ${AUTH_FAILURES_PER_S} per second`,
          { 'retry-after': budget.retryAfterS },
        );
        return null;
      }
      const r = auth.check(header(req, 'authorization'));
      if (!r.ok) {
        authFailures.take(address);
        log.warn({ remote: address, reason: r.error === 'missing' ? 'no token' : 'invalid token' }, 'authentication failed');
        const challenge = r.error === 'missing' ? 'Bearer realm="prom-incident-mcp"' : 'Bearer realm="prom-incident-mcp", error="invalid_token"';
        refuse(res, shape, 'unauthorized', 401, r.error === 'missing' ? 'Unauthorized: send Authorization: Bearer <token>' : 'Unauthorized: invalid token', {
          'www-authenticate': challenge,
        });
        return null;
      }
      client = r.client;
    }
    const take = limiter.take(`${client}|${address}`);
    if (!take.ok) {
      refuse(res, shape, 'rate_limited', 429, `Too many requests: at most ${cfg.rateLimit} per second per client (MCP_RATE_LIMIT)`, {
        'retry-after': take.retryAfterS,
      });
      return null;
    }
    return { client, address };
  }

  /** Counts a POST in flight (for the drain) and, once its session is known, for that session. */
  function track(res: ServerResponse, s?: Session): void {
    if (s) {
      s.active++;
      s.lastSeen = Date.now();
    } else inflight++;
    res.once('close', () => {
      if (s) {
        s.active--;
        s.lastSeen = Date.now();
      } else if (--inflight === 0 && drained) drained();
    });
  }

  async function openSession(req: IncomingMessage, res: ServerResponse, body: unknown, { client, address }: Caller): Promise<void> {
    if (!isInitializeRequest(body)) {
      return rpcError(res, 400, -32000, 'Bad Request: send initialize first, or the Mcp-Session-Id header');
    }
    // `opening` counts initializes in progress, so a burst of them cannot overshoot the cap
    if (sessions.size + opening >= cfg.maxSessions) {
      return refuse(res, 'rpc', 'too_many_sessions', 503, `Too many open sessions (${cfg.maxSessions}, MCP_MAX_SESSIONS); close unused ones or retry later`, {
        'retry-after': 10,
      });
    }
    // so one token holder (or one address, without tokens) cannot take every session
    const quota = auth.enabled ? client : `addr:${address}`;
    if ((held.get(quota) ?? 0) >= cfg.maxSessionsPerClient) {
      return refuse(
        res,
        'rpc',
        'too_many_sessions',
        503,
        `Too many open sessions for this client (${cfg.maxSessionsPerClient}, MCP_MAX_SESSIONS_PER_CLIENT); close unused ones or retry later`,
        { 'retry-after': 10 },
      );
    }
    const server = createMcpServer(app);
    let initialized = false;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        initialized = true;
        const s: Session = { transport, owner: client, quota, lastSeen: Date.now(), active: 1, close: () => server.close() };
        sessions.set(id, s);
        res.once('close', () => {
          s.active--;
          s.lastSeen = Date.now();
        });
        log.debug({ session: id, sessions: sessions.size, client }, 'session opened');
      },
    });
    transport.onclose = () => {
      if (transport.sessionId && forget(transport.sessionId)) {
        log.debug({ session: transport.sessionId, sessions: sessions.size }, 'session closed');
      }
    };
    opening++;
    hold(quota, 1);
    try {
      await server.connect(transport);
      await transport.handleRequest(withAuth(req, client), res, body);
    } finally {
      opening--;
      if (!initialized) hold(quota, -1); // else the session holds it until it is forgotten
    }
  }

  function withAuth(req: IncomingMessage, client: string): IncomingMessage & { auth: AuthInfo } {
    return Object.assign(req, { auth: { token: '', clientId: client, scopes: [] } });
  }

  function lookup(req: IncomingMessage, res: ServerResponse, client: string): Session | undefined {
    const sessionId = header(req, 'mcp-session-id');
    const s = sessionId ? sessions.get(sessionId) : undefined;
    if (!s || s.owner !== client) {
      rpcError(res, sessionId ? 404 : 400, -32001, 'Session not found; initialize a new session');
      return undefined;
    }
    return s;
  }

  /** The JSON body, or undefined after answering 413 (too large, connection closed) or `bad` (not JSON). */
  async function readBody(req: IncomingMessage, res: ServerResponse, shape: Shape, bad: (status: number, message: string) => void): Promise<{ value: unknown } | undefined> {
    try {
      return { value: await readJson(req, MAX_BODY_BYTES) };
    } catch (err) {
      const status = err instanceof BodyError ? err.status : 400;
      if (status === 413) refuse(res, shape, 'too_large', 413, `Payload too large: ${messageOf(err)}`, { connection: 'close' });
      else bad(status, messageOf(err));
      return undefined;
    }
  }

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const caller = admit(req, res, 'rpc');
    if (caller === null) return;
    const { client } = caller;
    if (req.method === 'POST') {
      track(res);
      const got = await readBody(req, res, 'rpc', (status, message) => rpcError(res, status, -32700, message));
      if (!got) return;
      if (header(req, 'mcp-session-id') === undefined) return openSession(req, res, got.value, caller);
      const s = lookup(req, res, client);
      if (!s) return;
      track(res, s);
      await s.transport.handleRequest(withAuth(req, client), res, got.value);
      return;
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      const s = lookup(req, res, client);
      if (!s) return;
      s.lastSeen = Date.now();
      await s.transport.handleRequest(withAuth(req, client), res);
      return;
    }
    sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, POST, DELETE' });
  }

  /** Alertmanager's webhook: checked and authenticated like /mcp; 5xx makes Alertmanager retry. */
  async function handleAlertmanager(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'POST' });
    const caller = admit(req, res, 'plain');
    if (caller === null) return;
    const { client } = caller;
    if (cfg.readOnly) return sendJson(res, 403, { error: 'this server is read-only (MCP_READ_ONLY); it takes no alerts' });
    track(res);
    const got = await readBody(req, res, 'plain', (status, message) => sendJson(res, status, { error: message }));
    if (!got) return;
    const parsed = WebhookPayload.safeParse(got.value, { reportInput: true });
    if (!parsed.success) {
      return sendJson(res, 400, { error: `not an Alertmanager webhook notification (version 4): ${describeErrors(parsed.error)}` });
    }
    let outcomes;
    try {
      outcomes = await applyNotification(app.store, parsed.data);
    } catch (err) {
      log.error({ err: messageOf(err) }, 'Alertmanager notification could not be stored; Alertmanager will retry');
      return sendJson(res, 503, { error: `incident store unavailable: ${messageOf(err)}` }, { 'retry-after': 5 });
    }
    const counts: Record<string, number> = {};
    for (const o of outcomes) {
      counts[o.action] = (counts[o.action] ?? 0) + 1;
      metrics.alert(o.action);
      if (o.action === 'created' || o.action === 'updated' || o.action === 'resolved') {
        log.info({ audit: true, source: 'alertmanager', incident: o.incident, fingerprint: o.fingerprint, client }, `audit: alert ${o.alertname} ${o.action}`);
      } else if (o.action === 'invalid') log.warn({ fingerprint: o.fingerprint, error: o.error }, 'alert could not become an incident');
    }
    // Alerts beyond the receiver's max_alerts never reach us: say so, since no incident stands for them.
    const truncated = parsed.data.truncatedAlerts ?? 0;
    const warnings: string[] = [];
    if (truncated > 0) {
      warnings.push(`Alertmanager left ${truncated} alert(s) of this group out (the receiver's max_alerts); they became no incident. Raise max_alerts or group more finely.`);
      log.warn({ truncated_alerts: truncated, received: outcomes.length, receiver: parsed.data.receiver, group: parsed.data.groupKey }, 'Alertmanager truncated a notification (max_alerts): alerts were left out');
    }
    sendJson(res, 200, { received: outcomes.length, ...counts, truncated_alerts: truncated, ...(warnings.length > 0 ? { warnings } : {}), alerts: outcomes });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/mcp') return handleMcp(req, res);
    if (path === '/alertmanager') return handleAlertmanager(req, res);
    if (req.method !== 'GET' && (path === '/healthz' || path === '/readyz' || path === '/metrics')) {
      return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET' });
    }
    if (path === '/healthz') return sendJson(res, 200, liveness(sessions.size, inflight));
    if (path === '/readyz') {
      const r = await ready({ draining });
      return sendJson(res, r.ready ? 200 : 503, r.body, { 'cache-control': 'no-store' });
    }
    if (path === '/metrics') {
      const m = await metrics.scrape();
      res.writeHead(200, { 'content-type': m.contentType });
      res.end(m.body);
      return;
    }
    sendJson(res, 404, { error: `no route ${path}; the MCP endpoint is /mcp, Alertmanager's webhook /alertmanager` });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      log.error({ err }, 'HTTP request failed');
      const message = 'Internal error; the server log has the details';
      if (res.headersSent) res.end();
      else if ((req.url ?? '').split('?')[0] === '/alertmanager') sendJson(res, 500, { error: message });
      else rpcError(res, 500, -32603, message);
    });
  });
  // Slow or silent clients must not hold sockets: whole request within 30 s, headers within 15 s.
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;

  const idleMs = cfg.sessionIdleMs;
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const [id, s] of sessions) {
        if (s.active > 0 || now - s.lastSeen < idleMs) continue;
        forget(id);
        log.info({ session: id, idle_s: Math.round((now - s.lastSeen) / 1000) }, 'idle session expired');
        s.close().catch((err: unknown) => log.warn({ err: messageOf(err) }, 'closing an idle session failed'));
      }
    },
    Math.min(60_000, Math.max(1000, idleMs / 4)),
  );
  sweeper.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${shownHost}:${addr.port}/mcp`;
  log.info(
    { url, auth: auth.enabled ? `${auth.count} token(s)` : 'none', read_only: cfg.readOnly, max_sessions: cfg.maxSessions, per_client: cfg.maxSessionsPerClient, rate_limit: cfg.rateLimit },
    'MCP server ready on streamable HTTP',
  );

  return {
    url,
    server,
    get sessions() {
      return sessions.size;
    },
    async close(graceMs = cfg.shutdownTimeoutMs) {
      draining = true;
      clearInterval(sweeper);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inflight > 0) {
        log.info({ inflight, grace_ms: graceMs }, 'waiting for requests in flight');
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, graceMs).unref();
        });
      }
      const abandoned = inflight;
      await Promise.allSettled([...sessions.values()].map((s) => s.close()));
      sessions.clear();
      held.clear();
      server.closeAllConnections();
      await closed;
      return { abandoned };
    },
  };
}
