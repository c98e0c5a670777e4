// The HTTP transport: /mcp (streamable HTTP, both protocol eras, stateless), Alertmanager's
// webhook on /alertmanager, and /healthz, /readyz, /metrics. This file only composes the parts:
// admission (http-admission.ts), the MCP endpoint (http-mcp.ts), the webhook
// (http-alertmanager.ts) and the operations endpoints (http-ops.ts). Shutdown drains: new
// requests get 503 while requests in flight finish.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App, HttpApp } from '../app.js';
import { ConfigError } from '../config.js';
import { messageOf } from '../errors.js';
import { Admission, type Caller, type Refusal } from './http-admission.js';
import { alertmanagerRoute } from './http-alertmanager.js';
import { TokenAuth } from './http-auth.js';
import { BodyError, readJson, rpcError, sendJson, type Headers } from './http-io.js';
import { mcpEndpoint } from './http-mcp.js';
import { OPS_PATHS, opsRoute } from './http-ops.js';
import { createHostPolicy, exposureProblem } from './http-security.js';

const MAX_BODY_BYTES = 1 << 20;

/** How an endpoint answers errors: JSON-RPC (/mcp) or {"error": "..."} (/alertmanager). */
type Shape = 'rpc' | 'plain';

/** An error in the endpoint's shape; `rpcCode` is the JSON-RPC error code /mcp answers with. */
function fail(res: ServerResponse, shape: Shape, status: number, rpcCode: number, message: string, headers: Headers = {}): void {
  if (shape === 'rpc') rpcError(res, status, rpcCode, message, headers);
  else sendJson(res, status, { error: message }, headers);
}

const pathOf = (req: IncomingMessage) => (req.url ?? '/').split('?')[0]!;

export interface HttpHandle {
  /** Stops accepting, lets requests in flight finish (at most graceMs), then closes. */
  close(graceMs?: number): Promise<{ abandoned: number }>;
}

function warnOnWildcards(app: App, authEnabled: boolean): void {
  const { allowedHosts, allowedOrigins } = app.config;
  if (allowedHosts.includes('*')) {
    app.log.warn('MCP_ALLOWED_HOSTS is *: any Host header is accepted, so /mcp is NOT protected against DNS rebinding');
  }
  if (allowedOrigins.includes('*')) {
    app.log.warn(
      `MCP_ALLOWED_ORIGINS is *: a page on any web site can send requests to /mcp from a browser${authEnabled ? ' (they still need a token)' : ', and no token is required'}`,
    );
  }
}

