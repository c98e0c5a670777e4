// Operational endpoints beside /mcp: /healthz (the process answers), /readyz (it can do its
// work: the store takes writes and Prometheus answers or is not configured), /metrics.
// None needs the MCP token: kubelet probes and Prometheus scrapers carry none, and the
// bodies hold counts and dependency status, never incident data or credentials.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App, HttpApp } from '../app.js';
import { messageOf } from '../errors.js';
import type { Health } from '../prometheus/api.js';
import type { StoreHealth } from '../incidents/store.js';
import { VERSION } from '../version.js';
import { sendJson } from './http-io.js';

const started = Date.now();

function liveness(inflight: number): Record<string, unknown> {
  return { status: 'ok', version: VERSION, uptime_s: Math.round((Date.now() - started) / 1000), requests_in_flight: inflight };
}

export const OPS_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** What the operations endpoints read from the transport. */
interface OpsState {
  inflight(): number;
  draining(): boolean;
}

/** GET /healthz, /readyz and /metrics (the caller routes only OPS_PATHS here). */
export function opsRoute(app: HttpApp, state: OpsState): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  const ready = cachedReadiness(app);
  return async (req, res, path) => {
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET' });
    if (path === '/healthz') return sendJson(res, 200, liveness(state.inflight()));
    if (path === '/readyz') {
      const r = await ready({ draining: state.draining() });
      return sendJson(res, r.ready ? 200 : 503, r.body, { 'cache-control': 'no-store' });
    }
    const m = await app.metrics.scrape();
    res.writeHead(200, { 'content-type': m.contentType });
    res.end(m.body);
  };
}

/** A probe must answer within its own timeout, whatever an upstream does. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * readiness() at most once per `ttlMs`: /readyz needs no token, so without this every caller
 * could make the server query Prometheus and the store as fast as it can send requests.
 */
export function cachedReadiness(app: App, ttlMs = 2000): (opts: { draining: boolean }) => Promise<Readiness> {
  let last: { at: number; result: Promise<Readiness> } | null = null;
  return (opts) => {
    if (opts.draining) return readiness(app, opts);
    if (!last || Date.now() - last.at > ttlMs) last = { at: Date.now(), result: readiness(app, opts) };
    return last.result;
  };
}

export interface Readiness {
  ready: boolean;
  body: Record<string, unknown>;
}

/**
 * Ready when the store takes writes and, if Prometheus is configured, at least one tier
 * answers (the tools degrade to the other tier; none answering makes every metric tool fail).
 */
export async function readiness(app: App, opts: { draining: boolean; timeoutMs?: number }): Promise<Readiness> {
  const ms = opts.timeoutMs ?? 3000;
  // both at once, so the answer comes within `ms` (the kubelet's probe timeout is 5 s)
  const [store, upstream] = await Promise.all([
    within(app.store.health(), ms, 'the store').catch((err: unknown): StoreHealth => ({ ok: false, backend: 'unknown', error: messageOf(err) })),
    app.prometheus === null
      ? null
      : within(app.prometheus.health(), ms, 'Prometheus').then(
          (tiers) => ({ tiers }),
          (err: unknown) => ({ error: messageOf(err) }),
        ),
  ]);
  let prometheus: string;
  let tiers: Health[] | undefined;
  const problems: string[] = [];
  if (!store.ok) problems.push(`store: ${store.error ?? 'not writable'}`);
  if (upstream === null) prometheus = 'not configured';
  else if ('error' in upstream) {
    prometheus = 'unreachable';
    problems.push(`prometheus: ${upstream.error}`);
  } else {
    tiers = upstream.tiers;
    prometheus = tiers.some((t) => t.ok) ? 'connected' : 'unreachable';
    for (const t of tiers) if (!t.ok) problems.push(`${t.tier} ${t.url}: ${t.error ?? 'not ok'}`);
  }
  if (opts.draining) problems.unshift('shutting down');
  const ready = !opts.draining && store.ok && prometheus !== 'unreachable';
  return {
    ready,
    body: {
      status: ready ? 'ready' : 'not ready',
      version: VERSION,
      checked_at: new Date().toISOString(),
      dependencies: { store: store.ok ? `${store.backend}, writable` : 'not writable', prometheus },
      ...(tiers ? { prometheus_tiers: tiers.map((t) => ({ tier: t.tier, url: t.url, ok: t.ok, ms: Math.round(t.ms) })) } : {}),
      ...(problems.length > 0 ? { problems } : {}),
    },
  };
}
