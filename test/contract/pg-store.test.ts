import { PostgresIncidentStore } from '../../src/incidents/pg-store.js';
import { createLogger } from '../../src/log.js';
import { freshDatabase } from '../helpers/postgres.js';
import { storeContract } from './store-contract.js';

const logger = createLogger('silent');

storeContract('postgres', async ({ now }) => {
  const url = await freshDatabase();
  const opts = { logger, poolSize: 4, ...(now ? { now } : {}) };
  const store = await PostgresIncidentStore.open(url, opts);
  return {
    store,
    openAnother: () => PostgresIncidentStore.open(url, opts),
    cleanup: () => store.close(),
  };
});
