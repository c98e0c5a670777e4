import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { FileIncidentStore } from '../../src/incidents/file-store.js';
import { recordLine } from '../../src/incidents/journal-format.js';
import { buildIncident, type Incident, type NewIncident } from '../../src/incidents/model.js';
import { createLogger } from '../../src/log.js';
import { tempDir } from '../helpers/server.js';
import { spawnStoreWriter } from '../helpers/store-writer.js';

const logger = createLogger('silent');

const input = (n: number, over: Partial<NewIncident> = {}): NewIncident => ({
  title: `incident ${n}`,
  description: `description ${n}`,
  severity: 'high',
  target: 'production',
  ...over,
});

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

let dir: { path: string; cleanup(): void };
const open = (opts: Partial<Parameters<typeof FileIncidentStore.open>[1]> = {}) =>
  FileIncidentStore.open(dir.path, { logger, lockStaleMs: 2000, ...opts });

beforeEach(() => {
  dir = tempDir('pim-store-');
});
afterEach(() => dir.cleanup());

describe('FileIncidentStore', () => {
  it('creates incidents and loads them back after a restart', async () => {
    const a = await open();
    const created = [];
    for (let i = 0; i < 25; i++) created.push((await a.create(input(i, { labels: { n: String(i) } }), 'test')).incident);
    await a.close();
    const b = await open();
    expect(await b.count()).toBe(25);
    for (const c of created) expect(await b.get(c.id)).toEqual(c);
    const page = await b.list({ limit: 5 });
    expect(page.total).toBe(25);
    expect(page.incidents.map((x) => x.title)).toEqual(['incident 24', 'incident 23', 'incident 22', 'incident 21', 'incident 20']);
    await b.close();
  });

  it('reports counts by status and its health', async () => {
    const s = await open();
    await s.create(input(1), 'test');
    await s.create(input(2), 'test');
    expect(await s.stats()).toEqual({ total: 2, byStatus: { active: 2, resolved: 0, cancelled: 0 } });
    expect(await s.health()).toEqual({ ok: true, backend: 'file' });
    await s.close();
    expect((await s.health()).ok).toBe(false);
  });

  it('gives each incident a unique inc-<hex> id, status active and timestamps', async () => {
    const s = await open();
    const x = (await s.create(input(1, { target: 'payments' }), 'test')).incident;
    expect(x.id).toMatch(/^inc-[0-9a-f]{16}$/);
    expect(x.status).toBe('active');
    expect(x.namespace).toBe('payments');
    expect(x.created_at).toBe(x.updated_at);
    expect(x.resolved_at).toBeNull();
    const y = (await s.create(input(2, { target: 'deployment/payment-service' }), 'test')).incident;
    expect(y.namespace).toBeNull();
    expect(y.id).not.toBe(x.id);
    await s.close();
  });

  it('commits concurrent writes together: one write and fsync for many, each still distinct and ordered', async () => {
    const a = await open();
    const made = (await Promise.all(Array.from({ length: 200 }, (_, i) => a.create(input(i), 'test')))).map((r) => r.incident);
    expect(a.commits).toBeLessThanOrEqual(2);
    expect(new Set(made.map((m) => m.id)).size).toBe(200);
    const times = made.map((m) => Date.parse(m.created_at));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1]!);
    await a.close();
    const b = await open();
    expect((await b.list({ limit: 500 })).total).toBe(200);
    // updates in one batch see each other: the second sees the first's note
    const id = made[0]!.id;
    await Promise.all([b.update(id, { note: 'first' }, 'test'), b.update(id, { note: 'second' }, 'test')]);
    expect(b.commits).toBe(1);
    const timeline = JSON.stringify((await b.get(id))!.timeline);
    expect(timeline).toContain('first');
    expect(timeline).toContain('second');
    await b.close();
  });

  it('ignores a torn last record, then truncates it on the next write', async () => {
    const a = await open();
    const kept = (await a.create(input(1), 'test')).incident;
    await a.close();
    const journal = join(dir.path, 'incidents.journal');
    const torn = recordLine({ op: 'put', incident: { ...kept, id: 'inc-ffffffffffffffff' } }).slice(0, 40);
    appendFileSync(journal, torn);
    const b = await open();
    expect(await b.count()).toBe(1);
    const after = (await b.create(input(2), 'test')).incident;
    await b.close();
    const c = await open();
    expect((await c.list({ limit: 10 })).incidents.map((x) => x.id)).toEqual([after.id, kept.id]);
    expect(readFileSync(journal, 'utf8')).not.toContain(torn);
    await c.close();
  });

  it('treats NUL bytes at the end (a crash after the size grew) as a torn write', async () => {
    const a = await open();
    await a.create(input(1), 'test');
    await a.close();
    appendFileSync(join(dir.path, 'incidents.journal'), Buffer.alloc(300));
    const b = await open();
    expect(await b.count()).toBe(1);
    await b.create(input(2), 'test');
    await b.close();
    const c = await open();
    expect(await c.count()).toBe(2);
    await c.close();
  });

  it('refuses to start when the last complete record is damaged, and leaves the file untouched', async () => {
    const a = await open();
    for (let i = 0; i < 3; i++) await a.create(input(i), 'test');
    await a.close();
    const journal = join(dir.path, 'incidents.journal');
    const bytes = readFileSync(journal);
    const lastLine = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
    bytes[lastLine + 40]! ^= 0x01; // one bit in the last whole line: acknowledged, not torn
    writeFileSync(journal, bytes);
    const before = sha(journal);
    await expect(open()).rejects.toThrow(new RegExp(`incidents\\.journal is damaged at byte ${lastLine}`));
    expect(sha(journal)).toBe(before);
  });

  it('refuses to start when the last lines are zeroed but their newlines remain', async () => {
    const a = await open();
    for (let i = 0; i < 6; i++) await a.create(input(i), 'test');
    await a.close();
    const journal = join(dir.path, 'incidents.journal');
    const lines = readFileSync(journal, 'utf8').split('\n');
    for (let i = lines.length - 4; i < lines.length - 1; i++) lines[i] = '\0'.repeat(lines[i]!.length);
    writeFileSync(journal, lines.join('\n'));
    await expect(open()).rejects.toThrow(/incidents\.journal is damaged at byte \d+: its last \d+ bytes are not records/);
  });

  it('refuses to write over damage another process left at the end, rather than cutting it off', async () => {
    const a = await open();
    const kept = (await a.create(input(1), 'test')).incident;
    const journal = join(dir.path, 'incidents.journal');
    const damaged = recordLine({ op: 'put', incident: { ...kept, id: 'inc-ffffffffffffffff' } }).replace('incident 1', 'incident X');
    appendFileSync(journal, damaged);
    const before = sha(journal);
    await expect(a.create(input(2), 'test')).rejects.toThrow(/incidents\.journal is damaged at byte \d+/);
    expect(sha(journal)).toBe(before);
    await a.close();
  });

  it('refuses to start on damage in the middle and leaves the file untouched', async () => {
    const a = await open();
    for (let i = 0; i < 3; i++) await a.create(input(i), 'test');
    await a.close();
    const journal = join(dir.path, 'incidents.journal');
    const lines = readFileSync(journal, 'utf8').split('\n');
    lines[2] = lines[2]!.replace('incident 1', 'incident X'); // checksum no longer matches
    writeFileSync(journal, lines.join('\n'));
    const before = sha(journal);
    await expect(open()).rejects.toThrow(/incidents\.journal is damaged at byte \d+/);
    expect(sha(journal)).toBe(before);
  });

  it('refuses a journal that is not ours and never overwrites it', async () => {
    const journal = join(dir.path, 'incidents.journal');
    writeFileSync(journal, '{"some":"other program"}\nline two\n');
    const before = sha(journal);
    const err = await open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/is not a prom-incident-mcp journal file/);
    expect(sha(journal)).toBe(before);
  });

  it('compacts the journal into a snapshot and loads from both', async () => {
    const s = await open({ compactAfter: 10 });
    const ids = [];
    for (let i = 0; i < 40; i++) ids.push((await s.create(input(i), 'test')).incident.id);
    await s.compact();
    expect(existsSync(join(dir.path, 'incidents.snapshot'))).toBe(true);
    const journalLines = readFileSync(join(dir.path, 'incidents.journal'), 'utf8').trim().split('\n');
    expect(journalLines).toHaveLength(1); // header only
    ids.push((await s.create(input(40), 'test')).incident.id);
    await s.close();
    const t = await open();
    expect(await t.count()).toBe(41);
    for (const id of ids) expect(await t.get(id)).not.toBeNull();
    await t.close();
  });

  it('recovers when a compaction stopped between the snapshot and the new journal', async () => {
    const s = await open();
    for (let i = 0; i < 5; i++) await s.create(input(i), 'test');
    await s.compact();
    await s.create(input(5), 'test');
    await s.close();
    // Rebuild the crash state: snapshot of generation 2 holding all 6, journal still generation 1.
    const journal = join(dir.path, 'incidents.journal');
    const snapshot = join(dir.path, 'incidents.snapshot');
    const s2 = await open();
    const oldJournal = readFileSync(journal);
    await s2.compact();
    await s2.close();
    writeFileSync(journal, oldJournal);
    expect(readFileSync(snapshot, 'utf8').split('\n')[0]).toContain('"generation":2');
    const t = await open();
    expect(await t.count()).toBe(6);
    await t.create(input(6), 'test');
    await t.close();
    const u = await open();
    expect(await u.count()).toBe(7);
    await u.close();
  });

  it('replays the records a stopped compaction wrote after its snapshot point', async () => {
    const a = await open();
    await a.create(input(1), 'test');
    await a.create(input(2), 'test');
    await a.close();
    const journal = join(dir.path, 'incidents.journal');
    const covered = readFileSync(journal);
    const b = await open();
    await b.compact(); // snapshot generation 1 holds both; its header says up to byte covered.length
    await b.close();
    // The crash state: the old journal (generation 0) with one more record appended while the
    // snapshot was being written, and the new journal never installed.
    const late = buildIncident(input(3), 'inc-00000000000000c3', new Date(), 'test');
    writeFileSync(journal, Buffer.concat([covered, Buffer.from(recordLine({ op: 'put', incident: late }))]));
    const c = await open();
    expect(await c.count()).toBe(3);
    expect(await c.get(late.id)).toEqual(late);
    await c.create(input(4), 'test'); // a writer replaces the stale journal, carrying the late record
    await c.close();
    expect(readFileSync(journal, 'utf8').split('\n')[0]).toContain('"generation":1');
    const d = await open();
    expect(await d.count()).toBe(4);
    expect(await d.get(late.id)).toEqual(late);
    await d.close();
  });

  it('removes the temporary files a killed journal switch or compaction left, and nothing else', async () => {
    const a = await open();
    const kept = (await a.create(input(1), 'test')).incident;
    await a.close();
    const gone = spawnSync(process.execPath, ['-e', '']).pid!; // a process that has exited
    const at = (name: string) => join(dir.path, name);
    const leftovers = [`incidents.snapshot.tmp-${gone}`, `incidents.snapshot.tmp-${process.pid}`, `incidents.journal.tmp-${process.ppid}`];
    // a live process's snapshot (written without the lock), and files that are not ours
    const others = [`incidents.snapshot.tmp-${process.ppid}`, 'incidents.snapshot.tmp-x1', 'incidents.journal.bak', 'notes.tmp-123'];
    for (const name of [...leftovers, ...others]) writeFileSync(at(name), 'half-written\n');
    const b = await open();
    for (const name of leftovers) expect(existsSync(at(name)), name).toBe(false);
    for (const name of others) expect(readFileSync(at(name), 'utf8'), name).toBe('half-written\n');
    expect((await b.list({ limit: 10 })).incidents.map((i) => i.id)).toEqual([kept.id]);
    await b.close();
  });

  it('lets writers go on while a compaction writes its snapshot, and keeps their writes', async () => {
    const s = await open();
    for (let i = 0; i < 200; i++) await s.create(input(i), 'test');
    const compaction = s.compact();
    const during = await Promise.all(Array.from({ length: 20 }, (_, i) => s.create(input(1000 + i), 'test')));
    await compaction;
    await s.close();
    const t = await open();
    expect(await t.count()).toBe(220);
    for (const x of during) expect(await t.get(x.incident.id)).toEqual(x.incident);
    await t.close();
  });

  it('reads incidents written by the first version (no timeline, evidence or dedup_key)', async () => {
    const v1 = { ...buildIncident(input(1), 'inc-00000000000000a1', new Date(), 'x') } as Partial<Incident>;
    delete v1.timeline;
    delete v1.evidence;
    delete v1.dedup_key;
    writeFileSync(
      join(dir.path, 'incidents.journal'),
      `{"format":"prom-incident-mcp/journal","version":1,"generation":0}\n${recordLine({ op: 'put', incident: v1 })}`,
    );
    const s = await open();
    expect(await s.get('inc-00000000000000a1')).toMatchObject({ timeline: [], evidence: [], dedup_key: null, title: 'incident 1' });
    // a version 1 journal is appended to in its own form (whole JSON records), until compaction
    await s.create(input(2), 'test');
    const lines = readFileSync(join(dir.path, 'incidents.journal'), 'utf8').trim().split('\n');
    for (const l of lines.slice(1)) expect(() => JSON.parse(l.slice(9)), l).not.toThrow();
    await s.compact();
    expect(readFileSync(join(dir.path, 'incidents.journal'), 'utf8')).toMatch(/^\{"format":"prom-incident-mcp\/journal","version":2,/);
    await s.close();
    const t = await open();
    expect(await t.get('inc-00000000000000a1')).toMatchObject({ timeline: [], evidence: [], dedup_key: null });
    await t.close();
  });

  it('sees incidents another process wrote, without a restart', async () => {
    const a = await open();
    const b = await open();
    const x = (await a.create(input(1), 'test')).incident;
    expect(await b.get(x.id)).toEqual(x);
    const y = (await b.create(input(2), 'test')).incident;
    expect((await a.list({ limit: 10 })).incidents.map((i) => i.id)).toEqual([y.id, x.id]);
    // after a compaction by one, the other reloads
    await a.compact();
    const z = (await a.create(input(3), 'test')).incident;
    expect(await b.count()).toBe(3);
    expect(await b.get(z.id)).toEqual(z);
    await a.close();
    await b.close();
  });

  it('a store that only reads keeps up when a later journal gets the inode number it last saw', async () => {
    const writer = await open();
    const reader = await open();
    let n = 0;
    for (let i = 0; i < 3; i++) {
      await writer.create(input(n++), 'writer');
      await writer.compact();
    }
    expect(await reader.count()).toBe(n); // the reader looks once compactions are under way
    const journal = join(dir.path, 'incidents.journal');
    const seen = statSync(journal).ino;
    // Compact until the filesystem hands the reader's journal inode to a new journal (ext4
    // reuses freed inodes at once); a reader that holds its journal open prevents exactly that.
    for (let round = 0; round < 40; round++) {
      await writer.create(input(n++), 'writer');
      await writer.compact();
      if (statSync(journal).ino === seen) break;
    }
    await writer.create(input(n++), 'writer');
    expect(await reader.count()).toBe(await writer.count());
    const mine = (await reader.create(input(999), 'reader')).incident;
    expect(await writer.get(mine.id)).toEqual(mine);
    await writer.close();
    await reader.close();
  });

  it('two processes writing 500 each lose nothing', async () => {
    const writers = [0, 1].map(
      () =>
        new Promise<string[]>((resolve, reject) => {
          const p = spawnStoreWriter([dir.path, '500', '4']);
          let out = '';
          let err = '';
          p.stdout.on('data', (d: Buffer) => (out += d.toString()));
          p.stderr.on('data', (d: Buffer) => (err += d.toString()));
          p.on('exit', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`writer exited ${code}: ${err}`))));
        }),
    );
    const [one, two] = await Promise.all(writers);
    expect(one).toHaveLength(500);
    expect(two).toHaveLength(500);
    const s = await open();
    expect(await s.count()).toBe(1000);
    for (const id of [...one!, ...two!]) expect(await s.get(id)).not.toBeNull();
    await s.close();
  }, 120_000);

  it('keeps every acknowledged create through kill -9 of the writer', async () => {
    const p = spawnStoreWriter([dir.path, '0', '4']);
    const acked: string[] = [];
    let buf = '';
    await new Promise<void>((resolve) => {
      p.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        acked.push(...lines);
        if (acked.length >= 300 && p.exitCode === null && !p.killed) {
          p.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((r) => p.once('exit', r));
    acked.push(...buf.split('\n').filter((l) => /^inc-/.test(l)));
    const s = await open();
    for (const id of acked) expect(await s.get(id), id).not.toBeNull();
    // at most the writes in flight when it died are extra
    expect(await s.count()).toBeLessThanOrEqual(acked.length + 4);
    await s.create(input(1), 'test'); // and the store is writable again
    await s.close();
  }, 60_000);
});
