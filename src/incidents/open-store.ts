// Picks the incident store the configuration names: the embedded file store (default) or
// PostgreSQL for several replicas.
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { FileIncidentStore } from './file-store.js';
import type { IncidentStore } from './store.js';

export type StoreConfig = Pick<Config, 'incidentStore' | 'databaseUrl' | 'dataDir'>;

export async function openStore(config: StoreConfig, logger: Logger): Promise<IncidentStore> {
  if (config.incidentStore === 'postgres') {
    // the driver is loaded only where it is used: most servers keep incidents in files
    const { PostgresIncidentStore } = await import('./pg-store.js');
    return PostgresIncidentStore.open(config.databaseUrl!, { logger });
  }
  return FileIncidentStore.open(config.dataDir, { logger });
}
