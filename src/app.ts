// The shared dependencies, built once per process: every MCP session uses the same store
// (and, with the metric tools, the same Prometheus client and cache).
import type { Config } from './config.js';
import { openStore } from './incidents/open-store.js';
import { startRetention } from './incidents/retention.js';
import type { IncidentStore } from './incidents/store.js';
import type { Logger } from './log.js';
import type { PrometheusApi } from './prometheus/api.js';

export interface App {
  config: Config;
  log: Logger;
  store: IncidentStore;
  /** null when PROMETHEUS_URL is not set; metric tools then say what to configure */
  prometheus: PrometheusApi | null;
  close(): Promise<void>;
}

export async function createApp(config: Config, log: Logger): Promise<App> {
  const store = await openStore(config, log.child({ component: 'store' }));
  const stopRetention = await startRetention(store, config.incidentRetentionDays, log.child({ component: 'retention' }));
  return {
    config,
    log,
    store,
    prometheus: null,
    async close() {
      stopRetention();
      await store.close();
    },
  };
}
