import { describe, expect, it } from 'vitest';
import { decodeCursor, entryFromBytes, entryOf, indexKeyOf, MemoryIndex } from '../../src/incidents/memory-index.js';
import type { Incident, Severity, Status } from '../../src/incidents/model.js';

const BASE = Date.parse('2026-01-01T00:00:00Z');

function inc(i: number, over: Partial<Incident> = {}): Incident {
  const t = new Date(BASE + i * 60_000).toISOString();
  return {
    id: `inc-${i.toString(16).padStart(8, '0')}`,
    title: `incident ${i}`,
    description: 'd',
    severity: (['low', 'medium', 'high', 'critical'] as Severity[])[i % 4]!,
    status: (['active', 'resolved', 'cancelled'] as Status[])[i % 3]!,
    target: i % 2 ? 'production' : 'staging',
    namespace: i % 2 ? 'production' : 'staging',
    affected_resources: [],
    labels: { team: i % 5 === 0 ? 'platform' : 'apps' },
    created_at: t,
    updated_at: t,
    resolved_at: null,
    workflow_id: null,
    dedup_key: null,
    evidence: [],
    timeline: [],
    ...over,
  };
}

function filled(n: number): { idx: MemoryIndex; all: Incident[] } {
  const idx = new MemoryIndex();
  const all = Array.from({ length: n }, (_, i) => inc(i));
  // insert out of order to exercise sorted insertion
  for (const x of [...all].reverse()) idx.put(x);
  return { idx, all };
}

/** The obvious implementation the index must agree with. */
function naive(all: Incident[], pred: (x: Incident) => boolean): Incident[] {
  return all.filter(pred).sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : -1));
}

