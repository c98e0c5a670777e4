// In-memory incidents with indexes by status, severity, namespace and target, each kept
// sorted by creation time, so a filtered, paged list touches only its candidates; and the
// active incidents by dedup_key.
//
// An entry holds the fields the indexes need, plus either the parsed incident or where its
// JSON lies in the snapshot file's bytes (kept in memory as one buffer). Start-up parses only
// each line's small index key; an incident is parsed when it is read. So loading 100,000
// incidents stays fast and allocates little. Entries are immutable: an update replaces the
// entry, so a copy of the entry list is a consistent snapshot compaction can write unlocked.
import { InputError } from '../errors.js';
import { summarize, upgradeStored, type Incident, type Severity, type Status } from './model.js';
import type { ListPage, ListQuery } from './store.js';

/** What the indexes need of an incident; v2 snapshots store it beside the incident's JSON. */
export type IndexKey = [
  id: string,
  createdMs: number,
  status: Status,
  severity: Severity,
  namespace: string | null,
  target: string,
  dedupKey: string | null,
  labels: Record<string, string>,
  /** updated_at in epoch ms (older journal lines: resolved_at, else updated_at): what retention measures */
  closedMs: number,
];

export interface IndexEntry {
  readonly id: string;
  /** created_at in epoch ms */
  readonly t: number;
  readonly status: Status;
  readonly severity: Severity;
  readonly namespace: string | null;
  readonly target: string;
  readonly dedupKey: string | null;
  readonly labels: Record<string, string>;
  readonly closedT: number;
  /** the incident, when it was written in this process or read from the journal */
  readonly inc: Incident | null;
  /** otherwise its JSON is src[start, end) (parsed on read) */
  readonly src: Buffer | null;
  readonly start: number;
  readonly end: number;
}

export function indexKeyOf(inc: Incident): IndexKey {
  return [
    inc.id,
    Date.parse(inc.created_at),
    inc.status,
    inc.severity,
    inc.namespace,
    inc.target,
    inc.dedup_key,
    inc.labels,
    // a closed incident ages from its last change: a post-mortem note keeps it
    Date.parse(inc.updated_at),
  ];
}

function entry(k: IndexKey, inc: Incident | null, src: Buffer | null, start: number, end: number): IndexEntry {
  return {
    id: k[0],
    t: k[1],
    status: k[2],
    severity: k[3],
    namespace: k[4],
    target: k[5],
    dedupKey: k[6],
    labels: k[7],
    closedT: k[8],
    inc,
    src,
    start,
    end,
  };
}

export const entryOf = (inc: Incident): IndexEntry => entry(indexKeyOf(inc), inc, null, 0, 0);
/** An entry whose incident's JSON is src[start, end). */
export const entryFromBytes = (key: IndexKey, src: Buffer, start: number, end: number): IndexEntry => entry(key, null, src, start, end);

export function incidentOf(e: IndexEntry): Incident {
  return e.inc ?? upgradeStored(JSON.parse(e.src!.toString('utf8', e.start, e.end)) as Incident);
}

/** The entry's index key as JSON, and its incident's JSON as bytes: a v2 snapshot line's parts. */
export function entryParts(e: IndexEntry): [key: string, json: Buffer] {
  const key: IndexKey = [e.id, e.t, e.status, e.severity, e.namespace, e.target, e.dedupKey, e.labels, e.closedT];
  return [JSON.stringify(key), e.src ? e.src.subarray(e.start, e.end) : Buffer.from(JSON.stringify(e.inc))];
}

/** Orders entries oldest first; id breaks ties so the order is total. */
function cmp(aT: number, aId: string, b: IndexEntry): number {
  if (aT !== b.t) return aT - b.t;
  return aId < b.id ? -1 : aId > b.id ? 1 : 0;
}

