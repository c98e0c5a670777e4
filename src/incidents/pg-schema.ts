// The PostgreSQL schema as numbered migrations. Start-up applies the missing ones in one
// transaction under an advisory lock, so replicas starting together migrate exactly once.
import type { PoolClient } from 'pg';
import { StoreError } from '../errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

// Indexes: the ADR-014 Phase 4 set (status, severity, target, created_at), each extended by
// (created_at DESC, id DESC) so a filtered list reads its newest page straight from the
// index; plus status+severity (the commonest pair: its total is an index-only count),
// namespace, labels (GIN for @>), the active dedup_key uniqueness that makes dedup safe
// across replicas, and the last update of closed incidents for retention.
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'incidents',
    sql: `
CREATE TABLE incidents (
  id varchar(50) PRIMARY KEY,
  title varchar(200) NOT NULL,
  description text NOT NULL,
  severity varchar(20) NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  target varchar(100) NOT NULL,
  status varchar(20) NOT NULL CHECK (status IN ('active', 'resolved', 'cancelled')),
  namespace varchar(63),
  affected_resources jsonb NOT NULL DEFAULT '[]',
  labels jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  resolved_at timestamptz,
  workflow_id varchar(50),
  dedup_key varchar(200),
  evidence jsonb NOT NULL DEFAULT '[]',
  timeline jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX idx_incidents_status ON incidents (status, created_at DESC, id DESC);
CREATE INDEX idx_incidents_status_severity ON incidents (status, severity, created_at DESC, id DESC);
CREATE INDEX idx_incidents_severity ON incidents (severity, created_at DESC, id DESC);
CREATE INDEX idx_incidents_target ON incidents (target, created_at DESC, id DESC);
CREATE INDEX idx_incidents_created_at ON incidents (created_at DESC, id DESC);
CREATE INDEX idx_incidents_namespace ON incidents (namespace, created_at DESC, id DESC);
CREATE INDEX idx_incidents_labels ON incidents USING gin (labels jsonb_path_ops);
CREATE UNIQUE INDEX idx_incidents_active_dedup ON incidents (dedup_key) WHERE status = 'active' AND dedup_key IS NOT NULL;
CREATE INDEX idx_incidents_closed ON incidents ((coalesce(resolved_at, updated_at))) WHERE status <> 'active';
`,
  },
  {
    // a closed incident ages from its last change, so a late post-mortem note keeps it
    version: 2,
    name: 'retention by last update',
    sql: `
DROP INDEX IF EXISTS idx_incidents_closed;
CREATE INDEX idx_incidents_closed_updated ON incidents (updated_at) WHERE status <> 'active';
`,
  },
];

/** Advisory lock keys (any fixed numbers; they only need to differ from other apps' keys). */
export const LOCK_MIGRATE = 0x70696d01;
export const LOCK_CREATE = 0x70696d02;

/** Applies missing migrations; returns the schema version now in place. */
export async function migrate(c: PoolClient): Promise<{ version: number; applied: number[] }> {
  await c.query('BEGIN');
  try {
    await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_MIGRATE]);
    await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    const current = rows[0]?.v ?? 0;
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (current > latest) {
      throw new StoreError(`the database schema is version ${current}, newer than this server knows (${latest}); upgrade the server`);
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await c.query('COMMIT');
    return { version: Math.max(current, latest), applied };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
