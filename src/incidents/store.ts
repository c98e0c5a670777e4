// The incident store's contract. Small on purpose, so a PostgreSQL store can stand beside
// the file store and one contract test suite runs against both.
import type { Incident, NewIncident, Severity, Status } from './model.js';

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
  incidents: Incident[];
  /** incidents matching the filter, whatever the page */
  total: number;
  /** pass as cursor to get the next page; null on the last page */
  nextCursor: string | null;
}

export interface IncidentStore {
  /** Validated input in, stored incident out; durable before it resolves. */
  create(input: NewIncident): Promise<Incident>;
  get(id: string): Promise<Incident | null>;
  list(query: ListQuery): Promise<ListPage>;
  count(): Promise<number>;
  /** incident counts by status, for the server's /metrics */
  stats(): Promise<StoreStats>;
  /** whether the store can take writes now, for /readyz */
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}
