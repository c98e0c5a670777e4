// The shared dependencies, built once per process: every MCP session uses the same store
// and the same Prometheus client (one connection pool, one cache, one circuit breaker).
import type { Config } from './config.js';
import { ConfigError } from './config.js';
import { messageOf } from './errors.js';
import { openStore } from './incidents/open-store.js';
import { startRetention } from './incidents/retention.js';
import type { IncidentStore } from './incidents/store.js';
import type { Logger } from './log.js';
import type { ServerMetrics } from './metrics.js';
import type { PrometheusApi } from './prometheus/api.js';
import { PrometheusClient } from './prometheus/client.js';
import { clientSettings } from './prometheus/settings.js';

/** An App built for the HTTP transport (MCP_TRANSPORT=http): it has metrics to serve. */
export type HttpApp = App & { metrics: ServerMetrics };

export interface App {
  config: Config;
  log: Logger;
  store: IncidentStore;
  /** null when PROMETHEUS_URL is not set; metric tools then say what to configure */
  prometheus: PrometheusApi | null;
  /** the server's own metrics, served on /metrics by the HTTP transport; null on stdio, where nothing reads them */
  metrics: ServerMetrics | null;
  close(): Promise<void>;
}

function createPrometheus(config: Config, log: Logger): PrometheusApi | null {
  const settings = clientSettings(config);
  if (!settings) {
    log.info('PROMETHEUS_URL is not set: the incident tools work, the metric tools will say what to configure');
    return null;
  }
  try {
    const client = new PrometheusClient(settings, log.child({ component: 'prometheus' }));
    log.info(
      { url: client.url, thanos: settings.thanosUrl ? 'configured' : 'none', auth: settings.auth.tokenFile ? 'token file' : settings.auth.token ? 'token' : settings.auth.username ? 'basic' : 'none' },
      'Prometheus client ready',
    );
    return client;
  } catch (err) {
    // an unreadable token or CA file is a configuration problem
    throw new ConfigError(messageOf(err));
  }
}

/** prom-client is loaded only where /metrics can be scraped. */
async function metricsFor(config: Config, deps: ConstructorParameters<typeof ServerMetrics>[0]): Promise<ServerMetrics | null> {
  if (config.transport !== 'http') return null;
  const { ServerMetrics } = await import('./metrics.js');
  return new ServerMetrics(deps);
}

export async function createApp(config: Config, log: Logger): Promise<App> {
  const prometheus = createPrometheus(config, log);
  const store = await openStore(config, log.child({ component: 'store' }));
  const stopRetention = await startRetention(store, config.incidentRetentionDays, log.child({ component: 'retention' }));
  return {
    config,
    log,
    store,
    prometheus,
    metrics: await metricsFor(config, { store, prometheus, log }),
    async close() {
      stopRetention();
      await store.close();
      await prometheus?.close();
    },
  };
}
