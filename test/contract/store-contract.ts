// The IncidentStore contract: one suite, run unchanged against every backend
// (file-store.test.ts, pg-store.test.ts beside this file).
import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError, InputError, NotFoundError } from '../../src/errors.js';
import type { z } from 'zod';
import { parseImport } from '../../src/incidents/backup.js';
import { IncidentUpdate } from '../../src/incidents/lifecycle.js';
import { NewIncident, type Incident } from '../../src/incidents/model.js';
import type { IncidentStore } from '../../src/incidents/store.js';

export interface StoreUnderTest {
  store: IncidentStore;
  /** a second store on the same data, as another process or replica would open it */
  openAnother(): Promise<IncidentStore>;
  cleanup(): Promise<void>;
}

export type StoreFactory = (opts: { now?: () => Date }) => Promise<StoreUnderTest>;

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

export const input = (n: number, over: Partial<NewIncident> = {}): NewIncident => ({
  title: `incident ${n}`,
  description: `description ${n}`,
  severity: 'high',
  target: 'production',
  ...over,
});

export function storeContract(backend: string, factory: StoreFactory): void {
  describe(`IncidentStore contract: ${backend}`, () => {
    const open: StoreUnderTest[] = [];
    const extra: IncidentStore[] = [];
    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      for (const s of open.splice(0)) await s.cleanup();
    });
    const make = async (opts: { now?: () => Date } = {}) => {
      const s = await factory(opts);
      open.push(s);
      return s;
    };
    const another = async (s: StoreUnderTest) => {
      const o = await s.openAnother();
      extra.push(o);
      return o;
    };

    it('creates incidents with every field, a first timeline entry, and reads them back', async () => {
      const { store } = await make();
      const evidence = [
        { kind: 'promql' as const, summary: 'CPU at 93% for 30m', query: 'sum(rate(container_cpu_usage_seconds_total[5m]))', data: { value: 0.93 } },
        { kind: 'features' as const, summary: '45-feature vector', data: { cpu_rolling_mean: 0.9, restarts: 3 } },
      ];
      const { incident, deduplicated } = await store.create(
        input(1, { labels: { team: 'platform' }, affected_resources: ['deployment/api'], workflow_id: 'wf-1', evidence }),
        'claude-code',
      );
      expect(deduplicated).toBe(false);
      expect(incident).toMatchObject({
        status: 'active',
        namespace: 'production',
        resolved_at: null,
        dedup_key: null,
        workflow_id: 'wf-1',
        evidence,
        timeline: [{ at: incident.created_at, by: 'claude-code', event: 'created' }],
      });
      expect(incident.id).toMatch(/^inc-[0-9a-f]{16}$/);
      expect(await store.get(incident.id)).toEqual(incident);
      expect(await store.get('inc-0000000000000000')).toBeNull();
      expect(await store.count()).toBe(1);
      expect(await store.stats()).toEqual({ total: 1, byStatus: { active: 1, resolved: 0, cancelled: 0 } });
      expect(await store.health()).toMatchObject({ ok: true, backend });
    });

    it('gives strictly increasing creation times even when the clock stands still', async () => {
      const { store } = await make({ now: () => new Date(T0) });
      const made: Incident[] = [];
      for (let i = 0; i < 5; i++) made.push((await store.create(input(i), 't')).incident);
      const times = made.map((m) => Date.parse(m.created_at));
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1]!);
      const page = await store.list({ limit: 10 });
      expect(page.incidents.map((i) => i.id)).toEqual(made.map((m) => m.id).reverse());
    });

    it('returns the active incident for a repeated dedup_key, also from another process', async () => {
      const s = await make();
      const first = await s.store.create(input(1, { dedup_key: 'HighCPU/production' }), 'agent-a');
      const again = await s.store.create(input(2, { dedup_key: 'HighCPU/production', severity: 'low' }), 'agent-b');
      expect(again).toEqual({ incident: first.incident, deduplicated: true });
      const other = await another(s);
      const fromOther = await other.create(input(3, { dedup_key: 'HighCPU/production' }), 'agent-c');
      expect(fromOther.deduplicated).toBe(true);
      expect(fromOther.incident.id).toBe(first.incident.id);
      expect(await s.store.count()).toBe(1);
      // once resolved, the key is free again; reopening the old one then conflicts
      await s.store.update(first.incident.id, { status: 'resolved' }, 'agent-a');
      const next = await other.create(input(4, { dedup_key: 'HighCPU/production' }), 'agent-c');
      expect(next.deduplicated).toBe(false);
      expect(next.incident.id).not.toBe(first.incident.id);
      await expect(s.store.update(first.incident.id, { status: 'active' }, 'agent-a')).rejects.toThrow(ConflictError);
      await expect(s.store.update(first.incident.id, { status: 'active' }, 'agent-a')).rejects.toThrow(/same dedup_key/);
    });

    it('creates one incident when many callers race with the same dedup_key', async () => {
      const s = await make();
      const other = await another(s);
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 ? s.store : other).create(input(i, { dedup_key: 'race' }), `c${i}`)),
      );
      const ids = new Set(results.map((r) => r.incident.id));
      expect(ids.size).toBe(1);
      expect(results.filter((r) => !r.deduplicated)).toHaveLength(1);
      expect(await s.store.count()).toBe(1);
    });

    it('resolves, reopens and cancels with validated transitions and a timeline of who did what', async () => {
      let clock = T0;
      const { store } = await make({ now: () => new Date(clock) });
      const { incident } = await store.create(input(1), 'creator');
      clock += 60_000;
      const resolved = await store.update(incident.id, { status: 'resolved', note: 'rolled back deploy 42' }, 'granite');
      expect(resolved.incident).toMatchObject({ status: 'resolved', resolved_at: new Date(clock).toISOString(), updated_at: new Date(clock).toISOString() });
      expect(resolved.changes).toEqual([
        { at: new Date(clock).toISOString(), by: 'granite', event: 'status', from: 'active', to: 'resolved' },
        { at: new Date(clock).toISOString(), by: 'granite', event: 'note', note: 'rolled back deploy 42' },
      ]);
      // a retried resolve changes nothing and records nothing
      const retry = await store.update(incident.id, { status: 'resolved' }, 'granite');
      expect(retry.changes).toEqual([]);
      expect(retry.incident).toEqual(resolved.incident);
      // resolved -> cancelled must go through a reopen
      await expect(store.update(incident.id, { status: 'cancelled' }, 'x')).rejects.toThrow(ConflictError);
      clock += 60_000;
      const reopened = await store.update(incident.id, { status: 'active' }, 'claude');
      expect(reopened.incident).toMatchObject({ status: 'active', resolved_at: null });
      const cancelled = await store.update(incident.id, { status: 'cancelled' }, 'claude');
      expect(cancelled.incident).toMatchObject({ status: 'cancelled', resolved_at: null });
      const stored = (await store.get(incident.id))!;
      expect(stored).toEqual(cancelled.incident);
      expect(stored.timeline.map((e) => [e.by, e.event, e.to ?? e.note])).toEqual([
        ['creator', 'created', undefined],
        ['granite', 'status', 'resolved'],
        ['granite', 'note', 'rolled back deploy 42'],
        ['claude', 'status', 'active'],
        ['claude', 'status', 'cancelled'],
      ]);
      expect(await store.stats()).toEqual({ total: 1, byStatus: { active: 0, resolved: 0, cancelled: 1 } });
    });

    it('changes severity, labels and the workflow link, recording only real changes', async () => {
      const { store } = await make();
      const { incident } = await store.create(input(1, { labels: { team: 'apps', env: 'prod' } }), 'c');
      const r = await store.update(
        incident.id,
        { severity: 'critical', labels: { team: 'platform', env: 'prod' }, remove_labels: ['gone', 'env2'], workflow_id: 'wf-9' },
        'ops',
      );
      expect(r.incident).toMatchObject({ severity: 'critical', labels: { team: 'platform', env: 'prod' }, workflow_id: 'wf-9' });
      expect(r.changes.map((c) => [c.event, c.from, c.to, c.labels_set, c.labels_removed])).toEqual([
        ['severity', 'high', 'critical', undefined, undefined],
        ['labels', undefined, undefined, { team: 'platform' }, undefined],
        ['workflow', null, 'wf-9', undefined, undefined],
      ]);
      const r2 = await store.update(incident.id, { remove_labels: ['env'], workflow_id: null }, 'ops');
      expect(r2.incident.labels).toEqual({ team: 'platform' });
      expect(r2.incident.workflow_id).toBeNull();
      expect(r2.changes.map((c) => c.event)).toEqual(['labels', 'workflow']);
      const same = await store.update(incident.id, { severity: 'critical' }, 'ops');
      expect(same.changes).toEqual([]);
      // names every object has are not labels it has
      const inherited = await store.update(incident.id, { remove_labels: ['toString', 'constructor'] }, 'ops');
      expect(inherited.changes).toEqual([]);
      expect((await store.list({ limit: 5, severity: 'critical', labels: { team: 'platform' } })).total).toBe(1);
    });

    it('rejects an update of an unknown incident, an empty update and too many labels', async () => {
      const { store } = await make();
      await expect(store.update('inc-00000000deadbeef', { note: 'x' }, 'c')).rejects.toThrow(NotFoundError);
      const { incident } = await store.create(input(1), 'c');
      await expect(store.update(incident.id, {}, 'c')).rejects.toThrow(InputError);
      const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
      await expect(store.update(incident.id, { labels: many }, 'c')).rejects.toThrow(/at most 32/);
      expect(await store.get(incident.id)).toEqual(incident);
    });

    it('keeps at most 200 timeline entries for notes and other changes, and says so, changing nothing', async () => {
      const { store } = await make();
      const { incident } = await store.create(input(1), 'c');
      for (let i = 1; i < 200; i++) await store.update(incident.id, { note: `n${i}` }, 'c');
      const full = (await store.get(incident.id))!;
      await expect(store.update(incident.id, { note: 'one too many' }, 'c')).rejects.toThrow(/200 timeline entries.*open a follow-up incident/);
      await expect(store.update(incident.id, { severity: 'low', labels: { a: 'b' } }, 'c')).rejects.toThrow(/can still be resolved or cancelled/);
      expect(await store.get(incident.id)).toEqual(full);
    });

    it('still resolves an incident whose timeline is full, keeping its whole history, and then refuses to reopen it', async () => {
      const { store } = await make();
      const { incident } = await store.create(input(1), 'c');
      for (let i = 1; i < 200; i++) await store.update(incident.id, { note: `n${i}` }, 'c');
      // as Alertmanager resolves: a status change with a note
      const resolved = await store.update(incident.id, { status: 'resolved', note: 'alert ended' }, 'alertmanager');
      expect(resolved.incident.status).toBe('resolved');
      expect(resolved.changes.map((c) => [c.event, c.to ?? c.note])).toEqual([['status', 'resolved'], ['note', 'alert ended']]);
      await expect(store.update(incident.id, { status: 'active' }, 'c')).rejects.toThrow(/cannot reopen .*open a follow-up incident/);
      await expect(store.update(incident.id, { note: 'post-mortem' }, 'c')).rejects.toThrow(/takes no more notes/);
      const stored = (await store.get(incident.id))!;
      expect(stored).toEqual(resolved.incident);
      expect(stored.timeline).toHaveLength(202);
      expect(stored.timeline.slice(1, 200).map((e) => e.note)).toEqual(Array.from({ length: 199 }, (_, i) => `n${i + 1}`));
    });

    it('never drops history: flipping the status until refused keeps every note', async () => {
      const { store } = await make();
      const { incident } = await store.create(input(1), 'c');
      await store.update(incident.id, { note: 'root cause: bad deploy 42' }, 'c');
      let flips = 0;
      while (flips < 400) {
        const to = flips % 2 ? 'active' : 'cancelled';
        const r = await store.update(incident.id, { status: to }, 'vandal').catch((e: unknown) => e);
        if (r instanceof Error) {
          expect(r).toBeInstanceOf(ConflictError);
          break;
        }
        flips++;
      }
      // 2 entries, then one per flip up to 200, and one final cancel past it; then the reopen is refused
      expect(flips).toBe(199);
      const stored = (await store.get(incident.id))!;
      expect(stored.status).toBe('cancelled');
      expect(stored.timeline).toHaveLength(201);
      expect(stored.timeline[0]!.event).toBe('created');
      expect(stored.timeline[1]!.note).toBe('root cause: bad deploy 42');
    });

    it('lists summaries newest first with filters, totals, cursor and offset paging', async () => {
      const { store } = await make({ now: () => new Date(T0) });
      const made: Incident[] = [];
      for (let i = 0; i < 30; i++) {
        const spec = {
          severity: (['low', 'medium', 'high', 'critical'] as const)[i % 4],
          target: i % 3 === 0 ? 'staging' : 'deployment/api',
          namespace: i % 3 === 0 ? undefined : 'production',
          labels: { team: i % 5 === 0 ? 'platform' : 'apps' },
          evidence: [{ kind: 'other' as const, summary: `e${i}` }],
        };
        made.push((await store.create(input(i, spec), 'c')).incident);
      }
      for (const m of made.slice(0, 10)) await store.update(m.id, { status: 'resolved' }, 'c');
      const newestFirst = [...made].reverse();
      const check = async (q: Parameters<IncidentStore['list']>[0], pred: (i: Incident) => boolean) => {
        const want = newestFirst.filter(pred);
        const page = await store.list(q);
        expect(page.total, JSON.stringify(q)).toBe(want.length);
        expect(page.incidents.map((i) => i.id), JSON.stringify(q)).toEqual(want.slice(q.offset ?? 0, (q.offset ?? 0) + q.limit).map((i) => i.id));
      };
      await check({ limit: 50 }, () => true);
      await check({ limit: 4, status: 'active' }, (i) => made.indexOf(i) >= 10);
      await check({ limit: 50, status: 'resolved', severity: 'low' }, (i) => made.indexOf(i) < 10 && i.severity === 'low');
      await check({ limit: 50, namespace: 'production', severity: 'high' }, (i) => i.namespace === 'production' && i.severity === 'high');
      await check({ limit: 50, target: 'staging' }, (i) => i.target === 'staging');
      await check({ limit: 50, labels: { team: 'platform' } }, (i) => i.labels.team === 'platform');
      await check({ limit: 50, namespace: 'nowhere' }, () => false);
      const since = Date.parse(made[5]!.created_at);
      const until = Date.parse(made[20]!.created_at);
      await check({ limit: 50, since, until }, (i) => Date.parse(i.created_at) >= since && Date.parse(i.created_at) < until);
      await check({ limit: 5, offset: 7, target: 'deployment/api' }, (i) => i.target === 'deployment/api');

      const page = await store.list({ limit: 3 });
      expect(page.incidents[0]).toMatchObject({ timeline_count: 1, evidence_count: 1 });
      expect(page.incidents[0]).not.toHaveProperty('timeline');
      expect(page.incidents[0]).not.toHaveProperty('evidence');

      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const p = await store.list({ limit: 4, target: 'deployment/api', cursor });
        seen.push(...p.incidents.map((i) => i.id));
        cursor = p.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(newestFirst.filter((i) => i.target === 'deployment/api').map((i) => i.id));
      expect((await store.list({ limit: 30 })).nextCursor).toBeNull();
    });

    it('removes resolved and cancelled incidents past retention, never active ones', async () => {
      let clock = T0;
      const { store } = await make({ now: () => new Date(clock) });
      const oldActive = (await store.create(input(1), 'c')).incident;
      const oldResolved = (await store.create(input(2), 'c')).incident;
      const oldCancelled = (await store.create(input(3), 'c')).incident;
      const lateNote = (await store.create(input(4), 'c')).incident;
      const lateResolvedNote = (await store.create(input(6), 'c')).incident;
      await store.update(oldResolved.id, { status: 'resolved' }, 'c');
      await store.update(lateResolvedNote.id, { status: 'resolved' }, 'c');
      await store.update(oldCancelled.id, { status: 'cancelled' }, 'c');
      await store.update(lateNote.id, { status: 'cancelled' }, 'c');
      clock += 100 * DAY;
      const recent = (await store.create(input(5), 'c')).incident;
      await store.update(recent.id, { status: 'resolved' }, 'c');
      // a closed one's age counts from its last update, whether cancelled or resolved
      await store.update(lateNote.id, { note: 'post-mortem added later' }, 'c');
      await store.update(lateResolvedNote.id, { note: 'post-mortem added later' }, 'c');

      expect(await store.purgeClosed(clock - 90 * DAY)).toEqual({ resolved: 1, cancelled: 1 });
      expect(await store.get(oldResolved.id)).toBeNull();
      expect(await store.get(oldCancelled.id)).toBeNull();
      expect(await store.get(oldActive.id)).not.toBeNull();
      expect(await store.get(lateNote.id)).not.toBeNull();
      expect(await store.get(lateResolvedNote.id)).not.toBeNull();
      expect(await store.get(recent.id)).not.toBeNull();
      expect(await store.purgeClosed(clock - 90 * DAY)).toEqual({ resolved: 0, cancelled: 0 });
      expect(await store.count()).toBe(4);
    });

    it('exports every incident oldest first and imports them idempotently by id', async () => {
      const a = await make();
      const made: Incident[] = [];
      for (let i = 0; i < 7; i++) made.push((await a.store.create(input(i, { dedup_key: i === 6 ? 'k' : undefined }), 'c')).incident);
      made[0] = (await a.store.update(made[0]!.id, { status: 'resolved', note: 'done' }, 'c')).incident;
      const exported: Incident[] = [];
      for await (const batch of a.store.exportAll()) exported.push(...batch);
      expect(exported).toEqual(made);

      const b = await make();
      const clash = (await b.store.create(input(99, { dedup_key: 'k' }), 'c')).incident;
      expect(await b.store.importMany(exported)).toEqual({ added: 6, skipped: 1 }); // the active "k" is taken
      expect(await b.store.importMany(exported)).toEqual({ added: 0, skipped: 7 });
      for (const inc of exported.slice(0, 6)) expect(await b.store.get(inc.id)).toEqual(inc);
      // imported incidents keep their creation times, and list in creation order among the others
      const newestFirst = [clash, ...exported.slice(0, 6)].sort((x, y) =>
        x.created_at === y.created_at ? (x.id < y.id ? 1 : -1) : x.created_at < y.created_at ? 1 : -1,
      );
      const listed = await b.store.list({ limit: 50, status: undefined });
      expect(listed.incidents.map((i) => i.id)).toEqual(newestFirst.map((i) => i.id));
    });

    it('keeps any well-formed Unicode exactly; lone surrogates never get past validation, so both stores hold the same', async () => {
      const { store } = await make();
      const lone = 'x\ud800';
      const refused: [z.ZodType, Record<string, unknown>, string][] = [
        [NewIncident, { ...input(1), title: lone }, 'title'],
        [NewIncident, { ...input(1), description: lone }, 'description'],
        [NewIncident, { ...input(1), target: lone }, 'target'],
        [NewIncident, { ...input(1), affected_resources: ['ok', lone] }, 'affected_resources.1'],
        [NewIncident, { ...input(1), labels: { team: lone } }, 'labels.team'],
        [NewIncident, { ...input(1), workflow_id: lone }, 'workflow_id'],
        [NewIncident, { ...input(1), dedup_key: '\udc00k' }, 'dedup_key'],
        [NewIncident, { ...input(1), evidence: [{ kind: 'other', summary: lone }] }, 'evidence.0.summary'],
        [NewIncident, { ...input(1), evidence: [{ kind: 'promql', summary: 's', query: lone }] }, 'evidence.0.query'],
        [NewIncident, { ...input(1), evidence: [{ kind: 'other', summary: 's', data: { a: [{ b: lone }] } }] }, 'evidence'],
        [NewIncident, { ...input(1), evidence: [{ kind: 'other', summary: 's', data: { [lone]: 1 } }] }, 'evidence'],
        [IncidentUpdate, { note: lone }, 'note'],
        [IncidentUpdate, { labels: { team: lone } }, 'labels.team'],
        [IncidentUpdate, { workflow_id: lone }, 'workflow_id'],
      ];
      for (const [schema, value, path] of refused) {
        const r = schema.safeParse(value);
        expect(r.success, path).toBe(false);
        expect(r.error!.issues.map((i) => `${i.path.join('.') || 'evidence'} ${i.message}`), path).toContain(`${path} must be valid Unicode (no lone surrogates)`);
      }

      // an export holding one (as a file store written before this rule could) is refused before anything is written
      const { incident } = await store.create(input(1), 'c');
      const { incidents, errors } = parseImport(JSON.stringify({ ...incident, id: 'inc-00000000000000f1', timeline: [{ ...incident.timeline[0], note: lone }] }));
      expect(errors).toEqual(['line 1: timeline[0].note: must be valid Unicode (no lone surrogates), got "x\\ud800"']);
      expect(await store.importMany(incidents)).toEqual({ added: 0, skipped: 0 });

      // astral characters (surrogate pairs), U+FFFD and noncharacters are well-formed: stored and found as given
      const odd = 'db 🔥 \ufffd \uffff 𝒳 日本';
      const made = await store.create(
        NewIncident.parse({ ...input(2), title: odd, labels: { team: odd }, affected_resources: [odd], evidence: [{ kind: 'other', summary: odd, data: { [odd]: [odd] } }] }),
        'c🔥',
      );
      const updated = await store.update(made.incident.id, IncidentUpdate.parse({ note: odd, labels: { owner: odd } }), 'c🔥');
      expect(await store.get(made.incident.id)).toEqual(updated.incident);
      expect(updated.incident).toMatchObject({ title: odd, labels: { team: odd, owner: odd }, affected_resources: [odd], evidence: [{ summary: odd, data: { [odd]: [odd] } }] });
      expect(updated.changes.at(-1)).toMatchObject({ by: 'c🔥', note: odd });
      const found = await store.list({ limit: 5, labels: { team: odd } });
      expect(found.incidents.map((i) => i.id)).toEqual([made.incident.id]);
    });

    it('keeps everything across a restart', async () => {
      const s = await make();
      const { incident } = await s.store.create(input(1, { evidence: [{ kind: 'anomaly', summary: 'z=4.1', data: { scores: [1, 2] } }] }), 'c');
      const updated = (await s.store.update(incident.id, { severity: 'low', note: 'n' }, 'd')).incident;
      await s.store.close();
      const again = await another(s);
      expect(await again.get(incident.id)).toEqual(updated);
    });
  });
}
