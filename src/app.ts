// The shared dependencies, built once per process: every MCP session uses the same store
// (and, with the metric tools, the same Prometheus client and cache).
import type { Config } from './config.js';
import { FileIncidentStore } from './incidents/file-store.js';
import type { IncidentStore } from './incidents/store.js';
import type { Logger } from './log.js';
import { ServerMetrics } from './metrics.js';
import type { PrometheusApi } from './prometheus/api.js';

export interface App {
  config: Config;
  log: Logger;
  store: IncidentStore;
  /** null when PROMETHEUS_URL is not set; metric tools then say what to configure */
  prometheus: PrometheusApi | null;
  /** the server's own metrics, served on /metrics by the HTTP transport */
  metrics: ServerMetrics;
  close(): Promise<void>;
}

export async function createApp(config: Config, log: Logger): Promise<App> {
  const store = await FileIncidentStore.open(config.dataDir, { logger: log.child({ component: 'store' }) });
  const prometheus: PrometheusApi | null = null;
  return {
    config,
    log,
    store,
    prometheus,
    metrics: new ServerMetrics({ store, prometheus, log }),
    async close() {
      await store.close();
    },
  };
}
