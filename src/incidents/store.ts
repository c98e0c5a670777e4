// The incident store's contract. Small on purpose, so a PostgreSQL store can stand beside
// the file store and one contract test suite runs against both.
import type { IncidentUpdate, UpdateResult } from './lifecycle.js';
import type { Incident, IncidentSummary, NewIncident, Severity, Status } from './model.js';

export interface StoreHealth {
  ok: boolean;
  /** e.g. "file" or "postgres" */
  backend: string;
  error?: string;
}

export interface StoreStats {
  total: number;
  byStatus: Record<Status, number>;
}

export interface ListQuery {
  /** undefined means every status */
  status?: Status;
  /** undefined means every severity */
  severity?: Severity;
  namespace?: string;
  target?: string;
  /** created_at >= since (epoch ms) */
  since?: number;
  /** created_at < until (epoch ms) */
  until?: number;
  /** every key must be present with exactly this value */
  labels?: Record<string, string>;
  limit: number;
  offset?: number;
  /** opaque cursor from a previous page's nextCursor */
  cursor?: string;
}

export interface ListPage {
  /** without timeline and evidence bodies */
  incidents: IncidentSummary[];
  /** incidents matching the filter, whatever the page */
  total: number;
  /** pass as cursor to get the next page; null on the last page */
  nextCursor: string | null;
}

export interface CreateResult {
  incident: Incident;
  /** true when an active incident with the same dedup_key was returned instead of a new one */
  deduplicated: boolean;
}

export interface ImportResult {
  added: number;
  /** already present (same id), or an active incident already holds its dedup_key */
  skipped: number;
}

export interface IncidentStore {
  /**
   * Validated input in, stored incident out; durable before it resolves. With a dedup_key
   * held by an active incident, returns that one instead (atomically, across processes).
   * `by` names who created it (the MCP client).
   */
  create(input: NewIncident, by: string): Promise<CreateResult>;
  get(id: string): Promise<Incident | null>;
  /**
   * Applies an update atomically (see lifecycle.ts for the rules); NotFoundError when the
   * incident does not exist, ConflictError for a transition that is not allowed.
   */
  update(id: string, patch: IncidentUpdate, by: string): Promise<UpdateResult>;
  list(query: ListQuery): Promise<ListPage>;
  /**
   * Removes resolved and cancelled incidents last updated before `cutoffMs` (a late note keeps
   * one); active ones never. Returns how many went, by status.
   */
  purgeClosed(cutoffMs: number): Promise<{ resolved: number; cancelled: number }>;
  /** Every incident, oldest first, in batches (for export). */
  exportAll(): AsyncIterable<Incident[]>;
  /** Adds incidents whose id is not stored yet, keeping their ids and timestamps. */
  importMany(incidents: readonly Incident[]): Promise<ImportResult>;
  count(): Promise<number>;
  /** incident counts by status, for the server's /metrics */
  stats(): Promise<StoreStats>;
  /** whether the store can take writes now, for /readyz */
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}