describe('MemoryIndex', () => {
  it('lists newest first with a total for every filter combination', () => {
    const { idx, all } = filled(300);
    const since = BASE + 50 * 60_000;
    const until = BASE + 250 * 60_000;
    const cases: [Parameters<MemoryIndex['list']>[0], (x: Incident) => boolean][] = [
      [{ limit: 10 }, () => true],
      [{ limit: 10, status: 'active' }, (x) => x.status === 'active'],
      [{ limit: 10, status: 'resolved', severity: 'high' }, (x) => x.status === 'resolved' && x.severity === 'high'],
      [{ limit: 500, namespace: 'production', severity: 'critical' }, (x) => x.namespace === 'production' && x.severity === 'critical'],
      [{ limit: 7, target: 'staging', since, until }, (x) => x.target === 'staging' && Date.parse(x.created_at) >= since && Date.parse(x.created_at) < until],
      [{ limit: 5, labels: { team: 'platform' }, status: 'cancelled' }, (x) => x.labels.team === 'platform' && x.status === 'cancelled'],
      [{ limit: 5, namespace: 'nowhere' }, () => false],
    ];
    for (const [q, pred] of cases) {
      const want = naive(all, pred);
      const page = idx.list(q);
      expect(page.total).toBe(want.length);
      expect(page.incidents.map((x) => x.id)).toEqual(want.slice(0, q.limit).map((x) => x.id));
    }
  });

  it('pages by cursor and by offset without gaps or repeats', () => {
    const { idx, all } = filled(103);
    const want = naive(all, (x) => x.status === 'active' && x.namespace === 'production');
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = idx.list({ limit: 4, namespace: 'production', status: 'active', cursor });
      expect(page.total).toBe(want.length);
      seen.push(...page.incidents.map((x) => x.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(want.map((x) => x.id));
    const byOffset = idx.list({ limit: 10, offset: 20, namespace: 'production' });
    expect(byOffset.incidents.map((x) => x.id)).toEqual(naive(all, (x) => x.namespace === 'production').slice(20, 30).map((x) => x.id));
  });

  it('gives no next cursor on the last page, even when it is exactly full', () => {
    const { idx } = filled(20);
    const page = idx.list({ limit: 20 });
    expect(page.incidents).toHaveLength(20);
    expect(page.nextCursor).toBeNull();
    expect(idx.list({ limit: 19 }).nextCursor).not.toBeNull();
  });

  it('moves an incident between indexes when it changes and forgets deleted ones', () => {
    const { idx } = filled(10);
    const x = idx.get('inc-00000003')!;
    idx.put({ ...x, status: 'resolved', severity: 'low' });
    expect(idx.list({ limit: 50, status: 'resolved' }).incidents.map((i) => i.id)).toContain('inc-00000003');
    expect(idx.list({ limit: 50, status: 'active' }).incidents.map((i) => i.id)).not.toContain('inc-00000003');
    expect(idx.size).toBe(10);
    expect(idx.delete('inc-00000003')).toBe(true);
    expect(idx.get('inc-00000003')).toBeUndefined();
    expect(idx.list({ limit: 50, severity: 'low' }).incidents.map((i) => i.id)).not.toContain('inc-00000003');
    expect(idx.size).toBe(9);
  });

  it('rejects a cursor it did not make', () => {
    expect(() => decodeCursor('not-a-cursor')).toThrow(/cursor/);
  });
});

describe('MemoryIndex bulk load and dedup keys', () => {
  it('load() builds the same indexes as one put() at a time', () => {
    const all = Array.from({ length: 200 }, (_, i) => inc(i));
    const shuffled = [...all].sort((a, b) => (a.title.length * 7 + a.id.charCodeAt(11)) % 13 - (b.title.length * 7 + b.id.charCodeAt(11)) % 13);
    const bulk = new MemoryIndex();
    // half as parsed incidents, half as JSON bytes (as a loaded snapshot holds them)
    const asBytes = (x: Incident) => {
      const buf = Buffer.from(`xx${JSON.stringify(x)}yy`);
      return entryFromBytes(indexKeyOf(x), buf, 2, buf.length - 2);
    };
    bulk.load(new Map(shuffled.map((x, i) => [x.id, i % 2 ? entryOf(x) : asBytes(x)])));
    const { idx } = filled(200);
    for (const q of [{ limit: 500 }, { limit: 500, status: 'resolved' as const, severity: 'low' as const }, { limit: 7, target: 'staging', offset: 3 }]) {
      expect(bulk.list(q)).toEqual(idx.list(q));
    }
    expect(bulk.size).toBe(200);
  });

  it('tracks which active incident holds a dedup key as incidents change', () => {
    const idx = new MemoryIndex();
    const a = inc(1, { status: 'active', dedup_key: 'k' });
    idx.put(a);
    expect(idx.activeWithDedupKey('k')).toBe(a.id);
    idx.put({ ...a, status: 'resolved' });
    expect(idx.activeWithDedupKey('k')).toBeUndefined();
    const b = inc(2, { status: 'active', dedup_key: 'k' });
    idx.put(b);
    expect(idx.activeWithDedupKey('k')).toBe(b.id);
    idx.delete(b.id);
    expect(idx.activeWithDedupKey('k')).toBeUndefined();
    idx.load(new Map([a, b].map((x) => [x.id, entryOf(x)])));
    expect(idx.activeWithDedupKey('k')).toBe(b.id);
  });

  it('an update keeps the entry in place and moves it between status indexes', () => {
    const { idx } = filled(50);
    const x = idx.get('inc-00000004')!; // status resolved (4 % 3 = 1)
    idx.put({ ...x, status: 'active', title: 'changed' });
    const active = idx.list({ limit: 500, status: 'active' }).incidents.map((i) => i.id);
    expect(active).toContain(x.id);
    expect(idx.list({ limit: 500, status: 'resolved' }).incidents.map((i) => i.id)).not.toContain(x.id);
    expect(idx.list({ limit: 500 }).incidents.map((i) => i.id)).toHaveLength(50);
    expect(idx.get(x.id)!.title).toBe('changed');
  });
});
