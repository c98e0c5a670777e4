// The one Prometheus/Thanos client of the process: a pooled undici dispatcher, credentials,
// a TTL cache with shared in-flight requests, retries with backoff for network errors and
// 5xx within one deadline, a circuit breaker per upstream, and routing of long ranges to
// Thanos when THANOS_URL is set (falling back to the other tier when one is down).
import { readFileSync } from 'node:fs';
import type { Agent, Dispatcher, request as undiciRequest } from 'undici';
import { nodeTls } from '../builtins.js';
import { redactUrl } from '../config.js';
import { CapacityError, UpstreamRejectedError, UpstreamUnavailableError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { formatDuration } from '../time.js';
import type {
  BreakerState,
  CallOptions,
  ClientObserver,
  Discovered,
  Health,
  InstantResult,
  InstantSample,
  Labels,
  MetricMetadata,
  PrometheusApi,
  Range,
  RangeResult,
  RangeSeries,
  RequestEvent,
  Tier,
} from './api.js';
import { Credentials, type AuthSettings } from './auth.js';
import { CircuitBreaker } from './breaker.js';
import { parseAnswer } from './answer.js';
import { ByteBudget, type BudgetHold } from './budget.js';
import { ResultCache } from './cache.js';
import { alignRange, queryShape } from './promql.js';

export interface ClientSettings {
  url: string;
  thanosUrl: string | null;
  routingThresholdMs: number;
  timeoutMs: number;
  cacheTtlMs: number;
  cacheMaxBytes: number;
  auth: AuthSettings;
  caFile: string | null;
  insecureSkipVerify: boolean;
  thanos: { dedup: boolean | null; partialResponse: boolean | null; maxSourceResolution: string | null };
  /** retries after the first attempt, for network errors and 5xx */
  retries?: number;
  breakerThreshold?: number;
  breakerOpenMs?: number;
  /** the largest answer accepted (PROMETHEUS_MAX_ANSWER_MB); default 64 MiB */
  maxResponseBytes?: number;
  /** answer bytes the whole process holds at once (PROMETHEUS_MAX_INFLIGHT_MB); default 64 MiB */
  maxInflightBytes?: number;
  /** cache lifetime of instant queries at "now" (at most cacheTtlMs); default 30 s */
  nowCacheTtlMs?: number;
}

interface Upstream {
  tier: Tier;
  base: string;
  /** base URL without credentials, for messages and logs */
  shown: string;
  breaker: CircuitBreaker;
}

type Params = [string, string][];

/** Why one attempt failed, and what that says about retrying and about the upstream. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly kind: 'network' | 'server' | 'timeout' | 'garbage' | 'rejected' | 'auth' | 'breaker' | 'too_large' | 'busy',
    readonly errorType?: string,
  ) {
    super(message);
  }
  /** the upstream itself failed (unreachable, 5xx): worth a retry, and a failure for the breaker */
  get upstreamDown(): boolean {
    return this.kind === 'network' || this.kind === 'server';
  }
}

const NAME: Record<Tier, string> = { prometheus: 'Prometheus', thanos: 'Thanos' };

/** How long an answer from the fallback tier is kept: the preferred tier may be back soon. */
const FALLBACK_TTL_MS = 30_000;

/** What makes an answer smaller, for the errors of this server's memory limits. */
const NARROWER = 'fewer series (aggregate, e.g. sum by (namespace), or topk), a coarser step or a shorter range';

const mib = (bytes: number) => Number((bytes / 1048576).toPrecision(3));

/** How long "now" may be stale: an agent asking whether a pod is back wants a fresh answer. */
const NOW_TTL_MS = 30_000;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    // e.g. OpenShift's service-ca.crt from the example Deployment, on another Kubernetes
    throw new Error(`PROMETHEUS_CA_FILE ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`);
  }
}

function unexpected(why: string): never {
  throw new Error(why);
}

/** Discovery endpoints answer arrays; some Thanos versions answer null for "none". */
function listOf<T>(data: unknown, what: string): T[] {
  if (data === null || data === undefined) return [];
  if (!Array.isArray(data)) throw new Error(`data is not a list of ${what}`);
  return data as T[];
}

