import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { StoreError, UpstreamUnavailableError } from '../../src/errors.js';
import { buildIncident } from '../../src/incidents/model.js';
import { LOCK_CREATE, MIGRATIONS } from '../../src/incidents/pg-schema.js';
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

describe('PostgreSQL schema migrations', () => {
  it('upgrades a version 1 database in place: its incidents stay, retention then ages them by their last update', async () => {
    const url = await freshDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      // the database as a server with only the first migration left it, with one closed incident in it
      await c.query(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      await c.query(MIGRATIONS[0]!.sql);
      await c.query(`INSERT INTO schema_migrations (version, name) VALUES (1, 'incidents')`);
      const old = buildIncident(input(1), 'inc-00000000000000aa', new Date('2026-01-01T00:00:00Z'), 'c');
      await c.query(
        `INSERT INTO incidents (id, title, description, severity, target, status, created_at, updated_at, resolved_at)
         VALUES ($1, $2, $3, $4, $5, 'resolved', $6, $7, $6)`,
        [old.id, old.title, old.description, old.severity, old.target, '2026-01-01T00:00:00Z', '2026-03-01T00:00:00Z'],
      );
      const store = await PostgresIncidentStore.open(url, { logger, poolSize: 2 });
      try {
        const { rows } = await c.query<{ v: number }>('SELECT max(version) AS v FROM schema_migrations');
        expect(rows[0]!.v).toBe(MIGRATIONS[MIGRATIONS.length - 1]!.version);
        const idx = await c.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename = 'incidents' AND indexname LIKE 'idx_incidents_closed%'`);
        expect(idx.rows.map((r) => r.indexname)).toEqual(['idx_incidents_closed_updated']);
        // resolved in January, last changed in March: a February cut-off keeps it, an April one removes it
        expect(await store.purgeClosed(Date.parse('2026-02-01T00:00:00Z'))).toEqual({ resolved: 0, cancelled: 0 });
        expect(await store.purgeClosed(Date.parse('2026-04-01T00:00:00Z'))).toEqual({ resolved: 1, cancelled: 0 });
      } finally {
        await store.close();
      }
    } finally {
      await c.end();
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

describe('PostgreSQL connections lost while checked out', () => {
  /** Ends the store's sessions on this database as a fast shutdown does (SQLSTATE 57P01). */
  const terminateStoreSessions = (c: pg.Client, where = 'true') =>
    c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'prom-incident-mcp' AND ${where}`);

  it('a create whose session ends mid-transaction says PostgreSQL went away and nothing was saved; the next one works', async () => {
    const url = await freshDatabase();
    const store = await PostgresIncidentStore.open(url, { logger, poolSize: 2 });
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      // the create waits inside its transaction for the lock this session holds
      await other.query('SELECT pg_advisory_lock($1)', [LOCK_CREATE]);
      const pending = store.create(input(1), 'c').catch((e: unknown) => e);
      for (let i = 0; i < 100; i++) {
        const { rows } = await other.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'prom-incident-mcp' AND wait_event_type = 'Lock'`);
        if (rows.length > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await terminateStoreSessions(other, `wait_event_type = 'Lock'`);
      const err = await pending;
      expect(err).toBeInstanceOf(UpstreamUnavailableError);
      expect((err as Error).message).toMatch(/^PostgreSQL \(the incident store\) went away \(terminating connection due to administrator command\); the change was not saved/);
      await other.query('SELECT pg_advisory_unlock($1)', [LOCK_CREATE]);
      expect(await store.count()).toBe(0);
      await store.create(input(2), 'c');
      expect(await store.count()).toBe(1);
    } finally {
      await other.end();
      await store.close();
    }
  });

  it('an export whose session ends between batches fails with a clear error, and the store works after', async () => {
    const url = await freshDatabase();
    const store = await PostgresIncidentStore.open(url, { logger, poolSize: 2 });
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await store.create(input(1), 'c');
      const batches = store.exportAll()[Symbol.asyncIterator]();
      expect((await batches.next()).value).toHaveLength(1);
      // the export holds its session in a transaction while the consumer works on a batch
      await terminateStoreSessions(other);
      await new Promise((r) => setTimeout(r, 200));
      const err = await batches.next().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpstreamUnavailableError);
      expect((err as Error).message).toMatch(/^PostgreSQL \(the incident store\) went away/);
      expect(await store.count()).toBe(1);
    } finally {
      await other.end();
      await store.close();
    }
  });
});
