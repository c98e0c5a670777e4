// In-memory incidents with indexes by status, severity, namespace and target, each kept
// sorted by creation time, so a filtered, paged list touches only its candidates; and the
// active incidents by dedup_key.
import { InputError } from '../errors.js';
import { summarize, type Incident } from './model.js';
import type { ListPage, ListQuery } from './store.js';

interface Entry {
  inc: Incident;
  /** created_at in epoch ms */
  t: number;
}

/** Orders entries oldest first; id breaks ties so the order is total. */
function cmp(aT: number, aId: string, b: Entry): number {
  if (aT !== b.t) return aT - b.t;
  return aId < b.inc.id ? -1 : aId > b.inc.id ? 1 : 0;
}

/** First index whose entry is not less than (t, id). */
function lowerBound(arr: Entry[], t: number, id: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(t, id, arr[mid]!) > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted(arr: Entry[], e: Entry): void {
  const last = arr[arr.length - 1];
  if (last === undefined || cmp(e.t, e.inc.id, last) > 0) {
    arr.push(e); // the common case: the newest incident
    return;
  }
  arr.splice(lowerBound(arr, e.t, e.inc.id), 0, e);
}

function sortEntries(arr: Entry[]): void {
  for (let i = 1; i < arr.length; i++) {
    if (cmp(arr[i]!.t, arr[i]!.inc.id, arr[i - 1]!) < 0) {
      arr.sort((a, b) => cmp(a.t, a.inc.id, b));
      return;
    }
  }
}

function removeSorted(arr: Entry[], e: Entry): void {
  const i = lowerBound(arr, e.t, e.inc.id);
  if (arr[i]?.inc.id === e.inc.id) arr.splice(i, 1);
}

type IndexedField = 'status' | 'severity' | 'namespace' | 'target';
const INDEXED: readonly IndexedField[] = ['status', 'severity', 'namespace', 'target'];

export function encodeCursor(t: number, id: string): string {
  return Buffer.from(`${t}:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { t: number; id: string } {
  const raw = Buffer.from(cursor, 'base64url').toString();
  const m = /^(\d+):(inc-[0-9a-f]+)$/.exec(raw);
  if (!m) throw new InputError('cursor', 'is not a cursor from a previous list_incidents page');
  return { t: Number(m[1]), id: m[2]! };
}

export class MemoryIndex {
  private readonly byId = new Map<string, Entry>();
  private readonly all: Entry[] = [];
  private readonly buckets: Record<IndexedField, Map<string, Entry[]>> = {
    status: new Map(),
    severity: new Map(),
    namespace: new Map(),
    target: new Map(),
  };
  /** dedup_key -> the active incident holding it */
  private readonly activeByKey = new Map<string, Entry>();

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Incident | undefined {
    return this.byId.get(id)?.inc;
  }

  /** created_at (epoch ms) of the newest incident, or -Infinity when empty */
  newestCreatedMs(): number {
    return this.all[this.all.length - 1]?.t ?? Number.NEGATIVE_INFINITY;
  }

  /** how many incidents have each value of an indexed field */
  countBy(field: 'status' | 'severity' | 'namespace' | 'target'): Map<string, number> {
    return new Map([...this.buckets[field]].map(([k, arr]) => [k, arr.length]));
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  values(): IterableIterator<Incident> {
    return (function* (all: Entry[]) {
      for (const e of all) yield e.inc;
    })(this.all);
  }

  /** id of the active incident holding a dedup key */
  activeWithDedupKey(key: string): string | undefined {
    return this.activeByKey.get(key)?.inc.id;
  }

  /** Inserts or replaces an incident. */
  put(inc: Incident): void {
    const old = this.byId.get(inc.id);
    const t = Date.parse(inc.created_at);
    if (old === undefined || old.t !== t) {
      if (old) this.delete(inc.id);
      const e: Entry = { inc, t };
      this.byId.set(inc.id, e);
      insertSorted(this.all, e);
      for (const f of INDEXED) this.addTo(f, e);
      this.keyAdd(e);
      return;
    }
    // An update: the entry keeps its place; only indexes whose key changed move.
    const prev = old.inc;
    this.keyRemove(old);
    for (const f of INDEXED) if (prev[f] !== inc[f]) this.removeFrom(f, old, prev[f]);
    old.inc = inc;
    for (const f of INDEXED) if (prev[f] !== inc[f]) this.addTo(f, old);
    this.keyAdd(old);
  }

  /** Replaces the contents with `incidents`, building each index once (fast start-up). */
  load(incidents: Iterable<Incident>): void {
    this.clear();
    for (const inc of incidents) {
      const e: Entry = { inc, t: Date.parse(inc.created_at) };
      this.byId.set(inc.id, e);
      this.all.push(e);
    }
    sortEntries(this.all);
    for (const e of this.all) {
      for (const f of INDEXED) this.addTo(f, e); // in order, so each insert is a push
      this.keyAdd(e);
    }
  }

  delete(id: string): boolean {
    const e = this.byId.get(id);
    if (!e) return false;
    this.byId.delete(id);
    removeSorted(this.all, e);
    for (const f of INDEXED) this.removeFrom(f, e, e.inc[f]);
    this.keyRemove(e);
    return true;
  }

  /** Resolved and cancelled incidents closed (resolved_at, else updated_at) before cutoffMs. */
  closedBefore(cutoffMs: number): Incident[] {
    const out: Incident[] = [];
    for (const status of ['resolved', 'cancelled']) {
      for (const e of this.buckets.status.get(status) ?? []) {
        if (Date.parse(e.inc.resolved_at ?? e.inc.updated_at) < cutoffMs) out.push(e.inc);
      }
    }
    return out;
  }

  private addTo(f: IndexedField, e: Entry): void {
    const key = e.inc[f];
    if (key === null) return;
    let arr = this.buckets[f].get(key);
    if (!arr) this.buckets[f].set(key, (arr = []));
    insertSorted(arr, e);
  }

  private removeFrom(f: IndexedField, e: Entry, key: string | null): void {
    if (key === null) return;
    const arr = this.buckets[f].get(key);
    if (!arr) return;
    removeSorted(arr, e);
    if (arr.length === 0) this.buckets[f].delete(key);
  }

  private keyAdd(e: Entry): void {
    if (e.inc.status === 'active' && e.inc.dedup_key) this.activeByKey.set(e.inc.dedup_key, e);
  }

  private keyRemove(e: Entry): void {
    const key = e.inc.dedup_key;
    if (key && this.activeByKey.get(key) === e) this.activeByKey.delete(key);
  }

  clear(): void {
    this.byId.clear();
    this.all.length = 0;
    for (const f of INDEXED) this.buckets[f].clear();
    this.activeByKey.clear();
  }

  /** Newest first, filtered, paged by offset or cursor; total counts every match. */
  list(q: ListQuery): ListPage {
    // Start from the smallest index that applies; the other filters are checked per entry.
    const given = INDEXED.filter((f) => q[f] !== undefined);
    let candidates = this.all;
    let chosen: IndexedField | undefined;
    for (const f of given) {
      const arr = this.buckets[f].get(q[f]!) ?? [];
      if (chosen === undefined || arr.length < candidates.length) {
        candidates = arr;
        chosen = f;
      }
    }
    const checks: ((inc: Incident) => boolean)[] = given
      .filter((f) => f !== chosen)
      .map((f) => {
        const want = q[f];
        return (inc) => inc[f] === want;
      });
    const labels = q.labels ? Object.entries(q.labels) : [];
    if (labels.length > 0) checks.push((inc) => labels.every(([k, v]) => inc.labels[k] === v));

    // Time window by binary search: [since, until) on created_at.
    const hi = q.until === undefined ? candidates.length : lowerBound(candidates, q.until, '');
    const lo = q.since === undefined ? 0 : lowerBound(candidates, q.since, '');
    let start = hi; // iterate downward from start-1 (newest first)
    if (q.cursor !== undefined) {
      const c = decodeCursor(q.cursor);
      start = Math.min(hi, lowerBound(candidates, c.t, c.id));
    }

    const matches = (e: Entry) => checks.every((check) => check(e.inc));
    let total: number;
    if (checks.length === 0) total = Math.max(0, hi - lo);
    else {
      total = 0;
      for (let i = lo; i < hi; i++) if (matches(candidates[i]!)) total++;
    }

    const out: Incident[] = [];
    let skip = q.offset ?? 0;
    let i = start - 1;
    for (; i >= lo && out.length < q.limit; i--) {
      const e = candidates[i]!;
      if (!matches(e)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(e.inc);
    }
    // A next page exists if another match lies below where we stopped.
    let nextCursor: string | null = null;
    if (out.length === q.limit) {
      for (let j = i; j >= lo; j--) {
        if (matches(candidates[j]!)) {
          const last = out[out.length - 1]!;
          nextCursor = encodeCursor(Date.parse(last.created_at), last.id);
          break;
        }
      }
    }
    return { incidents: out.map(summarize), total, nextCursor };
  }
}
