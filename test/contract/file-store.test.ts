import { FileIncidentStore } from '../../src/incidents/file-store.js';
import { createLogger } from '../../src/log.js';
import { tempDir } from '../helpers/server.js';
import { storeContract } from './store-contract.js';

const logger = createLogger('silent');

storeContract('file', async ({ now }) => {
  const dir = tempDir('pim-contract-');
  const opts = { logger, lockStaleMs: 2000, ...(now ? { now } : {}) };
  const store = await FileIncidentStore.open(dir.path, opts);
  return {
    store,
    openAnother: () => FileIncidentStore.open(dir.path, opts),
    async cleanup() {
      await store.close();
      dir.cleanup();
    },
  };
});