function parseValue(v: string): number {
  if (v === '+Inf' || v === 'Inf') return Number.POSITIVE_INFINITY;
  if (v === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(v);
}

interface ApiBody {
  status?: string;
  data?: unknown;
  errorType?: string;
  error?: string;
  warnings?: string[];
}

interface ApiSample {
  metric?: Labels;
  value?: [number, string];
  values?: [number, string][];
  /** `values` already turned into number arrays, as a large answer is parsed */
  decoded?: RangeSeries;
}

function toSeries(r: ApiSample): RangeSeries {
  if (r.decoded) return r.decoded;
  const values = r.values ?? [];
  return {
    labels: r.metric ?? {},
    timestamps: values.map((p) => Math.round(p[0] * 1000)),
    values: values.map((p) => parseValue(p[1])),
  };
}

/** A range series' points as number arrays as soon as it is parsed (see ./answer.ts); anything else as it is. */
function compactSample(element: unknown): unknown {
  if (!isObject(element) || !Array.isArray(element.values)) return element;
  try {
    return { decoded: toSeries(element as ApiSample) };
  } catch {
    return element; // malformed: the shape check reports it
  }
}

export class PrometheusClient implements PrometheusApi {
  readonly url: string;
  private readonly upstreams: Upstream[];
  private readonly agentOptions: Agent.Options;
  /** undici, loaded in the background after start-up (see the constructor), or by a request that comes first */
  private http: Promise<{ agent: Agent; request: typeof undiciRequest }> | null = null;
  private readonly creds: Credentials;
  private readonly cache: ResultCache<object>;
  private readonly observers: ClientObserver[] = [];
  private readonly retries: number;
  private readonly maxResponseBytes: number;
  private readonly budget: ByteBudget;

  constructor(
    private readonly s: ClientSettings,
    private readonly log: Logger,
  ) {
    const breaker = () => new CircuitBreaker(s.breakerThreshold ?? 5, s.breakerOpenMs ?? 30_000);
    this.upstreams = [{ tier: 'prometheus', base: s.url.replace(/\/+$/, ''), shown: redactUrl(s.url), breaker: breaker() }];
    if (s.thanosUrl) {
      this.upstreams.push({ tier: 'thanos', base: s.thanosUrl.replace(/\/+$/, ''), shown: redactUrl(s.thanosUrl), breaker: breaker() });
    }
    this.url = this.upstreams[0]!.shown;
    this.creds = new Credentials(s.auth);
    this.retries = s.retries ?? 2;
    this.maxResponseBytes = s.maxResponseBytes ?? 64 * 1024 * 1024;
    this.budget = new ByteBudget(s.maxInflightBytes ?? 64 * 1024 * 1024);
    if (s.insecureSkipVerify) {
      log.warn('PROMETHEUS_INSECURE_SKIP_VERIFY is set: TLS certificates of Prometheus/Thanos are NOT verified');
    }
    const ca = s.caFile ? [...nodeTls().rootCertificates, readCa(s.caFile)] : undefined;
    this.agentOptions = {
      connections: 64,
      keepAliveTimeout: 30_000,
      connect: { ...(ca ? { ca } : {}), rejectUnauthorized: !s.insecureSkipVerify },
    };
    // loaded in the background once start-up is done, so neither start-up nor the first call waits for it
    setImmediate(() => void this.undici().catch(() => undefined));
    this.cache = new ResultCache({ ttlMs: s.cacheTtlMs, maxEntries: 5000, maxBytes: s.cacheMaxBytes });
  }

  private undici(): Promise<{ agent: Agent; request: typeof undiciRequest }> {
    this.http ??= import('undici').then((u) => ({ agent: new u.Agent(this.agentOptions), request: u.request }));
    return this.http;
  }

  addObserver(o: ClientObserver): void {
    this.observers.push(o);
  }

  breakerState(): BreakerState {
    // the worst state of any upstream
    const states = this.upstreams.map((u) => u.breaker.state());
    return states.includes('open') ? 'open' : states.includes('half_open') ? 'half_open' : 'closed';
  }

  private emit(e: RequestEvent): void {
    for (const o of this.observers) o.request?.(e);
  }

  /**
   * Which upstream should answer a request whose data starts at `from` (epoch ms): Thanos
   * when that is further back than the routing threshold, so both long ranges and short
   * ranges in the past go to the tier that keeps history (Prometheus answers data it no longer
   * has with an empty result, not an error, so a fallback would never see the difference).
   */
  private route(from: number): Upstream[] {
    const [prom, thanos] = this.upstreams;
    if (!thanos) return [prom!];
    return Date.now() - from > this.s.routingThresholdMs ? [thanos, prom!] : [prom!, thanos];
  }

  /**
   * A query evaluated from `from` reads data further back by its ranges and offsets, and from
   * wherever an `@ <time>` pins part of it; parsed only when Thanos is there to choose. One the
   * grammar cannot read (a syntax error, or more nesting than the parser takes) may reach back
   * any distance: the tier that keeps history answers it.
   */
  private async queryRoute(from: number, query: string): Promise<Upstream[]> {
    if (this.upstreams.length < 2) return this.route(from);
    const shape = await queryShape(query);
    return this.route(shape === null ? -Infinity : Math.min(from, shape.earliestAtMs ?? from) - shape.lookbackMs);
  }

  private thanosParams(): Params {
    const t = this.s.thanos;
    const p: Params = [];
    if (t.dedup !== null) p.push(['dedup', String(t.dedup)]);
    if (t.partialResponse !== null) p.push(['partial_response', String(t.partialResponse)]);
    if (t.maxSourceResolution !== null) p.push(['max_source_resolution', t.maxSourceResolution]);
    return p;
  }

  // ---- one HTTP attempt ------------------------------------------------------------------

  /**
   * `retriedAuth`: a retry after a 401, which already holds the breaker's permission (it may be
   * the half-open probe). `probe`: a health check, which asks the upstream whatever the breaker says.
   */
  private async attempt(
    u: Upstream,
    path: string,
    params: Params,
    deadline: number,
    hold: BudgetHold,
    opts: { retriedAuth?: boolean; probe?: boolean } = {},
  ): Promise<{ data: unknown; warnings: string[]; bytes: number }> {
    hold.release(); // an earlier attempt's answer is garbage now
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new AttemptError(`did not answer within ${formatDuration(this.s.timeoutMs)} (PROMETHEUS_TIMEOUT)`, 'timeout');
    if (!opts.retriedAuth && !opts.probe && !u.breaker.allow()) {
      throw new AttemptError(
        `is unavailable: ${u.breaker.consecutiveFailures} requests in a row failed (last: ${u.breaker.lastFailure}); next try in ${formatDuration(u.breaker.retryInMs())}`,
        'breaker',
      );
    }
    const qs = new URLSearchParams(params).toString();
    // GET keeps kube-rbac-proxy's verb mapping happy (cluster-monitoring-view grants get);
    // very long queries go as a form POST, which Prometheus and Thanos both accept.
    const usePost = qs.length > 6000;
    const url = usePost ? `${u.base}${path}` : `${u.base}${path}?${qs}`;
    const headers: Record<string, string> = { accept: 'application/json', ...this.creds.headers() };
    if (usePost) headers['content-type'] = 'application/x-www-form-urlencoded';
    const started = performance.now();
    const endpoint = path.replace(/\/label\/[^/]+\/values$/, '/label/:name/values');
    let outcome: RequestEvent['outcome'] = 'error';
    let handedOff = false;
    try {
      let res;
      try {
        const http = await this.undici();
        // PROMETHEUS_TIMEOUT is Prometheus's time: loading undici (once, at start-up) is ours
        const left = Math.max(1, Math.floor(remaining - (performance.now() - started)));
        res = await http.request(url, {
          method: usePost ? 'POST' : 'GET',
          headers,
          body: usePost ? qs : null,
          dispatcher: http.agent,
          signal: AbortSignal.timeout(left),
          headersTimeout: left,
          bodyTimeout: left,
        });
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'TimeoutError' || name === 'AbortError' || /Timeout/.test(name)) {
          outcome = 'timeout';
          throw new AttemptError(`did not answer within ${formatDuration(this.s.timeoutMs)} (PROMETHEUS_TIMEOUT)`, 'timeout');
        }
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        throw new AttemptError(`is unreachable: ${cause?.code ?? ''} ${cause?.message ?? messageOf(err)}`.replace(/\s+/g, ' ').trim(), 'network');
      }
      const { text, bytes } = await this.readBody(res, hold);
      const status = res.statusCode;
      let body: ApiBody | null = null;
      try {
        body = parseAnswer(text, compactSample) as ApiBody;
      } catch {
        body = null;
      }
      if ((status === 401 || status === 403) && body?.status !== 'error') {
        if (!opts.retriedAuth && this.s.auth.tokenFile) {
          // the ServiceAccount token may have just rotated; the retry reports for itself
          this.creds.refresh();
          outcome = 'rejected';
          handedOff = true;
          return await this.attempt(u, path, params, deadline, hold, { ...opts, retriedAuth: true });
        }
        outcome = 'rejected';
        throw new AttemptError(
          `refused the request (HTTP ${status}): check PROMETHEUS_TOKEN / PROMETHEUS_TOKEN_FILE; in-cluster the ServiceAccount needs the cluster-monitoring-view role`,
          'auth',
        );
      }
      if (body && typeof body === 'object' && body.status === 'success') {
        outcome = 'ok';
        return { data: body.data, warnings: body.warnings ?? [], bytes };
      }
      if (body && typeof body === 'object' && body.status === 'error') {
        const what = `${body.errorType ?? 'error'}: ${body.error ?? 'no detail'}`;
        if (status >= 500 && body.errorType !== 'timeout' && body.errorType !== 'execution') {
          throw new AttemptError(`failed (HTTP ${status}, ${what})`, 'server');
        }
        outcome = 'rejected';
        throw new AttemptError(what, 'rejected', body.errorType);
      }
      if (status >= 500) throw new AttemptError(`failed (HTTP ${status})`, 'server');
      if (status === 404) {
        outcome = 'rejected';
        throw new AttemptError(
          `answered HTTP 404 for ${path}: the URL should be the server's base, e.g. http://prometheus:9090 or https://thanos-querier.openshift-monitoring.svc:9091`,
          'rejected',
        );
      }
      const type = res.headers['content-type'] ?? 'no content type';
      throw new AttemptError(
        `answered HTTP ${status} with ${String(type).split(';')[0]}, not the Prometheus API's JSON (is the URL the API's base, and is a login proxy in front of it?)`,
        'garbage',
      );
    } catch (err) {
      if (err instanceof AttemptError && !handedOff) {
        // a refusal or a rejected query still proves the upstream is up
        if (err.kind === 'timeout') u.breaker.timedOut(err.message);
        else if (err.upstreamDown) u.breaker.failure(err.message);
        else if (err.kind === 'rejected' || err.kind === 'auth' || err.kind === 'too_large' || err.kind === 'busy') u.breaker.success();
        else if (err.kind !== 'breaker') u.breaker.release();
        if (err.kind === 'timeout') outcome = 'timeout';
        else if (err.kind === 'breaker') outcome = 'breaker_open';
      }
      throw err;
    } finally {
      if (outcome === 'ok') u.breaker.success();
      if (outcome !== 'breaker_open') this.emit({ endpoint, tier: u.tier, ms: performance.now() - started, outcome });
      else this.emit({ endpoint, tier: u.tier, ms: 0, outcome });
    }
  }

  /**
   * The answer's text. Its bytes are held in the process's budget as they arrive (all at once
   * when the size is announced), so an answer that does not fit is refused before it is read.
   */
  private async readBody(res: Dispatcher.ResponseData, hold: BudgetHold): Promise<{ text: string; bytes: number }> {
    const refuse = (err: AttemptError): never => {
      res.body.destroy();
      throw err;
    };
    const announced = Number(res.headers['content-length'] ?? 0);
    if (announced > this.maxResponseBytes) refuse(this.tooLarge());
    if (announced > 0 && !hold.take(announced)) refuse(this.busy());
    const chunks: Buffer[] = [];
    let bytes = 0;
    try {
      for await (const chunk of res.body) {
        bytes += (chunk as Buffer).length;
        if (bytes > this.maxResponseBytes) refuse(this.tooLarge());
        if (bytes > hold.bytes && !hold.take(bytes - hold.bytes)) refuse(this.busy());
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (err instanceof AttemptError) throw err;
      throw new AttemptError(`did not finish its answer within ${formatDuration(this.s.timeoutMs)} (PROMETHEUS_TIMEOUT)`, 'timeout');
    }
    // one copy at a time: the chunks may go once joined, the joined bytes once decoded
    const joined = Buffer.concat(chunks, bytes);
    chunks.length = 0;
    return { text: joined.toString('utf8'), bytes };
  }

  private tooLarge(): AttemptError {
    return new AttemptError(`it is larger than PROMETHEUS_MAX_ANSWER_MB (${mib(this.maxResponseBytes)} MiB)`, 'too_large');
  }

  private busy(): AttemptError {
    return new AttemptError(
      `holding this answer too would pass PROMETHEUS_MAX_INFLIGHT_MB (${mib(this.budget.limit)} MiB of answers in memory at once)`,
      'busy',
    );
  }

  /** Retries network errors and 5xx with backoff, all within the deadline. */
  private async withRetries(u: Upstream, path: string, params: Params, deadline: number, hold: BudgetHold) {
    for (let n = 0; ; n++) {
      try {
        return await this.attempt(u, path, params, deadline, hold);
      } catch (err) {
        if (!(err instanceof AttemptError) || !err.upstreamDown || n >= this.retries) {
          if (err instanceof AttemptError && err.upstreamDown && n > 0) err.message += ` (after ${n + 1} attempts)`;
          throw err;
        }
        const backoff = 100 * 3 ** n * (0.5 + Math.random());
        if (Date.now() + backoff >= deadline) throw err;
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  /** The request on its preferred upstream, then on the other one if the first is down. */
  private async fetch(
    order: Upstream[],
    path: string,
    params: Params,
    hold: BudgetHold,
  ): Promise<{ data: unknown; warnings: string[]; tier: Tier; bytes: number }> {
    const deadline = Date.now() + this.s.timeoutMs;
    const full: Params = [...params, ...this.thanosParams()];
    let first: AttemptError | null = null;
    for (const u of order) {
      if (first && Date.now() >= deadline) {
        // the first tier used up the call's time: say so, rather than blame the second
        throw new UpstreamUnavailableError(`${NAME[order[0]!.tier]} at ${order[0]!.shown} ${first.message}; no time was left to try ${NAME[u.tier]}`);
      }
      try {
        const r = await this.withRetries(u, path, full, deadline, hold);
        const warnings = first
          ? [`${NAME[order[0]!.tier]} ${first.message}; answered by ${NAME[u.tier]} instead, whose history may differ`, ...r.warnings]
          : r.warnings;
        return { ...r, warnings, tier: u.tier };
      } catch (err) {
        if (!(err instanceof AttemptError)) throw err;
        // this server's own limits: the other tier's answer would be as large
        if (err.kind === 'too_large') throw new CapacityError(`This server refused ${NAME[u.tier]}'s answer: ${err.message}. Narrow the query: ${NARROWER}.`);
        if (err.kind === 'busy') {
          throw new CapacityError(`This server is busy with other large answers: ${err.message}. Retry in a few seconds, or narrow the query (${NARROWER}).`);
        }
        if (err.kind === 'rejected') {
          throw new UpstreamRejectedError(`${NAME[u.tier]} rejected the request: ${err.message}`, err.errorType);
        }
        if (err.kind === 'auth') throw new UpstreamRejectedError(`${NAME[u.tier]} at ${u.shown} ${err.message}`);
        first ??= err;
        if (u === order[order.length - 1]) {
          const also = first !== err ? `; ${NAME[order[0]!.tier]} at ${order[0]!.shown} ${first.message}` : '';
          throw new UpstreamUnavailableError(`${NAME[u.tier]} at ${u.shown} ${err.message}${also}`);
        }
      }
    }
    throw new Error('unreachable');
  }

  /** Cached fetch; a caller's abort stops its wait without cancelling the shared request. */
  private async cached<T extends object>(
    order: Upstream[],
    path: string,
    params: Params,
    shape: (data: unknown, warnings: string[], tier: Tier) => T,
    opts: CallOptions = {},
    maxTtlMs?: number,
  ): Promise<T> {
    const key = JSON.stringify([order[0]!.tier, path, params]);
    const load = async () => {
      // the answer's bytes stay held until it is shaped: parsing is where it costs the most
      const hold = this.budget.hold();
      let r;
      let value: T;
      try {
        r = await this.fetch(order, path, params, hold);
        value = shape(r.data, r.warnings, r.tier);
      } catch (err) {
        if (!r) throw err;
        throw new UpstreamUnavailableError(
          `${NAME[r.tier]} answered ${path} with JSON of an unexpected shape (${messageOf(err)}): is the URL a Prometheus-compatible API?`,
        );
      } finally {
        hold.release();
      }
      // the other tier's answer stands in only until the preferred one is back
      const ttlMs = r.tier === order[0]!.tier ? maxTtlMs : Math.min(maxTtlMs ?? FALLBACK_TTL_MS, FALLBACK_TTL_MS);
      return { value, size: r.bytes, ttlMs };
    };
    const p = this.cache.get(key, load);
    const res = opts.signal ? await raceAbort(p, opts.signal) : await p;
    for (const o of this.observers) o.cache?.({ hit: res.source === 'hit', shared: res.source === 'shared' });
    return res.value as T;
  }

  // ---- the API ---------------------------------------------------------------------------

  async query(query: string, opts: CallOptions & { time?: number } = {}): Promise<InstantResult> {
    // "now" is one cache entry per query, as ADR-014's rolling-mean cache, but kept only
    // briefly; results carry their evaluation time so the age is visible.
    const time = opts.time;
    const params: Params = [['query', query]];
    if (time !== undefined) params.push(['time', (time / 1000).toFixed(3)]);
    return this.cached(
      await this.queryRoute(time ?? Date.now(), query),
      '/api/v1/query',
      params,
      (data, warnings, tier) => {
        if (!isObject(data) || typeof data.resultType !== 'string') throw new Error('data has no resultType');
        const d = data as { resultType: InstantResult['resultType']; result: unknown };
        if ((d.resultType === 'vector' || d.resultType === 'matrix') && !Array.isArray(d.result)) throw new Error(`a ${d.resultType} without a result list`);
        if ((d.resultType === 'scalar' || d.resultType === 'string') && !Array.isArray(d.result)) throw new Error(`a ${d.resultType} without a [time, value] pair`);
        const out: InstantResult = { resultType: d.resultType, samples: [], series: [], warnings, tier, time: time ?? Date.now() };
        if (d.resultType === 'vector') {
          out.samples = (d.result as ApiSample[]).filter((r) => r.value).map((r): InstantSample => ({
            labels: r.metric ?? {},
            t: Math.round(r.value![0] * 1000),
            v: parseValue(r.value![1]),
          }));
          if (out.samples[0]) out.time = out.samples[0].t;
        } else if (d.resultType === 'scalar' || d.resultType === 'string') {
          const [t, v] = d.result as [number, string];
          out.time = Math.round(t * 1000);
          out.samples = [{ labels: d.resultType === 'string' ? { value: v } : {}, t: out.time, v: d.resultType === 'string' ? Number.NaN : parseValue(v) }];
        } else if (d.resultType === 'matrix') {
          out.series = (d.result as ApiSample[]).map(toSeries);
        }
        return out;
      },
      opts,
      time === undefined ? (this.s.nowCacheTtlMs ?? NOW_TTL_MS) : undefined,
    );
  }

  async queryRange(query: string, range: Range, opts: CallOptions = {}): Promise<RangeResult> {
    const { start, end, step } = alignRange(range);
    const params: Params = [
      ['query', query],
      ['start', String(start / 1000)],
      ['end', String(end / 1000)],
      ['step', String(step / 1000)],
    ];
    return this.cached(
      await this.queryRoute(start, query),
      '/api/v1/query_range',
      params,
      (data, warnings, tier) => ({
        series: isObject(data) ? listOf<ApiSample>(data.result, 'series').map(toSeries) : unexpected('data is not an object'),
        warnings,
        tier,
        start,
        end,
        step,
      }),
      opts,
    );
  }

  private windowParams(opts: { match?: string[]; start?: number; end?: number }): Params {
    const p: Params = (opts.match ?? []).map((m) => ['match[]', m]);
    if (opts.start !== undefined) p.push(['start', String(Math.floor(opts.start / 1000))]);
    if (opts.end !== undefined) p.push(['end', String(Math.ceil(opts.end / 1000))]);
    return p;
  }

  /** Without a start, discovery covers all history: Thanos's question. */
  private discoveryOrder(opts: { start?: number }): Upstream[] {
    return this.route(opts.start ?? Number.NEGATIVE_INFINITY);
  }

  async labelNames(opts: CallOptions & { match?: string[]; start?: number; end?: number } = {}): Promise<Discovered<string[]>> {
    return this.cached(this.discoveryOrder(opts), '/api/v1/labels', this.windowParams(opts), (d, warnings, tier) => ({ values: listOf<string>(d, 'names'), warnings, tier }), opts);
  }

  async labelValues(label: string, opts: CallOptions & { match?: string[]; start?: number; end?: number } = {}): Promise<Discovered<string[]>> {
    const path = `/api/v1/label/${encodeURIComponent(label)}/values`;
    return this.cached(this.discoveryOrder(opts), path, this.windowParams(opts), (d, warnings, tier) => ({ values: listOf<string>(d, 'values'), warnings, tier }), opts);
  }

  async series(match: string[], opts: CallOptions & { start?: number; end?: number; limit?: number } = {}): Promise<Discovered<Labels[]>> {
    const params = this.windowParams({ ...opts, match });
    if (opts.limit !== undefined) params.push(['limit', String(opts.limit)]);
    return this.cached(this.discoveryOrder(opts), '/api/v1/series', params, (d, warnings, tier) => ({ values: listOf<Labels>(d, 'label sets'), warnings, tier }), opts);
  }

  async metadata(opts: CallOptions & { metric?: string; limit?: number } = {}): Promise<Discovered<Record<string, MetricMetadata[]>>> {
    const params: Params = [];
    if (opts.metric) params.push(['metric', opts.metric]);
    if (opts.limit !== undefined) params.push(['limit', String(opts.limit)]);
    // metadata comes from live scrapes: Prometheus first, Thanos when it is down
    const shape = (d: unknown, warnings: string[], tier: Tier) => {
      if (d !== null && !isObject(d)) throw new Error('metadata is not an object');
      return { values: (d ?? {}) as Record<string, MetricMetadata[]>, warnings, tier };
    };
    return this.cached(this.route(Date.now()), '/api/v1/metadata', params, shape, opts);
  }

  /** Asks each upstream directly, past an open breaker (readiness must see the upstream, not our memory of it); an answer closes the breaker. */
  async health(): Promise<Health[]> {
    return Promise.all(
      this.upstreams.map(async (u): Promise<Health> => {
        const started = performance.now();
        try {
          const hold = this.budget.hold();
          await this.attempt(u, '/api/v1/query', [['query', 'vector(1)']], Date.now() + Math.min(this.s.timeoutMs, 5000), hold, { probe: true }).finally(() => hold.release());
          return { ok: true, url: u.shown, tier: u.tier, ms: Math.round(performance.now() - started) };
        } catch (err) {
          return { ok: false, url: u.shown, tier: u.tier, ms: Math.round(performance.now() - started), error: messageOf(err) };
        }
      }),
    );
  }

  async close(): Promise<void> {
    this.cache.clear();
    if (this.http) await (await this.http).agent.close();
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
