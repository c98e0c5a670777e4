// The server's own metrics for /metrics (prom-client, one registry per process): tool calls,
// the upstream Prometheus client (through its observer hooks), the store, HTTP refusals.
// Label values come from fixed sets (tool names, outcomes, reasons) so cardinality is bounded.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IncidentStore } from './incidents/store.js';
import type { Logger } from './log.js';
import type { BreakerState, PrometheusApi } from './prometheus/api.js';

const P = 'prom_incident_mcp_';

/** How a tool call ended, as counted in prom_incident_mcp_tool_calls_total. */
export type ToolOutcome = 'ok' | 'invalid_input' | 'error' | 'internal_error' | 'timeout' | 'cancelled' | 'refused';

export type RejectReason = 'forbidden' | 'unauthorized' | 'rate_limited' | 'too_large' | 'too_many_requests' | 'shutting_down';

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface MetricsDeps {
  store: IncidentStore;
  prometheus: PrometheusApi | null;
  log: Logger;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly toolCalls: Counter<'tool' | 'outcome'>;
  private readonly toolSeconds: Histogram<'tool'>;
  private readonly rejections: Counter<'reason'>;
  private readonly alerts: Counter<'action'>;
  private inflightCount: () => number = () => 0;
  private processMetrics = false;

  constructor(deps: MetricsDeps) {
    const registers = [this.registry];
    this.toolCalls = new Counter({
      name: `${P}tool_calls_total`,
      help: 'MCP tool calls by tool and outcome',
      labelNames: ['tool', 'outcome'],
      registers,
    });
    this.toolSeconds = new Histogram({
      name: `${P}tool_call_duration_seconds`,
      help: 'MCP tool call duration, from validated input to result',
      labelNames: ['tool'],
      buckets: SECONDS,
      registers,
    });
    this.rejections = new Counter({
      name: `${P}http_rejected_requests_total`,
      help: 'HTTP requests to /mcp refused before reaching MCP, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.alerts = new Counter({
      name: `${P}alertmanager_alerts_total`,
      help: 'alerts received from Alertmanager, by what they did to incidents',
      labelNames: ['action'],
      registers,
    });
    const self = this;
    new Gauge({
      name: `${P}http_requests_in_flight`,
      help: 'MCP and webhook requests the HTTP transport is answering',
      registers,
      collect() {
        this.set(self.inflightCount());
      },
    });
    new Gauge({
      name: `${P}incidents`,
      help: 'incidents in the store by status',
      labelNames: ['status'],
      registers,
      async collect() {
        try {
          const stats = await deps.store.stats();
          for (const [status, n] of Object.entries(stats.byStatus)) this.set({ status }, n);
        } catch (err) {
          deps.log.warn({ err }, 'store stats unavailable for /metrics');
        }
      },
    });
    if (deps.prometheus) this.observe(deps.prometheus);
  }

  /** Hooks into the Prometheus client: request durations and errors, cache lookups, breaker state. */
  private observe(prom: PrometheusApi): void {
    const registers = [this.registry];
    const seconds = new Histogram({
      name: `${P}upstream_request_duration_seconds`,
      help: 'Prometheus/Thanos API request duration by endpoint, tier and outcome',
      labelNames: ['endpoint', 'tier', 'outcome'],
      buckets: SECONDS,
      registers,
    });
    const errors = new Counter({
      name: `${P}upstream_request_errors_total`,
      help: 'Prometheus/Thanos API requests that did not succeed, by endpoint, tier and outcome',
      labelNames: ['endpoint', 'tier', 'outcome'],
      registers,
    });
    const cache = new Counter({
      name: `${P}query_cache_lookups_total`,
      help: 'query cache lookups; shared="true" when a concurrent identical query was joined',
      labelNames: ['result', 'shared'],
      registers,
    });
    new Gauge({
      name: `${P}upstream_breaker_state`,
      help: 'circuit breaker in front of Prometheus/Thanos: 1 for the current state',
      labelNames: ['state'],
      registers,
      collect() {
        const now = prom.breakerState();
        for (const s of BREAKER_STATES) this.set({ state: s }, s === now ? 1 : 0);
      },
    });
    prom.addObserver({
      request(e) {
        const labels = { endpoint: e.endpoint, tier: e.tier, outcome: e.outcome };
        seconds.observe(labels, e.ms / 1000);
        if (e.outcome !== 'ok') errors.inc(labels);
      },
      cache(e) {
        cache.inc({ result: e.hit ? 'hit' : 'miss', shared: String(e.shared) });
      },
    });
  }

  toolCall(tool: string, outcome: ToolOutcome, seconds: number): void {
    this.toolCalls.inc({ tool, outcome });
    this.toolSeconds.observe({ tool }, seconds);
  }

  rejected(reason: RejectReason): void {
    this.rejections.inc({ reason });
  }

  alert(action: string): void {
    this.alerts.inc({ action });
  }

  /** The HTTP transport tells where its count of requests in flight comes from. */
  countInflight(fn: () => number): void {
    this.inflightCount = fn;
  }

  /** process_* and nodejs_* metrics; only worth their timers when something scrapes them. */
  enableProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
