// The file store on a disk that fills up: a real, small tmpfs (mounting needs root, which CI
// has), plus a short write injected where a real disk cannot be made to give one on demand.
// Whatever a full disk does to a compaction or an append, every acknowledged incident must
// load after a restart.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync, ftruncateSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { FileIncidentStore } from '../../src/incidents/file-store.js';
import type { NewIncident } from '../../src/incidents/model.js';
import { createLogger } from '../../src/log.js';
import { call, connectStdio, tempDir } from '../helpers/server.js';

const logger = createLogger('silent');
const input = (n: number): NewIncident => ({
  title: `incident ${n}`,
  description: `description ${n} `.repeat(20),
  severity: 'high',
  target: 'production',
});

/** Whether this process may mount a tmpfs (root on Linux). */
function canMount(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = tempDir('pim-mount-probe-');
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe.path]);
    if (r.status !== 0) return false;
    spawnSync('umount', [probe.path]);
    return true;
  } finally {
    probe.cleanup();
  }
}

/** Fills the file system under `dir` until a write fails, then frees `leave` bytes. */
function fillLeaving(dir: string, leave: number): string {
  const filler = join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  let size = 0;
  try {
    for (;;) {
      const n = writeSync(fd, block);
      size += n;
      if (n < block.length) break;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  ftruncateSync(fd, Math.max(0, size - leave));
  closeSync(fd);
  return filler;
}

interface Acked {
  id: string;
  notes: string[];
}

/** Adds a note, remembering it when the store acknowledged it. */
async function note(s: FileIncidentStore, acked: Acked, text: string): Promise<boolean> {
  try {
    await s.update(acked.id, { note: text }, 'test');
    acked.notes.push(text);
    return true;
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError); // a clear store error, nothing else
    return false;
  }
}

async function expectAllLoad(dir: string, acked: Acked[]): Promise<void> {
  const s = await FileIncidentStore.open(dir, { logger, lockStaleMs: 2000 });
  try {
    expect(await s.count()).toBe(acked.length);
    for (const a of acked) {
      const inc = await s.get(a.id);
      const text = JSON.stringify(inc?.timeline ?? []);
      for (const n of a.notes) expect(text).toContain(n);
    }
  } finally {
    await s.close();
  }
}

describe.skipIf(!canMount())('file store on a disk that fills up (tmpfs)', () => {
  let mnt: { path: string; cleanup(): void };
  beforeEach(() => {
    mnt = tempDir('pim-tmpfs-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt.path]);
  });
  afterEach(() => {
    spawnSync('umount', ['--lazy', mnt.path]); // lazy: a failed test may leave a file open there
    mnt.cleanup();
  });

  it('keeps every acknowledged incident when the disk fills during a compaction', async () => {
    const dir = join(mnt.path, 'data');
    mkdirSync(dir);
    const s = await FileIncidentStore.open(dir, { logger, lockStaleMs: 2000, compactAfter: 200 });
    onTestFinished(() => s.close());
    const acked: Acked[] = [];
    for (let i = 0; i < 50; i++) acked.push({ id: (await s.create(input(i), 'test')).incident.id, notes: [] });
    for (let i = 0; i < 140; i++) await note(s, acked[i % 50]!, `note ${i} before the disk filled`);
    const snapshotBytes = statSync(join(dir, 'incidents.journal')).size / 4;
    // Room for some appends but not for a whole snapshot of the store.
    const filler = fillLeaving(mnt.path, Math.floor(snapshotBytes / 2));
    for (let i = 0; i < 40; i++) await note(s, acked[i % 50]!, `note ${i} on a full disk`);
    await s.compact().catch(() => undefined); // whatever the scheduled one did, one more on a full disk
    rmSync(filler);
    expect(await note(s, acked[0]!, 'after space was freed')).toBe(true);
    await s.close();
    await expectAllLoad(dir, acked);
  });

  it('tells an agent that nothing was saved and why when the disk is full, then works once there is room', async () => {
    const dir = join(mnt.path, 'data');
    const conn = await connectStdio({ DATA_DIR: dir });
    onTestFinished(() => conn.close());
    const args = { title: 'disk full', description: 'while the disk is full', severity: 'high', target: 'production' };
    expect((await call(conn.client, 'create_incident', args)).isError).toBeFalsy();
    const filler = fillLeaving(mnt.path, 0);
    // the journal's last page may still have room for a create or two
    let refused;
    for (let i = 0; i < 10 && !refused?.isError; i++) refused = await call(conn.client, 'create_incident', { ...args, description: 'x'.repeat(2000) });
    expect(refused?.isError).toBe(true);
    const saved = (await call(conn.client, 'list_incidents', {})).structuredContent as { total: number };
    const text = JSON.stringify(refused?.content);
    expect(text).toMatch(/nothing was saved: the disk holding DATA_DIR is full/);
    expect(text).not.toMatch(/Internal error/);
    rmSync(filler);
    expect((await call(conn.client, 'create_incident', args)).isError).toBeFalsy();
    expect((await call(conn.client, 'list_incidents', {})).structuredContent).toMatchObject({ total: saved.total + 1 });
  });

  it('fails at once, naming DATA_DIR, when it turns read-only while running, and writes again when it is writable', async () => {
    const dir = join(mnt.path, 'data');
    const s = await FileIncidentStore.open(dir, { logger, lockStaleMs: 2000 });
    onTestFinished(() => s.close());
    await s.create(input(1), 'test');
    // a read-only view of DATA_DIR over it (a remount would wait for the open journal)
    execFileSync('mount', ['--bind', dir, dir]);
    execFileSync('mount', ['-o', 'remount,ro,bind', dir]);
    const started = Date.now();
    const err = await s.create(input(2), 'test').then(
      () => null,
      (e: unknown) => e,
    );
    execFileSync('umount', [dir]);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(/nothing was saved: DATA_DIR is on a read-only file system \(.*data/);
    expect(Date.now() - started).toBeLessThan(5000); // not the 20 s a lock held by another process may take
    await s.create(input(3), 'test');
    expect(await s.count()).toBe(2);
  });

  it('refuses to open a read-only DATA_DIR at once, saying so rather than blaming a lock', async () => {
    const dir = join(mnt.path, 'data');
    const s = await FileIncidentStore.open(dir, { logger, lockStaleMs: 2000 });
    await s.close();
    execFileSync('mount', ['-o', 'remount,ro', mnt.path]);
    const started = Date.now();
    await expect(FileIncidentStore.open(dir, { logger, lockStaleMs: 2000 })).rejects.toThrow(
      /cannot open the incident store: DATA_DIR is on a read-only file system/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('file store when a write is cut short', () => {
  let dir: { path: string; cleanup(): void };
  beforeEach(() => {
    dir = tempDir('pim-short-');
  });
  afterEach(() => {
    vi.restoreAllMocks();
    dir.cleanup();
  });

  /** Makes every writev on any file write only half of what it was given (a disk near full). */
  async function halveWritev(): Promise<void> {
    const probe = await openFile(dir.path, 'r');
    const proto = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const realWrite = proto.write as (...args: unknown[]) => Promise<{ bytesWritten: number }>;
    vi.spyOn(proto, 'writev').mockImplementation(async function (this: FileHandle, buffers: readonly NodeJS.ArrayBufferView[], position?: number | null) {
      const all = Buffer.concat(buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
      const half = all.subarray(0, Math.ceil(all.length / 2));
      const { bytesWritten } = await realWrite.call(this, half, 0, half.length, position ?? null);
      return { bytesWritten, buffers: buffers as NodeJS.ArrayBufferView[] };
    } as FileHandle['writev']);
  }

  it('writes a whole snapshot when writev writes only part of what it is given', async () => {
    const s = await FileIncidentStore.open(dir.path, { logger, lockStaleMs: 2000, compactAfter: 1_000_000 });
    const acked: Acked[] = [];
    for (let i = 0; i < 30; i++) acked.push({ id: (await s.create(input(i), 'test')).incident.id, notes: [] });
    await halveWritev();
    await s.compact();
    vi.restoreAllMocks();
    await note(s, acked[3]!, 'after the compaction');
    await s.close();
    await expectAllLoad(dir.path, acked);
  });

  it('refuses a snapshot whose records are fewer than its header says, even when every line is whole', async () => {
    const s = await FileIncidentStore.open(dir.path, { logger, lockStaleMs: 2000 });
    for (let i = 0; i < 5; i++) await s.create(input(i), 'test');
    await s.compact();
    await s.close();
    const path = join(dir.path, 'incidents.snapshot');
    const lines = (await import('node:fs')).readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, `${lines.slice(0, 4).join('\n')}\n`); // header + 3 of 5 whole lines
    await expect(FileIncidentStore.open(dir.path, { logger, lockStaleMs: 2000 })).rejects.toThrow(
      /incidents\.snapshot .*holds 3 of the 5 incidents its header lists/,
    );
  });
});
