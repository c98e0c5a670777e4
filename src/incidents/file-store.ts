// The embedded incident store: an append-only journal in DATA_DIR, compacted now and then
// into a snapshot. Each write appends one line and fsyncs it before it is acknowledged, so
// its cost does not grow with the number of incidents. Several processes may share one
// DATA_DIR: writes take a proper-lockfile lock and first read what others appended; reads
// catch up without the lock.
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { access, constants, mkdir, open, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { NotFoundError, StoreError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import {
  JOURNAL_FORMAT,
  SNAPSHOT_FORMAT,
  headerLine,
  journalLine,
  parseHeader,
  parseJournalAt,
  parseRecordAt,
  parseSnapshotEntryAt,
  scanRecords,
  snapshotLine,
  tailKind,
  type Header,
  type JournalItem,
  type JournalRecord,
} from './journal-format.js';
import { diskProblem, errnoOf, writeFailure } from './disk-errors.js';
import { applyUpdate, notFoundMessage, type IncidentUpdate, type UpdateResult } from './lifecycle.js';
import { MemoryIndex, entryOf, entryParts, type IndexEntry } from './memory-index.js';
import { STATUSES, buildIncident, newIncidentId, upgradeStored, type Incident, type NewIncident, type Status } from './model.js';
import type {
  CreateResult,
  ImportResult,
  IncidentStore,
  ListPage,
  ListQuery,
  StoreHealth,
  StoreStats,
} from './store.js';

export interface FileStoreOptions {
  logger: Logger;
  /** compact when the journal holds more records than this (default 10,000) */
  compactAfter?: number;
  /** ms after which another process's lock counts as abandoned (proper-lockfile's stale) */
  lockStaleMs?: number;
  now?: () => Date;
}

interface Loaded {
  index: MemoryIndex;
  generation: number;
  /** the journal's format version: appends use its form */
  journalVersion: number;
  journalIno: number;
  offset: number;
  tailBytes: number;
  journalRecords: number;
  /**
   * The journal predates the snapshot (a compaction stopped half-way, or is about to replace
   * it): a writer replaces it, carrying over its records from byte `carryFrom` on, which the
   * snapshot does not hold.
   */
  stale: boolean;
  carryFrom: number;
}

interface BatchWaiter {
  build: () => JournalRecord[];
  resolve(records: JournalRecord[]): void;
  reject(err: unknown): void;
}

const JOURNAL = 'incidents.journal';
const SNAPSHOT = 'incidents.snapshot';
const LOCK = 'incidents.lock';
/** `<journal or snapshot>.tmp-<pid>`: what a journal switch or a compaction writes before its rename; `probe`: the readiness probe */
const TMP_RE = /^incidents\.(journal|snapshot|probe)\.tmp-(\d+)$/;
/** snapshot temporaries this process is writing (another store here must not remove them) */
const writingTmp = new Set<string>();

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false; // an earlier process with our pid (containers reuse them)
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function firstLine(buf: Buffer, path: string): { line: string; end: number } {
  const nl = buf.indexOf(0x0a);
  if (nl === -1) {
    throw new StoreError(`${path} has no complete header line; refusing to start so it is not overwritten. Move it away.`);
  }
  return { line: buf.toString('utf8', 0, nl), end: nl + 1 };
}

function apply(index: MemoryIndex, item: JournalItem): void {
  if (item.op === 'put') index.putEntry(item.entry);
  else index.delete(item.id);
}

/** A version 1 snapshot line: a whole incident. */
function parseV1SnapshotEntryAt(buf: Buffer, start: number, end: number): IndexEntry | null {
  const inc = parseRecordAt(buf, start, end) as Incident | null;
  return inc === null ? null : entryOf(upgradeStored(inc));
}

/** Records per append for bulk writes (import, retention): one fsync each. */
const BATCH = 1000;

const STARTUP_REFUSAL = 'refusing to start so nothing is overwritten. Restore it from a backup.';

/**
 * Reads a snapshot whole and checks it against its own header: every line intact and as many
 * incidents as the header lists. Snapshots are written whole and renamed into place, so any
 * shortfall is damage (or a write that lost bytes), never a torn write to be cut off.
 */
function readSnapshot(path: string, consequence = STARTUP_REFUSAL): { header: Header; entries: IndexEntry[] } {
  const buf = readFileSync(path);
  const { line, end } = firstLine(buf, path);
  const header = parseHeader(line, SNAPSHOT_FORMAT, path);
  const scan = scanRecords(buf, end, path, 0, header.version >= 2 ? parseSnapshotEntryAt : parseV1SnapshotEntryAt);
  if (scan.tailBytes > 0) {
    throw new StoreError(`${path} is damaged at byte ${scan.goodEnd}; ${consequence}`);
  }
  if (header.count !== undefined && scan.records.length !== header.count) {
    throw new StoreError(
      `${path} holds ${scan.records.length} of the ${header.count} incidents its header lists; ${consequence}`,
    );
  }
  return { header, entries: scan.records };
}

/** Writes all of `data` at `position`: one call may write only part of it (a disk that is nearly full). */
async function writeFully(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await fh.write(data, written, data.length - written, position + written);
    if (bytesWritten === 0) throw Object.assign(new Error('ENOSPC: the write made no progress'), { code: 'ENOSPC' });
    written += bytesWritten;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How long to wait for another process's lock: about 20 s in all, in growing, randomised steps. */
const LOCK_WAIT = { attempts: 400, firstMs: 2, maxMs: 50, factor: 1.3 };

/** After a failed compaction (a full disk, say), the next automatic one waits this long. */
const COMPACTION_RETRY_MS = 30_000;

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class FileIncidentStore implements IncidentStore {
  readonly journalPath: string;
  readonly snapshotPath: string;
  private readonly lockPath: string;
  private readonly log: Logger;
  private readonly compactAfter: number;
  private readonly lockStaleMs: number;
  private readonly now: () => Date;

  private current!: Loaded;
  /** the journal we track, held open: identity is its inode, which must not be freed and reused */
  private pinFd = -1;
  /** set when proper-lockfile reports the lock held now was compromised; reset at each lock */
  private lockLost = false;
  private compactionPending = false;
  /** no automatic compaction before this time (epoch ms): set when one fails */
  private compactionRetryAt = 0;
  private pinIno = -1;

  private get state(): Loaded {
    return this.current;
  }

  private set state(next: Loaded) {
    this.current = next;
    if (next.journalIno === this.pinIno) return;
    this.unpin();
    try {
      const fd = openSync(this.journalPath, 'r');
      if (fstatSync(fd).ino === next.journalIno) {
        this.pinFd = fd;
        this.pinIno = next.journalIno;
      } else closeSync(fd); // replaced meanwhile: the next refresh sees it and reloads
    } catch {
      // no journal yet; it is pinned once created
    }
  }

  private unpin(): void {
    if (this.pinFd !== -1) closeSync(this.pinFd);
    this.pinFd = -1;
    this.pinIno = -1;
  }
  private fh: FileHandle | null = null;
  private fhIno = -1;
  /** serialises this process's writes; the file lock serialises processes */
  private queue: Promise<unknown> = Promise.resolve();
  /** appends waiting for the next group commit */
  private batch: BatchWaiter[] = [];
  private batchQueued = false;
  /** group commits so far (each one lock, one write, one fdatasync) */
  commits = 0;
  private compaction: Promise<void> | null = null;
  private closed = false;
  /** why the last commit failed, until one succeeds (a full disk is not ready) */
  private lastWriteError: string | null = null;
  /** ids the commit in progress put in the index before they are on disk */
  private readonly pending = new Set<string>();
  /**
   * The journal (inode, offset) that was last read or written under the lock: everything up
   * to it is on disk. A lock-free read may go further, into another process's unsynced write.
   */
  private durable = { ino: -1, offset: 0 };
  /** a failed write could not be rolled back in memory: reload before the next one */
  private reloadBeforeWrite = false;

  private constructor(
    readonly dir: string,
    opts: FileStoreOptions,
  ) {
    this.journalPath = join(dir, JOURNAL);
    this.snapshotPath = join(dir, SNAPSHOT);
    this.lockPath = join(dir, LOCK);
    this.log = opts.logger;
    this.compactAfter = opts.compactAfter ?? 10_000;
    this.lockStaleMs = opts.lockStaleMs ?? 5_000;
    this.now = opts.now ?? (() => new Date());
  }

  /** Whether `dir` holds a store (for commands that should not create one by mistake). */
  static existsIn(dir: string): boolean {
    return exists(join(dir, JOURNAL)) || exists(join(dir, SNAPSHOT));
  }

  /** Opens (or creates) the store in `dir`; throws StoreError when its files are unusable. */
  static async open(dir: string, opts: FileStoreOptions): Promise<FileIncidentStore> {
    const store = new FileIncidentStore(dir, opts);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new StoreError(`cannot create DATA_DIR ${dir}: ${messageOf(err)}`);
    }
    const started = performance.now();
    try {
      await store.withLock(async () => {
        await store.removeLeftovers();
        store.state = store.loadAll();
        await store.ensureJournal();
      });
    } catch (err) {
      const problem = diskProblem(err, dir);
      throw problem === null ? err : new StoreError(`cannot open the incident store: ${problem}`);
    }
    opts.logger.info(
      { dir, incidents: store.state.index.size, ms: Math.round(performance.now() - started) },
      'incident store loaded',
    );
    if (store.needsCompaction()) store.scheduleCompaction();
    return store;
  }

  /**
   * Removes temporary files that a killed process left (only a finally block removes them
   * otherwise). Under the lock: a journal's temporary is only written under it; a snapshot's
   * is written without it, so it goes only when its process is gone.
   */
  private async removeLeftovers(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      const m = TMP_RE.exec(name);
      if (!m) continue;
      const path = join(this.dir, name);
      // a live process's snapshot or readiness probe is in use (a journal's tmp is only renamed under the lock)
      if (m[1] !== 'journal' && (writingTmp.has(path) || isAlive(Number(m[2])))) continue;
      await rm(path, { force: true });
      this.log.warn({ file: path }, 'removed a temporary file left by an interrupted journal switch or compaction');
    }
  }

  // ---- reading ---------------------------------------------------------------------------

  /** Reads the snapshot and the journal from scratch. */
  private loadAll(): Loaded {
    // Collect the live entries first and build the indexes once at the end: replaying each
    // record into sorted indexes would cost O(n) per record.
    const live = new Map<string, IndexEntry>();
    const index = new MemoryIndex();
    const done = (l: Omit<Loaded, 'index' | 'stale' | 'carryFrom' | 'journalVersion'> & Partial<Loaded>): Loaded => {
      index.load(live);
      return { index, stale: false, carryFrom: 0, journalVersion: 2, ...l };
    };
    let generation = 0;
    let coveredTo = Number.POSITIVE_INFINITY;
    if (exists(this.snapshotPath)) {
      const { header, entries } = readSnapshot(this.snapshotPath);
      generation = header.generation;
      coveredTo = header.journal_offset ?? coveredTo;
      for (const e of entries) live.set(e.id, e);
    }
    if (!exists(this.journalPath)) {
      if (generation > 0) {
        throw new StoreError(`${this.journalPath} is missing although ${this.snapshotPath} exists; restore it or move both away.`);
      }
      return done({ generation, journalIno: -1, offset: 0, tailBytes: 0, journalRecords: 0 });
    }
    const fd = openSync(this.journalPath, 'r');
    try {
      const ino = fstatSync(fd).ino;
      const buf = readFileSync(fd);
      const { line, end } = firstLine(buf, this.journalPath);
      const jheader = parseHeader(line, JOURNAL_FORMAT, this.journalPath);
      const jgen = jheader.generation;
      if (jgen > generation) {
        throw new StoreError(
          `${this.journalPath} (generation ${jgen}) is newer than ${this.snapshotPath} (generation ${generation}); the snapshot is missing or old. Restore it or move both away.`,
        );
      }
      // A journal older than the snapshot: the snapshot holds its records up to coveredTo;
      // replay the rest (written while the snapshot was being made).
      const stale = jgen < generation;
      const from = stale ? Math.min(Math.max(end, coveredTo), buf.length) : end;
      const scan = scanRecords(buf, from, this.journalPath, 0, (b, s, e) => parseJournalAt(b, s, e, this.journalPath));
      this.refuseDamagedTail(buf.subarray(scan.goodEnd), scan.goodEnd);
      for (const r of scan.records) {
        if (r.op === 'put') live.set(r.entry.id, r.entry);
        else live.delete(r.id);
      }
      return done({
        generation,
        journalVersion: jheader.version,
        journalIno: ino,
        offset: scan.goodEnd,
        tailBytes: scan.tailBytes,
        journalRecords: scan.records.length,
        stale,
        carryFrom: from,
      });
    } finally {
      closeSync(fd);
    }
  }

  /** Throws when the bytes after the journal's last good line are damage rather than a torn append. */
  private refuseDamagedTail(tail: Buffer, at: number): void {
    if (tail.length === 0 || tailKind(tail) === 'torn') return;
    throw new StoreError(
      `${this.journalPath} is damaged at byte ${at}: its last ${tail.length} bytes are not records, and not an append a crash cut short. ` +
        `Refusing to use it so nothing is overwritten; restore the file from a backup, or keep a copy and cut it at byte ${at} to drop what is there.`,
    );
  }

  /**
   * Brings memory up to date with what other processes wrote. Cheap when nothing changed
   * (one stat). Without the lock it only reads; a damaged tail is left for a writer to judge.
   */
  private refresh(locked: boolean): void {
    let st;
    try {
      st = statSync(this.journalPath);
    } catch {
      return; // created by the first write
    }
    if (st.ino !== this.state.journalIno) {
      this.reloadConsistent(locked);
      return;
    }
    if (st.size === this.state.offset + this.state.tailBytes) return;
    if (st.size < this.state.offset) {
      this.reloadConsistent(locked);
      return;
    }
    const len = st.size - this.state.offset;
    const buf = Buffer.alloc(len);
    const fd = openSync(this.journalPath, 'r');
    let got = 0;
    try {
      if (fstatSync(fd).ino !== this.state.journalIno) {
        this.reloadConsistent(locked);
        return;
      }
      while (got < len) {
        const n = readSync(fd, buf, got, len - got, this.state.offset + got);
        if (n === 0) break;
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    let scan;
    try {
      scan = scanRecords(buf.subarray(0, got), 0, this.journalPath, this.state.offset, (b, s, e) => parseJournalAt(b, s, e, this.journalPath));
    } catch (err) {
      if (locked) throw err;
      this.log.warn({ err: messageOf(err) }, 'journal looks damaged; will check again under the lock');
      return;
    }
    for (const r of scan.records) {
      apply(this.state.index, r);
      this.state.journalRecords++;
    }
    this.state.offset += scan.goodEnd;
    this.state.tailBytes = scan.tailBytes;
  }

  /** Full reload after another process compacted; retried because it may be mid-compaction. */
  private reloadConsistent(locked: boolean): void {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const loaded = this.loadAll();
        if (loaded.stale && !locked) continue;
        this.state = loaded;
        return;
      } catch (err) {
        if (locked || attempt === 4) throw err;
      }
    }
  }

  // ---- writing ---------------------------------------------------------------------------

  /**
   * Takes the cross-process lock, waiting only while another process holds it: a directory
   * the server may not write in fails at once, naming it, instead of looking like a lock.
   */
  private async acquireLock(): Promise<() => Promise<void>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await lockfile.lock(this.dir, {
          lockfilePath: this.lockPath,
          realpath: false,
          stale: this.lockStaleMs,
          retries: 0,
          onCompromised: (err) => {
            this.lockLost = true;
            this.log.error({ err: messageOf(err) }, 'incident store lock was compromised');
          },
        });
      } catch (err) {
        if (errnoOf(err) !== 'ELOCKED') throw err; // the directory's problem: callers say what it means for them
        if (attempt >= LOCK_WAIT.attempts) {
          throw new StoreError(`the incident store in ${this.dir} is locked by another process and the lock was not released (${messageOf(err)})`);
        }
        const ms = Math.min(LOCK_WAIT.maxMs, LOCK_WAIT.firstMs * LOCK_WAIT.factor ** attempt);
        await sleep(ms * (1 + Math.random()));
      }
    }
  }

  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquireLock();
    this.lockLost = false;
    try {
      const out = await fn();
      // with the lock lost, another process may be writing what was just read
      if (!this.lockLost) this.durable = { ino: this.state.journalIno, offset: this.state.offset };
      return out;
    } finally {
      await release().catch((err: unknown) => this.log.warn({ err: messageOf(err) }, 'releasing store lock failed'));
    }
  }

  /** Runs fn in this process's write queue, holding the cross-process lock. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new StoreError('the incident store is closed');
      return this.withLock(fn);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Creates the journal for the current generation if it is missing or stale, carrying over
   * a stale journal's records that the snapshot does not hold. Under the lock.
   */
  private async ensureJournal(): Promise<void> {
    if (this.state.journalIno !== -1 && !this.state.stale) return;
    const header = Buffer.from(headerLine(JOURNAL_FORMAT, this.state.generation));
    let carried = Buffer.alloc(0);
    if (this.state.stale && this.state.carryFrom < this.state.offset) {
      carried = Buffer.alloc(this.state.offset - this.state.carryFrom);
      const fd = openSync(this.journalPath, 'r');
      try {
        let got = 0;
        while (got < carried.length) {
          const n = readSync(fd, carried, got, carried.length - got, this.state.carryFrom + got);
          if (n === 0) throw new StoreError(`${this.journalPath} shrank while it was being replaced; retry`);
          got += n;
        }
      } finally {
        closeSync(fd);
      }
    }
    const tmp = `${this.journalPath}.tmp-${process.pid}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(Buffer.concat([header, carried]));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.journalPath);
    await fsyncDir(this.dir);
    this.state = {
      index: this.state.index,
      generation: this.state.generation,
      journalVersion: 2,
      journalIno: statSync(this.journalPath).ino,
      offset: header.length + carried.length,
      tailBytes: 0,
      journalRecords: this.state.stale ? this.state.journalRecords : 0,
      stale: false,
      carryFrom: 0,
    };
  }

  private async handle(): Promise<FileHandle> {
    if (this.fh && this.fhIno === this.state.journalIno) return this.fh;
    await this.fh?.close();
    this.fh = await open(this.journalPath, 'r+');
    this.fhIno = (await this.fh.stat()).ino;
    if (this.fhIno !== this.state.journalIno) {
      throw new StoreError('the journal changed while it was being opened; retry the call');
    }
    return this.fh;
  }

  /**
   * Appends records durably, with group commit: appends that arrive while a write is in
   * progress are queued and then committed together, one lock, one write, one fdatasync for
   * the lot, so concurrent writers do not each pay for the disk. Each build runs in turn
   * under the lock and sees what the builds before it produced.
   */
  private append(build: () => JournalRecord[]): Promise<JournalRecord[]> {
    return new Promise((resolve, reject) => {
      this.batch.push({ build, resolve, reject });
      if (this.batchQueued) return;
      this.batchQueued = true;
      this.exclusive(() => this.commitBatch().finally(() => this.pending.clear()))
        .catch((err: unknown) => {
          // the lock could not be had (or the store closed): fail whoever is still waiting
          this.batchQueued = false;
          for (const w of this.batch.splice(0)) w.reject(writeFailure(err, this.dir));
        })
        .finally(() => {
          if (this.needsCompaction()) this.scheduleCompaction();
        });
    });
  }

  /**
   * Under the lock: cuts off what an append that a crash interrupted left after the last good
   * line; damage there is refused, never cut.
   */
  private async cutTornTail(fh: FileHandle): Promise<void> {
    const { offset, tailBytes } = this.state;
    if (tailBytes === 0) return;
    const tail = Buffer.alloc(tailBytes);
    const { bytesRead } = await fh.read(tail, 0, tailBytes, offset);
    this.refuseDamagedTail(tail.subarray(0, bytesRead), offset);
    this.log.warn(
      { file: this.journalPath, at: offset, bytes: bytesRead },
      'cutting off the start of a record after the last complete one: an append that a crash interrupted before it was acknowledged',
    );
    await fh.truncate(offset);
    this.state.tailBytes = 0;
  }

  /** Under the lock: catch up, drop a torn tail left by a crashed writer, append, fsync. */
  private async commitBatch(): Promise<void> {
    this.batchQueued = false;
    const waiters = this.batch.splice(0);
    let fh: FileHandle;
    try {
      if (this.reloadBeforeWrite) {
        this.state = this.loadAll();
        this.reloadBeforeWrite = false;
      }
      this.refresh(true);
      await this.ensureJournal();
      fh = await this.handle();
      await this.cutTornTail(fh);
    } catch (err) {
      for (const w of waiters) w.reject(writeFailure(err, this.dir));
      return;
    }
    const done: { w: BatchWaiter; records: JournalRecord[] }[] = [];
    for (const w of waiters) {
      try {
        const records = w.build();
        // Applied now so the next build sees it (unique ids, increasing times, dedup keys).
        // Lock-free readers may see it before the fsync; create's dedup shortcut must not.
        for (const r of records) {
          if (r.op === 'put') {
            this.state.index.put(r.incident);
            this.pending.add(r.incident.id);
          } else this.state.index.delete(r.id);
        }
        done.push({ w, records });
      } catch (err) {
        w.reject(err);
      }
    }
    const records = done.flatMap((d) => d.records);
    if (records.length > 0 && this.lockLost) {
      // another process may hold the lock now: writing could interleave with its appends
      const err = new StoreError('the incident store lock was lost while this write waited; nothing was written, retry the call');
      try {
        this.state = this.loadAll();
      } catch {
        this.reloadBeforeWrite = true;
      }
      for (const d of done) d.w.reject(err);
      return;
    }
    if (records.length > 0) {
      this.commits++;
      const data = Buffer.from(records.map((r) => journalLine(r, this.state.journalVersion)).join(''));
      const at = this.state.offset;
      try {
        await writeFully(fh, data, at);
        await fh.datasync();
        this.lastWriteError = null;
      } catch (err) {
        this.lastWriteError = messageOf(err);
        // Nothing was acknowledged: cut off what may have reached the file, then go back to
        // what the files say (else a retry of these creates would make duplicates).
        try {
          await fh.truncate(at);
          this.state = this.loadAll();
        } catch (reloadErr) {
          this.reloadBeforeWrite = true;
          this.log.error({ err: messageOf(reloadErr) }, 'reloading the store after a failed write failed');
        }
        for (const d of done) d.w.reject(writeFailure(err, this.dir));
        return;
      }
      // A lock-free refresh may have read these lines while we waited for the disk.
      if (this.state.offset < at + data.length) {
        this.state.offset = at + data.length;
        this.state.journalRecords += records.length;
      }
    }
    for (const d of done) d.w.resolve(d.records);
  }

  private needsCompaction(): boolean {
    // Replaying a journal record at start-up costs several times loading a snapshot entry, so
    // the journal is kept short whatever the store's size; compaction does not block writers.
    return !this.closed && this.state.journalRecords > this.compactAfter && Date.now() >= this.compactionRetryAt;
  }

  private scheduleCompaction(): void {
    // set at once, so writes in the same tick do not queue a second one
    if (this.compaction || this.compactionPending || this.closed) return;
    this.compactionPending = true;
    void new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        this.compactionPending = false;
        return this.closed ? undefined : this.compact();
      })
      .catch((err: unknown) => {
        // a full disk fails every attempt: do not write a snapshot's worth on every append
        this.compactionRetryAt = Date.now() + COMPACTION_RETRY_MS;
        this.log.error(
          { err: messageOf(err), retryInSeconds: COMPACTION_RETRY_MS / 1000 },
          'journal compaction failed; the journal and the old snapshot are untouched, nothing is lost',
        );
      });
  }

  /** Compacts now; one compaction at a time per process (a call during one waits, then runs). */
  compact(): Promise<void> {
    const run = (this.compaction ?? Promise.resolve()).catch(() => undefined).then(() => this.compactNow());
    const tracked = run.finally(() => {
      if (this.compaction === tracked) this.compaction = null;
    });
    tracked.catch(() => undefined); // the caller of run sees the error
    this.compaction = tracked;
    return run;
  }

  /**
   * Writes the snapshot of generation `gen` to `tmp`, syncs it and reads it back: only a file
   * that holds every entry its header lists may replace anything.
   */
  private async writeSnapshot(tmp: string, gen: number, cap: { offset: number; entries: readonly IndexEntry[] }): Promise<void> {
    const fh = await open(tmp, 'w', 0o600);
    try {
      const header = { count: cap.entries.length, journal_offset: cap.offset, written_at: this.now().toISOString() };
      let chunk: Buffer[] = [Buffer.from(headerLine(SNAPSHOT_FORMAT, gen, header))];
      let size = 0;
      let at = 0;
      const flush = async () => {
        const data = Buffer.concat(chunk);
        await writeFully(fh, data, at);
        at += data.length;
        chunk = [];
        size = 0;
      };
      for (const e of cap.entries) {
        for (const b of snapshotLine(entryParts(e))) {
          chunk.push(b);
          size += b.length;
        }
        if (size > 1 << 20) await flush();
      }
      await flush();
      await fh.sync();
    } finally {
      await fh.close();
    }
    readSnapshot(tmp, 'it was not installed: the old snapshot and the journal are untouched, and hold every incident.');
  }

  /**
   * Writes every live incident into a new snapshot and starts the journal of the next
   * generation. The snapshot is written without the lock, from a copy of the (immutable)
   * entries taken under it, so writers do not wait for it; its header records the journal
   * offset it covers. Installing it takes the lock again: snapshot first, then the new journal
   * with the records appended meanwhile. A crash in between leaves a stale journal, whose
   * records after that offset loading replays.
   */
  private async compactNow(): Promise<void> {
    const started = performance.now();
    const cap = await this.exclusive(async () => {
      this.refresh(true);
      await this.ensureJournal();
      const s = this.state;
      return { generation: s.generation, ino: s.journalIno, offset: s.offset, records: s.journalRecords, entries: s.index.entries() };
    });
    const gen = cap.generation + 1;
    const tmp = `${this.snapshotPath}.tmp-${process.pid}`;
    writingTmp.add(tmp);
    try {
      await this.writeSnapshot(tmp, gen, cap);
      const installed = await this.exclusive(async () => {
        this.refresh(true);
        if (this.state.generation !== cap.generation || this.state.journalIno !== cap.ino) return false; // another process compacted
        await rename(tmp, this.snapshotPath);
        await fsyncDir(this.dir);
        this.state.generation = gen;
        this.state.stale = true;
        this.state.carryFrom = cap.offset;
        this.state.journalRecords -= cap.records;
        await this.ensureJournal();
        return true;
      });
      if (!installed) return;
    } finally {
      await rm(tmp, { force: true });
      writingTmp.delete(tmp);
    }
    this.log.info(
      { incidents: cap.entries.length, generation: gen, ms: Math.round(performance.now() - started) },
      'incident journal compacted into a snapshot',
    );
  }

  // ---- the IncidentStore contract --------------------------------------------------------

  async create(input: NewIncident, by: string): Promise<CreateResult> {
    if (input.dedup_key !== undefined) {
      // A retry's fast path: no lock when the incident is already there and on disk. Else the
      // write queue decides, after the commit that is writing it succeeded or was rolled back.
      this.refresh(false);
      const dup = this.activeWithKey(input.dedup_key);
      if (dup && this.isDurable(dup.id)) return { incident: dup, deduplicated: true };
    }
    let result!: CreateResult;
    await this.append(() => {
      const dup = input.dedup_key === undefined ? undefined : this.activeWithKey(input.dedup_key);
      if (dup) {
        result = { incident: dup, deduplicated: true };
        return [];
      }
      let id = newIncidentId();
      while (this.state.index.has(id)) id = newIncidentId();
      // Strictly increasing creation times keep "newest first" equal to creation order,
      // even for creates in the same millisecond or from another process.
      const at = Math.max(this.now().getTime(), this.state.index.newestCreatedMs() + 1);
      result = { incident: buildIncident(input, id, new Date(at), by), deduplicated: false };
      return [{ op: 'put', incident: result.incident }];
    });
    return result;
  }

  /** Whether the index's entry for `id` is known to be on disk (see `durable`). */
  private isDurable(id: string): boolean {
    const s = this.state;
    return !this.pending.has(id) && !this.reloadBeforeWrite && s.journalIno === this.durable.ino && s.offset <= this.durable.offset;
  }

  private activeWithKey(key: string): Incident | undefined {
    const id = this.state.index.activeWithDedupKey(key);
    return id === undefined ? undefined : this.state.index.get(id);
  }

  async get(id: string): Promise<Incident | null> {
    this.refresh(false);
    return this.state.index.get(id) ?? null;
  }

  async update(id: string, patch: IncidentUpdate, by: string): Promise<UpdateResult> {
    let result!: UpdateResult;
    await this.append(() => {
      const cur = this.state.index.get(id);
      if (!cur) throw new NotFoundError(notFoundMessage(id));
      result = applyUpdate(cur, patch, by, this.now(), (key) => this.state.index.activeWithDedupKey(key));
      return result.changes.length > 0 ? [{ op: 'put', incident: result.incident }] : [];
    });
    return result;
  }

  async purgeClosed(cutoffMs: number): Promise<{ resolved: number; cancelled: number }> {
    const removed = { resolved: 0, cancelled: 0 };
    await this.append(() =>
      this.state.index.closedBefore(cutoffMs).map((e): JournalRecord => {
        removed[e.status as 'resolved' | 'cancelled']++;
        return { op: 'del', id: e.id, reason: 'retention' };
      }),
    );
    return removed;
  }

  async *exportAll(): AsyncIterable<Incident[]> {
    this.refresh(false);
    const all = [...this.state.index.values()];
    for (let i = 0; i < all.length; i += BATCH) yield all.slice(i, i + BATCH);
  }

  async importMany(incidents: readonly Incident[]): Promise<ImportResult> {
    const result: ImportResult = { added: 0, skipped: 0 };
    for (let i = 0; i < incidents.length; i += BATCH) {
      const batch = incidents.slice(i, i + BATCH);
      await this.append(() => {
        const ids = new Set<string>();
        const keys = new Set<string>();
        const records: JournalRecord[] = [];
        for (const inc of batch) {
          const key = inc.status === 'active' ? inc.dedup_key : null;
          const known = this.state.index.has(inc.id) || ids.has(inc.id);
          if (known || (key !== null && (keys.has(key) || this.state.index.activeWithDedupKey(key)))) {
            result.skipped++;
            continue;
          }
          ids.add(inc.id);
          if (key !== null) keys.add(key);
          records.push({ op: 'put', incident: inc });
          result.added++;
        }
        return records;
      });
    }
    return result;
  }

  async list(query: ListQuery): Promise<ListPage> {
    this.refresh(false);
    return this.state.index.list(query);
  }

  async count(): Promise<number> {
    this.refresh(false);
    return this.state.index.size;
  }

  async stats(): Promise<StoreStats> {
    this.refresh(false);
    const counts = this.state.index.countBy('status');
    const byStatus = Object.fromEntries(STATUSES.map((s) => [s, counts.get(s) ?? 0])) as Record<Status, number>;
    return { total: this.state.index.size, byStatus };
  }

  /**
   * Writable means a write would land now: permissions alone say nothing of a full disk or a
   * read-only remount, so a few bytes are written and synced beside the journal, and the
   * last failed commit counts until a commit succeeds.
   */
  async health(): Promise<StoreHealth> {
    if (this.closed) return { ok: false, backend: 'file', error: 'the store is closed' };
    if (this.lastWriteError !== null) return { ok: false, backend: 'file', error: `the last write failed: ${this.lastWriteError}` };
    const probe = join(this.dir, `incidents.probe.tmp-${process.pid}`);
    try {
      await access(this.journalPath, constants.R_OK | constants.W_OK);
      const fh = await open(probe, 'w');
      try {
        await fh.write('ready\n');
        await fh.datasync();
      } finally {
        await fh.close();
      }
      return { ok: true, backend: 'file' };
    } catch (err) {
      return { ok: false, backend: 'file', error: `${this.dir} is not writable: ${messageOf(err)}` };
    } finally {
      await unlink(probe).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.compaction?.catch(() => undefined);
    await this.queue;
    this.closed = true;
    await this.fh?.close();
    this.fh = null;
    this.unpin();
  }
}