export async function serveHttp(built: App): Promise<HttpHandle> {
  if (!built.metrics) throw new Error('the HTTP transport needs the app built for it (MCP_TRANSPORT=http)');
  const app = built as HttpApp;
  const cfg = app.config;
  const { host, port } = cfg;
  const log = app.log.child({ transport: 'http' });
  const auth = new TokenAuth({ tokens: cfg.authTokens, file: cfg.authTokenFile, log });
  const exposed = exposureProblem(host, auth.enabled, cfg.allowUnauthenticated);
  if (exposed) throw new ConfigError(exposed);
  warnOnWildcards(app, auth.enabled);
  const admission = new Admission({
    auth,
    hostPolicy: createHostPolicy({ bindHost: host, allowedHosts: cfg.allowedHosts, allowedOrigins: cfg.allowedOrigins }),
    rateLimit: cfg.rateLimit,
    maxConcurrent: cfg.maxConcurrent,
    maxConcurrentPerClient: cfg.maxConcurrentPerClient,
    maxBodyBytes: MAX_BODY_BYTES,
    log,
  });
  const mcp = mcpEndpoint(app, MAX_BODY_BYTES);
  const alertmanager = alertmanagerRoute(app);
  let draining = false;
  const ops = opsRoute(app, { inflight: () => admission.inflight, draining: () => draining });
  app.metrics.countInflight(() => admission.inflight);
  app.metrics.enableProcessMetrics();

  /** A refusal, counted, in the endpoint's own shape. */
  function refuse(res: ServerResponse, shape: Shape, r: Refusal): void {
    app.metrics.rejected(r.reason);
    fail(res, shape, r.status, -32000, r.message, r.headers);
  }

  /** Admits the request and counts it in flight until answered; null after refusing it. */
  function admit(req: IncomingMessage, res: ServerResponse, shape: Shape): Caller | null {
    if (draining) {
      refuse(res, shape, { status: 503, reason: 'shutting_down', message: 'Server is shutting down; retry on another replica', headers: { 'retry-after': 1, connection: 'close' } });
      return null;
    }
    const checked = admission.check(req);
    if ('refused' in checked) {
      refuse(res, shape, checked.refused);
      return null;
    }
    const entered = admission.enter(checked.caller);
    if ('refused' in entered) {
      refuse(res, shape, entered.refused);
      return null;
    }
    res.once('close', entered.release);
    return checked.caller;
  }

  /** The JSON body, or undefined after answering 413 (connection closed) or 400 (not JSON). */
  async function body(req: IncomingMessage, res: ServerResponse, shape: Shape): Promise<{ value: unknown } | undefined> {
    try {
      return { value: await readJson(req, res, MAX_BODY_BYTES) };
    } catch (err) {
      const status = err instanceof BodyError ? err.status : 400;
      if (status === 413) refuse(res, shape, { status, reason: 'too_large', message: `Payload too large: ${messageOf(err)}`, headers: { connection: 'close' } });
      else fail(res, shape, status, -32700, messageOf(err));
      return undefined;
    }
  }

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const caller = admit(req, res, 'rpc');
    if (caller === null) return;
    if (req.method !== 'POST') return mcp.handle(req, res, caller, undefined);
    const got = await body(req, res, 'rpc');
    if (got) await mcp.handle(req, res, caller, got.value);
  }

  async function handleAlertmanager(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'POST' });
    const caller = admit(req, res, 'plain');
    if (caller === null) return;
    if (cfg.readOnly) return sendJson(res, 403, { error: 'this server is read-only (MCP_READ_ONLY); it takes no alerts' });
    const got = await body(req, res, 'plain');
    if (got) await alertmanager(res, caller, got.value);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req);
    if (path === '/mcp') return handleMcp(req, res);
    if (path === '/alertmanager') return handleAlertmanager(req, res);
    if (OPS_PATHS.has(path)) return ops(req, res, path);
    sendJson(res, 404, { error: `no route ${path}; the MCP endpoint is /mcp, Alertmanager's webhook /alertmanager` });
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((err: unknown) => {
      log.error({ err }, 'HTTP request failed');
      const message = 'Internal error; the server log has the details';
      if (res.headersSent) res.end();
      else fail(res, pathOf(req) === '/alertmanager' ? 'plain' : 'rpc', 500, -32603, message);
    });
  };
  const server = createServer(onRequest);
  // `Expect: 100-continue` goes through admission first: readJson says "continue" only then.
  server.on('checkContinue', onRequest);
  // Slow or silent clients must not hold sockets: whole request within 30 s, headers within 15 s.
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  // An idle kept-alive connection stays open longer than a load balancer's or a busy client's idle
  // timeout (AWS's 60 s), so they never send a request on one we have just closed (a reset POST is
  // not retried). Node's 5 s default did that to test clients whose event loop was busy for seconds.
  server.keepAliveTimeout = 65_000;

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
    {
      url,
      auth: auth.enabled ? `${auth.count} token(s)` : 'none',
      read_only: cfg.readOnly,
      max_concurrent: cfg.maxConcurrent,
      per_client: cfg.maxConcurrentPerClient,
      rate_limit: cfg.rateLimit,
    },
    'MCP server ready on streamable HTTP (stateless; 2026-07-28 and 2025-era clients)',
  );

  return {
    async close(graceMs = cfg.shutdownTimeoutMs) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (admission.inflight > 0) {
        log.info({ inflight: admission.inflight, grace_ms: graceMs }, 'waiting for requests in flight');
        const deadline = Date.now() + graceMs;
        while (admission.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      }
      const abandoned = admission.inflight;
      await mcp.close();
      server.closeAllConnections();
      await closed;
      return { abandoned };
    },
  };
}
