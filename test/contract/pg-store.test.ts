import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { buildIncident } from '../../src/incidents/model.js';
import { PostgresIncidentStore } from '../../src/incidents/pg-store.js';
import { createLogger } from '../../src/log.js';
import { freshDatabase } from '../helpers/postgres.js';
import { input, storeContract } from './store-contract.js';

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

describe('PostgreSQL import', () => {
  it('imports in one transaction: a row refused after the first batch of 1,000 leaves nothing imported', async () => {
    const store = await PostgresIncidentStore.open(await freshDatabase(), { logger, poolSize: 2 });
    try {
      const t0 = Date.parse('2026-01-01T00:00:00.000Z');
      const all = Array.from({ length: 1500 }, (_, i) =>
        buildIncident(input(i), `inc-${i.toString(16).padStart(16, '0')}`, new Date(t0 + i), 'c'),
      );
      // past the column's 200 characters: the file store would take it, PostgreSQL does not
      all[1400] = { ...all[1400]!, title: 'x'.repeat(201) };
      const err = await store.importMany(all).catch((e: unknown) => e);
      expect(await store.count()).toBe(0);
      expect((err as Error).message).toMatch(/rolled back, nothing was imported \(PostgreSQL refused the data: value too long .*\[SQLSTATE 22001\]\)/);
      expect(await store.importMany(all.slice(0, 1400))).toEqual({ added: 1400, skipped: 0 });
    } finally {
      await store.close();
    }
  });
});

describe('PostgreSQL errors', () => {
  it('says what it refused, and not "retry later", for data that would fail again (here a lone surrogate validation would stop)', async () => {
    const store = await PostgresIncidentStore.open(await freshDatabase(), { logger, poolSize: 2 });
    try {
      const err = await store.create(input(1, { title: 'x\ud800' }), 'c').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/^PostgreSQL refused the data: invalid input syntax for type json \(.*surrogate.*\) \[SQLSTATE 22P02\]; nothing was stored, and the same request will fail again/);
      expect(msg).not.toMatch(/retry later/);
      expect(await store.count()).toBe(0);

      const { incident } = await store.create(input(2), 'c');
      const upd = await store.update(incident.id, { note: '\udfff' }, 'c').catch((e: unknown) => e);
      expect((upd as Error).message).toMatch(/^PostgreSQL refused the data: .*the same request will fail again/);
      expect(await store.get(incident.id)).toEqual(incident);
    } finally {
      await store.close();
    }
  });
});
