// What the file store does while a write is in progress: a real disk does not hold a write or
// fdatasync open, or fail it, on demand, so these tests hold node's FileHandle method at a gate
// (then let it fail or go on).
import { existsSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileIncidentStore } from '../../src/incidents/file-store.js';
import type { NewIncident } from '../../src/incidents/model.js';
import { createLogger } from '../../src/log.js';
import { tempDir } from '../helpers/server.js';

const logger = createLogger('silent');
const input = (n: number, dedupKey = 'HighCPU/production'): NewIncident => ({
  title: `incident ${n}`,
  description: `description ${n}`,
  severity: 'high',
  target: 'production',
  dedup_key: dedupKey,
});

let dir: { path: string; cleanup(): void };
const open = () => FileIncidentStore.open(dir.path, { logger, lockStaleMs: 2000 });

beforeEach(() => {
  dir = tempDir('pim-dedup-');
});
afterEach(() => {
  vi.restoreAllMocks();
  dir.cleanup();
});

/** Holds the next call of `method` on any file until release(); then it fails or runs. */
async function holdNext(method: 'write' | 'datasync', outcome: 'fail' | 'succeed') {
  const probe = await openFile(dir.path, 'r');
  const proto = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const real = proto[method] as (...args: unknown[]) => Promise<unknown>;
  let reached!: () => void;
  let release!: () => void;
  const held = new Promise<void>((r) => (reached = r));
  const gate = new Promise<void>((r) => (release = r));
  vi.spyOn(proto, method).mockImplementationOnce(async function (this: FileHandle, ...args: unknown[]): Promise<any> {
    reached();
    await gate;
    if (outcome === 'fail') throw Object.assign(new Error(`EIO: i/o error, ${method}`), { code: 'EIO' });
    return real.apply(this, args);
  });
  return { held, release };
}

describe('dedup answers while the first incident is being written', () => {
  it('waits for the write, then answers with the incident it wrote', async () => {
    const s = await open();
    const sync = await holdNext('datasync', 'succeed');
    const settled: string[] = [];
    const first = s.create(input(1), 'a').then((r) => (settled.push('first'), r));
    await sync.held; // the first incident is in memory, not yet on disk
    const second = s.create(input(2), 'b').then((r) => (settled.push('second'), r));
    sync.release();
    const [a, b] = await Promise.all([first, second]);
    expect(settled).toEqual(['first', 'second']);
    expect(b).toEqual({ incident: a.incident, deduplicated: true });
    await s.close();
  });

  it.each(['write', 'datasync'] as const)('never names an incident whose %s failed: the repeat creates it instead', async (method) => {
    const s = await open();
    const sync = await holdNext(method, 'fail');
    const first = s.create(input(1), 'a');
    first.catch(() => undefined);
    await sync.held;
    const second = s.create(input(2), 'b');
    sync.release();
    await expect(first).rejects.toThrow(/EIO/);
    const r = await second;
    expect(r.deduplicated).toBe(false);
    expect(r.incident.title).toBe('incident 2');
    await s.close();
    const again = await open();
    expect((await again.list({ limit: 10 })).incidents.map((i) => i.id)).toEqual([r.incident.id]);
    await again.close();
  });

  it('does not trust another process\'s line it read before that write was synced', async () => {
    const writer = await open();
    const reader = await open();
    const sync = await holdNext('datasync', 'fail');
    const first = writer.create(input(1), 'a');
    first.catch(() => undefined);
    await sync.held; // the line is in the journal (the reader can read it), not synced
    const second = reader.create(input(2), 'b');
    sync.release();
    await expect(first).rejects.toThrow(/EIO/);
    const r = await second;
    expect(r.deduplicated).toBe(false);
    expect(await writer.get(r.incident.id)).toEqual(r.incident);
    expect(await writer.count()).toBe(1);
    await writer.close();
    await reader.close();
  });

});

describe('temporary files', () => {
  it('a store opening while another in this process compacts leaves the snapshot being written alone', async () => {
    const a = await open();
    for (let i = 0; i < 3; i++) await a.create(input(i, `k${i}`), 'a');
    const hold = await holdNext('write', 'succeed');
    const compaction = a.compact();
    await hold.held; // the snapshot's temporary file is open and being written
    const tmp = join(dir.path, `incidents.snapshot.tmp-${process.pid}`);
    expect(existsSync(tmp)).toBe(true);
    const b = await open();
    expect(existsSync(tmp)).toBe(true);
    hold.release();
    await compaction;
    expect(existsSync(tmp)).toBe(false);
    expect(existsSync(join(dir.path, 'incidents.snapshot'))).toBe(true);
    expect(await b.count()).toBe(3);
    await b.close();
    await a.close();
  });
});

describe('health', () => {
  it('is not ready after a write failed, and ready again once a write lands', async () => {
    const s = await open();
    await s.create(input(1, 'k1'), 'a');
    expect(await s.health()).toEqual({ ok: true, backend: 'file' });
    const sync = await holdNext('datasync', 'fail');
    const failed = s.create(input(2, 'k2'), 'a');
    failed.catch(() => undefined);
    await sync.held;
    sync.release();
    await expect(failed).rejects.toThrow(/EIO/);
    const h = await s.health();
    expect(h.ok).toBe(false);
    expect(h.error).toMatch(/last write failed: EIO/);
    await s.create(input(3, 'k3'), 'a');
    expect(await s.health()).toEqual({ ok: true, backend: 'file' });
    await s.close();
  });

  it('writes a probe beside the journal: a directory that refuses new files is not ready', async () => {
    const s = await open();
    const probe = join(dir.path, `incidents.probe.tmp-${process.pid}`);
    // a directory where the probe file would go makes its open fail, as a full or read-only disk would
    await import('node:fs/promises').then((fs) => fs.mkdir(probe));
    const h = await s.health();
    expect(h.ok).toBe(false);
    expect(h.error).toMatch(/is not writable/);
    await import('node:fs/promises').then((fs) => fs.rmdir(probe));
    expect(await s.health()).toEqual({ ok: true, backend: 'file' });
    expect(existsSync(probe)).toBe(false);
    await s.close();
  });
});