/** First index whose entry is not less than (t, id). */
function lowerBound(arr: IndexEntry[], t: number, id: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(t, id, arr[mid]!) > 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted(arr: IndexEntry[], e: IndexEntry): void {
  const last = arr[arr.length - 1];
  if (last === undefined || cmp(e.t, e.id, last) > 0) {
    arr.push(e); // the common case: the newest incident
    return;
  }
  arr.splice(lowerBound(arr, e.t, e.id), 0, e);
}

function removeSorted(arr: IndexEntry[], e: IndexEntry): void {
  const i = lowerBound(arr, e.t, e.id);
  if (arr[i]?.id === e.id) arr.splice(i, 1);
}

/** Puts `e` where the entry with its (t, id) is. */
function replaceSorted(arr: IndexEntry[], e: IndexEntry): void {
  const i = lowerBound(arr, e.t, e.id);
  if (arr[i]?.id === e.id) arr[i] = e;
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
  private byId = new Map<string, IndexEntry>();
  private readonly all: IndexEntry[] = [];
  private readonly buckets: Record<IndexedField, Map<string, IndexEntry[]>> = {
    status: new Map(),
    severity: new Map(),
    namespace: new Map(),
    target: new Map(),
  };
  /** dedup_key -> the active incident holding it */
  private readonly activeByKey = new Map<string, IndexEntry>();

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Incident | undefined {
    const e = this.byId.get(id);
    return e && incidentOf(e);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** created_at (epoch ms) of the newest incident, or -Infinity when empty */
  newestCreatedMs(): number {
    return this.all[this.all.length - 1]?.t ?? Number.NEGATIVE_INFINITY;
  }

  /** how many incidents have each value of an indexed field */
  countBy(field: IndexedField): Map<string, number> {
    return new Map([...this.buckets[field]].map(([k, arr]) => [k, arr.length]));
  }

  /** Every incident, oldest first (parsing each one kept as text). */
  *values(): IterableIterator<Incident> {
    for (const e of this.all.slice()) yield incidentOf(e);
  }

  /** The entries, oldest first: a consistent copy, since entries never change. */
  entries(): readonly IndexEntry[] {
    return this.all.slice();
  }

  /** id of the active incident holding a dedup key */
  activeWithDedupKey(key: string): string | undefined {
    return this.activeByKey.get(key)?.id;
  }

  /** Inserts or replaces an incident. */
  put(inc: Incident): void {
    this.putEntry(entryOf(inc));
  }

  /** Inserts or replaces the incident an entry stands for. */
  putEntry(e: IndexEntry): void {
    const old = this.byId.get(e.id);
    if (old === undefined || old.t !== e.t) {
      if (old) this.delete(e.id);
      this.byId.set(e.id, e);
      insertSorted(this.all, e);
      for (const f of INDEXED) this.addTo(f, e);
      this.keyAdd(e);
      return;
    }
    // An update: the new entry takes the old one's place; indexes whose key changed move it.
    this.keyRemove(old);
    this.byId.set(e.id, e);
    replaceSorted(this.all, e);
    for (const f of INDEXED) {
      if (old[f] === e[f]) {
        if (e[f] !== null) replaceSorted(this.buckets[f].get(e[f])!, e);
      } else {
        this.removeFrom(f, old);
        this.addTo(f, e);
      }
    }
    this.keyAdd(e);
  }

  /** Replaces the contents with `entries` (the index takes the map over), building each index once. */
  load(entries: Map<string, IndexEntry>): void {
    this.clear();
    this.byId = entries;
    for (const e of entries.values()) this.all.push(e);
    for (let i = 1; i < this.all.length; i++) {
      if (cmp(this.all[i]!.t, this.all[i]!.id, this.all[i - 1]!) < 0) {
        this.all.sort((a, b) => cmp(a.t, a.id, b));
        break;
      }
    }
    // In creation order, so every index is built by appending.
    for (const e of this.all) {
      for (const f of INDEXED) {
        const key = e[f];
        if (key === null) continue;
        const arr = this.buckets[f].get(key);
        if (arr) arr.push(e);
        else this.buckets[f].set(key, [e]);
      }
      this.keyAdd(e);
    }
  }

  delete(id: string): boolean {
    const e = this.byId.get(id);
    if (!e) return false;
    this.byId.delete(id);
    removeSorted(this.all, e);
    for (const f of INDEXED) this.removeFrom(f, e);
    this.keyRemove(e);
    return true;
  }

  clear(): void {
    this.byId.clear();
    this.all.length = 0;
    for (const f of INDEXED) this.buckets[f].clear();
    this.activeByKey.clear();
  }

  /** Resolved and cancelled incidents last changed before cutoffMs. */
  closedBefore(cutoffMs: number): { id: string; status: Status }[] {
    const out: { id: string; status: Status }[] = [];
    for (const status of ['resolved', 'cancelled']) {
      for (const e of this.buckets.status.get(status) ?? []) if (e.closedT < cutoffMs) out.push({ id: e.id, status: e.status });
    }
    return out;
  }

  private addTo(f: IndexedField, e: IndexEntry): void {
    const key = e[f];
    if (key === null) return;
    let arr = this.buckets[f].get(key);
    if (!arr) this.buckets[f].set(key, (arr = []));
    insertSorted(arr, e);
  }

  private removeFrom(f: IndexedField, e: IndexEntry): void {
    const key = e[f];
    if (key === null) return;
    const arr = this.buckets[f].get(key);
    if (!arr) return;
    removeSorted(arr, e);
    if (arr.length === 0) this.buckets[f].delete(key);
  }

  private keyAdd(e: IndexEntry): void {
    if (e.status === 'active' && e.dedupKey) this.activeByKey.set(e.dedupKey, e);
  }

  private keyRemove(e: IndexEntry): void {
    if (e.dedupKey && this.activeByKey.get(e.dedupKey)?.id === e.id) this.activeByKey.delete(e.dedupKey);
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
    const checks: ((e: IndexEntry) => boolean)[] = given
      .filter((f) => f !== chosen)
      .map((f) => {
        const want = q[f];
        return (e) => e[f] === want;
      });
    const labels = q.labels ? Object.entries(q.labels) : [];
    if (labels.length > 0) checks.push((e) => labels.every(([k, v]) => e.labels[k] === v));

    // Time window by binary search: [since, until) on created_at.
    const hi = q.until === undefined ? candidates.length : lowerBound(candidates, q.until, '');
    const lo = q.since === undefined ? 0 : lowerBound(candidates, q.since, '');
    let start = hi; // iterate downward from start-1 (newest first)
    if (q.cursor !== undefined) {
      const c = decodeCursor(q.cursor);
      start = Math.min(hi, lowerBound(candidates, c.t, c.id));
    }

    const matches = (e: IndexEntry) => checks.every((check) => check(e));
    let total: number;
    if (checks.length === 0) total = Math.max(0, hi - lo);
    else {
      total = 0;
      for (let i = lo; i < hi; i++) if (matches(candidates[i]!)) total++;
    }

    const out: IndexEntry[] = [];
    let skip = q.offset ?? 0;
    let i = start - 1;
    for (; i >= lo && out.length < q.limit; i--) {
      const e = candidates[i]!;
      if (!matches(e)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(e);
    }
    // A next page exists if another match lies below where we stopped.
    let nextCursor: string | null = null;
    if (out.length === q.limit) {
      for (let j = i; j >= lo; j--) {
        if (matches(candidates[j]!)) {
          const last = out[out.length - 1]!;
          nextCursor = encodeCursor(last.t, last.id);
          break;
        }
      }
    }
    return { incidents: out.map((e) => summarize(incidentOf(e))), total, nextCursor };
  }
}
