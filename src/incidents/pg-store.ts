// The PostgreSQL incident store, for several replicas sharing one database. Every operation
// is one transaction (or one statement); creates take a transaction-scoped advisory lock so
// creation times are strictly increasing across replicas ("newest first" = creation order),
// and a partial unique index makes dedup_key unique among active incidents.
import pg from 'pg';
import { redactUrl } from '../config.js';
import { ConflictError, NotFoundError, StoreError, UpstreamUnavailableError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { applyUpdate, notFoundMessage, type IncidentUpdate, type UpdateResult } from './lifecycle.js';
import { decodeCursor, encodeCursor } from './memory-index.js';
import {
  EvidenceItem,
  STATUSES,
  TimelineEntry,
  buildIncident,
  newIncidentId,
  type Incident,
  type IncidentSummary,
  type NewIncident,
  type Status,
} from './model.js';
import { OUTCOME, checkout, isOutage, outageError, type Held } from './pg-connection.js';
import { LOCK_CREATE, migrate } from './pg-schema.js';
import type { CreateResult, ImportResult, IncidentStore, ListPage, ListQuery, StoreHealth, StoreStats } from './store.js';

/** The first line of a text (pg's error messages carry a multi-line detail). */
const firstLine = (s: string): string => s.split('\n')[0]!;

export interface PgStoreOptions {
  logger: Logger;
  /** connections per process */
  poolSize?: number;
  now?: () => Date;
}

const BATCH = 1000;
const UNIQUE_VIOLATION = '23505';
const SUMMARY_COLS = `id, title, description, severity, status, target, namespace, affected_resources, labels, created_at,
  updated_at, resolved_at, workflow_id, dedup_key, jsonb_array_length(timeline) AS timeline_count, jsonb_array_length(evidence) AS evidence_count`;
const UPDATABLE = [
  'title',
  'description',
  'severity',
  'status',
  'target',
  'namespace',
  'affected_resources',
  'labels',
  'updated_at',
  'resolved_at',
  'workflow_id',
  'dedup_key',
  'evidence',
  'timeline',
] as const;

type Row = Record<string, unknown>;
const iso = (v: unknown): string => (v as Date).toISOString();
const isoOrNull = (v: unknown): string | null => (v === null ? null : iso(v));

function rowToSummary(r: Row): IncidentSummary {
  return {
    id: r.id as string,
    title: r.title as string,
    description: r.description as string,
    severity: r.severity as Incident['severity'],
    status: r.status as Status,
    target: r.target as string,
    namespace: r.namespace as string | null,
    affected_resources: r.affected_resources as string[],
    labels: r.labels as Record<string, string>,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
    resolved_at: isoOrNull(r.resolved_at),
    workflow_id: r.workflow_id as string | null,
    dedup_key: r.dedup_key as string | null,
    timeline_count: r.timeline_count as number,
    evidence_count: r.evidence_count as number,
  };
}

/** jsonb stores object keys sorted by length; put them back in the model's order. */
function inOrder<T extends object>(obj: T, keys: readonly (keyof T)[]): T {
  const out = {} as T;
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}
const TIMELINE_KEYS = Object.keys(TimelineEntry.shape) as (keyof TimelineEntry)[];
const EVIDENCE_KEYS = Object.keys(EvidenceItem.shape) as (keyof EvidenceItem)[];

function rowToIncident(r: Row): Incident {
  const { timeline_count: _t, evidence_count: _e, ...rest } = rowToSummary({ ...r, timeline_count: 0, evidence_count: 0 });
  return {
    ...rest,
    evidence: (r.evidence as EvidenceItem[]).map((e) => inOrder(e, EVIDENCE_KEYS)),
    timeline: (r.timeline as TimelineEntry[]).map((e) => inOrder(e, TIMELINE_KEYS)),
  };
}

/** JSON for jsonb_populate_record: timestamps as ISO strings map onto timestamptz columns. */
const asJson = (inc: Incident) => JSON.stringify(inc);

function uniqueViolation(err: unknown): string | null {
  const e = err as { code?: string; constraint?: string };
  return e?.code === UNIQUE_VIOLATION ? (e.constraint ?? '') : null;
}

/**
 * What PostgreSQL refused, for errors that would happen again on a retry (SQLSTATE classes 22,
 * data exception, and 23, integrity constraint violation): its message, detail and code.
 * Validation should stop such data first; this says what is wrong if some gets through.
 */
function refusedData(err: unknown): string | null {
  const e = err as { code?: unknown; detail?: unknown; column?: unknown };
  if (typeof e?.code !== 'string' || !/^2[23]/.test(e.code)) return null;
  const where = typeof e.column === 'string' ? ` in column ${e.column}` : '';
  const detail = typeof e.detail === 'string' && e.detail !== '' ? ` (${firstLine(e.detail)})` : '';
  return `PostgreSQL refused the data${where}: ${firstLine(messageOf(err))}${detail} [SQLSTATE ${e.code}]`;
}

/** Builds the WHERE clause of a list query; values go into `params`. */
function listFilter(q: ListQuery, params: unknown[]): string {
  const where: string[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (q.status !== undefined) add('status = ?', q.status);
  if (q.severity !== undefined) add('severity = ?', q.severity);
  if (q.namespace !== undefined) add('namespace = ?', q.namespace);
  if (q.target !== undefined) add('target = ?', q.target);
  if (q.since !== undefined) add('created_at >= ?', new Date(q.since));
  if (q.until !== undefined) add('created_at < ?', new Date(q.until));
  if (q.labels !== undefined && Object.keys(q.labels).length > 0) add('labels @> ?::jsonb', JSON.stringify(q.labels));
  return where.length > 0 ? where.join(' AND ') : 'true';
}

export class PostgresIncidentStore implements IncidentStore {
  private readonly log: Logger;
  private readonly now: () => Date;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    opts: PgStoreOptions,
  ) {
    this.log = opts.logger;
    this.now = opts.now ?? (() => new Date());
  }

  /** Connects, migrates the schema; throws StoreError with a one-line reason when it cannot. */
  static async open(url: string, opts: PgStoreOptions): Promise<PostgresIncidentStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
      // a stuck lock or query must not hold pool connections past the tool time limit
      statement_timeout: 30_000,
      lock_timeout: 10_000,
      idle_in_transaction_session_timeout: 60_000,
      application_name: 'prom-incident-mcp',
    });
    // An idle connection that breaks (database restart) must not crash the process.
    pool.on('error', (err) => opts.logger.warn({ err: messageOf(err) }, 'idle PostgreSQL connection failed'));
    const started = performance.now();
    let held: Held | undefined;
    try {
      held = await checkout(pool);
      const { version, applied } = await migrate(held.client);
      opts.logger.info(
        { database: redactUrl(url), schemaVersion: version, migrated: applied, ms: Math.round(performance.now() - started) },
        'incident store connected to PostgreSQL',
      );
    } catch (err) {
      held?.release(err instanceof Error ? err : new Error(messageOf(err)));
      held = undefined;
      await pool.end().catch(() => undefined);
      if (err instanceof StoreError) throw err;
      throw new StoreError(`cannot use the PostgreSQL database at ${redactUrl(url)}: ${firstLine(messageOf(err))}`);
    } finally {
      held?.release();
    }
    return new PostgresIncidentStore(pool, opts);
  }

  // ---- plumbing --------------------------------------------------------------------------

  /**
   * Runs the write fn in a transaction. A lost connection becomes UpstreamUnavailableError
   * saying whether the change was saved; other failures pass through to storeError().
   */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    if (this.closed) throw new StoreError('the incident store is closed');
    const held = await checkout(this.pool).catch((err: unknown) => {
      throw this.storeError(err, OUTCOME.notSaved);
    });
    let committing = false;
    let broken: Error | undefined;
    try {
      await held.client.query(begin);
      const out = await fn(held.client);
      committing = true;
      await held.client.query('COMMIT');
      return out;
    } catch (err) {
      if (held.lost || isOutage(err)) {
        // released with it, so the pool destroys the client before its 'end' even arrives; the
        // connection's own error says why better than "not queryable" from a later query
        broken = held.lost ?? (err as Error);
        throw this.outage(broken, committing ? OUTCOME.unknown : OUTCOME.notSaved);
      }
      await held.client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      held.release(broken);
    }
  }

  private outage(err: unknown, outcome: string): UpstreamUnavailableError {
    this.log.warn({ err: messageOf(err) }, 'PostgreSQL is unavailable');
    return outageError(err, outcome);
  }

  private async query<R extends Row = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    if (this.closed) throw new StoreError('the incident store is closed');
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw this.storeError(err);
    }
  }

  private storeError(err: unknown, outcome: string = OUTCOME.read): Error {
    if (err instanceof NotFoundError || err instanceof ConflictError || err instanceof StoreError) return err;
    if (err instanceof UpstreamUnavailableError || (err instanceof Error && err.name === 'InputError')) return err;
    if (isOutage(err)) return this.outage(err, outcome);
    this.log.error({ err: messageOf(err) }, 'PostgreSQL operation failed');
    const refused = refusedData(err);
    if (refused) return new StoreError(`${refused}; nothing was stored, and the same request will fail again: change what it sends`);
    return new StoreError(`PostgreSQL operation failed (${firstLine(messageOf(err))}); retry later`);
  }

  private async activeWithKey(c: pg.PoolClient | pg.Pool, key: string): Promise<Incident | undefined> {
    const { rows } = await c.query(`SELECT * FROM incidents WHERE dedup_key = $1 AND status = 'active'`, [key]);
    return rows[0] ? rowToIncident(rows[0]) : undefined;
  }

  // ---- the IncidentStore contract --------------------------------------------------------

  async create(input: NewIncident, by: string): Promise<CreateResult> {
    if (input.dedup_key !== undefined) {
      const dup = await this.activeWithKey(this.pool, input.dedup_key).catch((err: unknown) => {
        throw this.storeError(err, OUTCOME.notSaved);
      });
      if (dup) return { incident: dup, deduplicated: true };
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.tx(async (c) => {
          // Serialises creates across replicas, so each takes a creation time after the newest.
          await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_CREATE]);
          if (input.dedup_key !== undefined) {
            const dup = await this.activeWithKey(c, input.dedup_key);
            if (dup) return { incident: dup, deduplicated: true };
          }
          const { rows } = await c.query<{ newest: Date | null }>('SELECT max(created_at) AS newest FROM incidents');
          const newest = rows[0]?.newest?.getTime() ?? Number.NEGATIVE_INFINITY;
          const at = new Date(Math.max(this.now().getTime(), newest + 1));
          const incident = buildIncident(input, newIncidentId(), at, by);
          await c.query('INSERT INTO incidents SELECT * FROM jsonb_populate_record(NULL::incidents, $1::jsonb)', [asJson(incident)]);
          return { incident, deduplicated: false };
        });
      } catch (err) {
        // A reopen elsewhere took the dedup_key, or (once in 2^64) the id existed: try again.
        if (uniqueViolation(err) !== null && attempt < 3) continue;
        throw this.storeError(err);
      }
    }
  }

  async get(id: string): Promise<Incident | null> {
    const rows = await this.query('SELECT * FROM incidents WHERE id = $1', [id]);
    return rows[0] ? rowToIncident(rows[0]) : null;
  }

  async update(id: string, patch: IncidentUpdate, by: string): Promise<UpdateResult> {
    try {
      return await this.tx(async (c) => {
        const { rows } = await c.query('SELECT * FROM incidents WHERE id = $1 FOR UPDATE', [id]);
        if (!rows[0]) throw new NotFoundError(notFoundMessage(id));
        const cur = rowToIncident(rows[0]);
        let holder: string | undefined;
        if (patch.status === 'active' && cur.status !== 'active' && cur.dedup_key !== null) {
          holder = (await this.activeWithKey(c, cur.dedup_key))?.id;
        }
        const result = applyUpdate(cur, patch, by, this.now(), () => holder);
        if (result.changes.length === 0) return result;
        const set = UPDATABLE.map((col) => `${col} = r.${col}`).join(', ');
        await c.query(`UPDATE incidents AS i SET ${set} FROM jsonb_populate_record(NULL::incidents, $2::jsonb) AS r WHERE i.id = $1`, [
          id,
          asJson(result.incident),
        ]);
        return result;
      });
    } catch (err) {
      if (uniqueViolation(err) === 'idx_incidents_active_dedup') {
        throw new ConflictError(`cannot reopen ${id}: another incident became active with the same dedup_key meanwhile; update that one instead`);
      }
      throw this.storeError(err);
    }
  }

  async list(q: ListQuery): Promise<ListPage> {
    const params: unknown[] = [];
    const where = listFilter(q, params);
    let pageWhere = where;
    if (q.cursor !== undefined) {
      const c = decodeCursor(q.cursor);
      params.push(new Date(c.t), c.id);
      pageWhere = `${where} AND (created_at, id) < ($${params.length - 1}, $${params.length})`;
    }
    params.push(q.limit + 1, q.offset ?? 0);
    // One statement, so the page and its total come from the same snapshot.
    const rows = await this.query(
      `SELECT t.total, p.* FROM (SELECT count(*)::int AS total FROM incidents WHERE ${where}) t
       LEFT JOIN LATERAL (SELECT ${SUMMARY_COLS} FROM incidents WHERE ${pageWhere}
         ORDER BY created_at DESC, id DESC LIMIT $${params.length - 1} OFFSET $${params.length}) p ON true`,
      params,
    );
    const total = (rows[0]?.total as number | undefined) ?? 0;
    const found = rows.filter((r) => r.id !== null).map(rowToSummary);
    const incidents = found.slice(0, q.limit);
    const last = incidents[incidents.length - 1];
    const nextCursor = found.length > q.limit && last ? encodeCursor(Date.parse(last.created_at), last.id) : null;
    return { incidents, total, nextCursor };
  }

  async purgeClosed(cutoffMs: number): Promise<{ resolved: number; cancelled: number }> {
    const rows = await this.query<{ status: Status; n: number }>(
      `WITH gone AS (DELETE FROM incidents WHERE status <> 'active' AND updated_at < $1 RETURNING status)
       SELECT status, count(*)::int AS n FROM gone GROUP BY status`,
      [new Date(cutoffMs)],
    );
    const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    return { resolved: by.resolved ?? 0, cancelled: by.cancelled ?? 0 };
  }

  async *exportAll(): AsyncIterable<Incident[]> {
    // One repeatable-read transaction: the export is a consistent snapshot.
    const held = await checkout(this.pool).catch((err: unknown) => {
      throw this.storeError(err);
    });
    const c = held.client;
    let open = false;
    let broken: Error | undefined;
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      open = true;
      let after: { t: Date; id: string } | null = null;
      for (;;) {
        const res: pg.QueryResult<Row> = after
          ? await c.query('SELECT * FROM incidents WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT $3', [after.t, after.id, BATCH])
          : await c.query('SELECT * FROM incidents ORDER BY created_at, id LIMIT $1', [BATCH]);
        const rows = res.rows;
        if (rows.length === 0) break;
        yield rows.map(rowToIncident);
        const last: Row = rows[rows.length - 1]!;
        after = { t: last.created_at as Date, id: last.id as string };
      }
    } catch (err) {
      if (held.lost || isOutage(err)) {
        broken = held.lost ?? (err as Error);
        throw this.outage(broken, OUTCOME.read);
      }
      throw this.storeError(err);
    } finally {
      // also when the consumer stops early: never hand the pool a client inside a transaction
      if (open && !broken) broken = await c.query('COMMIT').then(() => undefined, (e: Error) => e);
      held.release(broken);
    }
  }

  async importMany(incidents: readonly Incident[]): Promise<ImportResult> {
    const result: ImportResult = { added: 0, skipped: 0 };
    try {
      // One transaction, so a failure part-way imports nothing.
      await this.tx(async (c) => {
        for (let i = 0; i < incidents.length; i += BATCH) {
          const batch = incidents.slice(i, i + BATCH);
          // ON CONFLICT DO NOTHING skips both a known id and an active dedup_key already held.
          const { rowCount } = await c.query(
            `INSERT INTO incidents SELECT * FROM jsonb_populate_recordset(NULL::incidents, $1::jsonb) ON CONFLICT DO NOTHING`,
            [JSON.stringify(batch)],
          );
          result.added += rowCount ?? 0;
          result.skipped += batch.length - (rowCount ?? 0);
        }
      });
    } catch (err) {
      if (err instanceof StoreError || err instanceof UpstreamUnavailableError) throw err;
      this.log.error({ err: messageOf(err) }, 'PostgreSQL import failed');
      throw new StoreError(`the import was rolled back, nothing was imported (${refusedData(err) ?? `PostgreSQL: ${firstLine(messageOf(err))}`})`);
    }
    return result;
  }

  async count(): Promise<number> {
    const rows = await this.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents');
    return rows[0]?.n ?? 0;
  }

  async stats(): Promise<StoreStats> {
    const rows = await this.query<{ status: Status; n: number }>('SELECT status, count(*)::int AS n FROM incidents GROUP BY status');
    const byStatus = Object.fromEntries(STATUSES.map((s) => [s, rows.find((r) => r.status === s)?.n ?? 0])) as Record<Status, number>;
    return { total: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus };
  }

  async health(): Promise<StoreHealth> {
    if (this.closed) return { ok: false, backend: 'postgres', error: 'the store is closed' };
    try {
      await this.pool.query('SELECT 1');
      return { ok: true, backend: 'postgres' };
    } catch (err) {
      return { ok: false, backend: 'postgres', error: `PostgreSQL is unreachable: ${messageOf(err)}` };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
