// Admission for /mcp and /alertmanager, in order: Host/Origin (403), the address's budget of
// failed authentications (429), bearer token (401), per-client rate (429), declared body size
// (413), then requests in flight, per process and per client (503). Nothing here depends on
// earlier requests reaching this process, so any replica admits any request the same way; the
// rate and in-flight caps are per process (N replicas allow N times as much).
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../log.js';
import type { RejectReason } from '../metrics.js';
import type { TokenAuth } from './http-auth.js';
import { declaredTooLarge, header, type Headers } from './http-io.js';
import type { Verdict } from './http-security.js';
import { RateLimiter } from './rate-limit.js';

/** Failed authentications one remote address may make: a burst, then this many a second. */
const AUTH_FAILURE_BURST = 10;
const AUTH_FAILURES_PER_S = 1;

/** Who a request comes from, as admission found it. */
export interface Caller {
  /** the token fingerprint, or "anonymous" without tokens */
  client: string;
  /** the socket's remote address ("" when the socket no longer knows it) */
  address: string;
  /** whose caps it counts against: the token, or the address without tokens */
  quota: string;
}

export interface Refusal {
  status: number;
  reason: RejectReason;
  message: string;
  headers: Headers;
}

export interface AdmissionOptions {
  auth: TokenAuth;
  hostPolicy: (host: string | undefined, origin: string | undefined) => Verdict;
  /** requests per second per client; 0 = off */
  rateLimit: number;
  maxConcurrent: number;
  maxConcurrentPerClient: number;
  maxBodyBytes: number;
  log: Logger;
}

const refusal = (status: number, reason: RejectReason, message: string, headers: Headers = {}): Refusal => ({ status, reason, message, headers });

export class Admission {
  private readonly limiter: RateLimiter;
  private readonly authFailures: RateLimiter;
  private readonly held = new Map<string, number>();
  private total = 0;

  constructor(private readonly opts: AdmissionOptions) {
    this.limiter = new RateLimiter(opts.rateLimit);
    this.authFailures = new RateLimiter(opts.rateLimit > 0 ? AUTH_FAILURES_PER_S : 0, AUTH_FAILURE_BURST);
  }

  /** requests admitted and not yet answered */
  get inflight(): number {
    return this.total;
  }

  /** The caller, or why the request is refused; checks that spend nothing come first. */
  check(req: IncomingMessage): { caller: Caller } | { refused: Refusal } {
    const verdict = this.opts.hostPolicy(header(req, 'host'), header(req, 'origin'));
    if (!verdict.ok) return { refused: refusal(403, 'forbidden', `Forbidden: ${verdict.reason}`) };
    const address = req.socket.remoteAddress ?? '';
    const who = this.authenticate(req, address);
    if ('refused' in who) return who;
    const client = who.client;
    const take = this.limiter.take(`${client}|${address}`);
    if (!take.ok) {
      const message = `Too many requests: at most ${this.opts.rateLimit} per second per client (MCP_RATE_LIMIT)`;
      return { refused: refusal(429, 'rate_limited', message, { 'retry-after': take.retryAfterS }) };
    }
    if (declaredTooLarge(req, this.opts.maxBodyBytes)) {
      const message = `Payload too large: request body over ${this.opts.maxBodyBytes} bytes`;
      return { refused: refusal(413, 'too_large', message, { connection: 'close' }) };
    }
    return { caller: { client, address, quota: this.opts.auth.enabled ? client : `addr:${address}` } };
  }

  private authenticate(req: IncomingMessage, address: string): { client: string } | { refused: Refusal } {
    const { auth, log } = this.opts;
    if (!auth.enabled) return { client: 'anonymous' };
    // checked before the token, so guessing from one address is as slow as its budget
    const budget = this.authFailures.peek(address);
    if (!budget.ok) {
      const message = `Too many failed authentications from this address: at most ${AUTH_FAILURE_BURST} at once, then ${AUTH_FAILURES_PER_S} per second`;
      return { refused: refusal(429, 'rate_limited', message, { 'retry-after': budget.retryAfterS }) };
    }
    const r = auth.check(header(req, 'authorization'));
    if (r.ok) return { client: r.client };
    this.authFailures.take(address);
    log.warn({ remote: address, reason: r.error === 'missing' ? 'no token' : 'invalid token' }, 'authentication failed');
    const missing = r.error === 'missing';
    const challenge = missing ? 'Bearer realm="prom-incident-mcp"' : 'Bearer realm="prom-incident-mcp", error="invalid_token"';
    const message = missing ? 'Unauthorized: send Authorization: Bearer <token>' : 'Unauthorized: invalid token';
    return { refused: refusal(401, 'unauthorized', message, { 'www-authenticate': challenge }) };
  }

  /**
   * Counts a request in flight against the process's and the caller's caps; returns the
   * release to call once it is answered, or the refusal when a cap is reached.
   */
  enter(caller: Caller): { release: () => void } | { refused: Refusal } {
    const { maxConcurrent, maxConcurrentPerClient } = this.opts;
    if (this.total >= maxConcurrent) {
      const message = `Too many requests in flight (${maxConcurrent}, MCP_MAX_CONCURRENT); retry shortly`;
      return { refused: refusal(503, 'too_many_requests', message, { 'retry-after': 1 }) };
    }
    const mine = this.held.get(caller.quota) ?? 0;
    if (mine >= maxConcurrentPerClient) {
      const message = `Too many requests in flight for this client (${maxConcurrentPerClient}, MCP_MAX_CONCURRENT_PER_CLIENT); wait for answers before sending more`;
      return { refused: refusal(503, 'too_many_requests', message, { 'retry-after': 1 }) };
    }
    this.total++;
    this.held.set(caller.quota, mine + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.held.get(caller.quota) ?? 1) - 1;
        if (left > 0) this.held.set(caller.quota, left);
        else this.held.delete(caller.quota);
      },
    };
  }
}
