// On-disk format of the file store. Both files are text: a JSON header line that says what
// the file is, then one record per line as "<crc32 hex> <json>\n". The CRC tells a torn or
// damaged line from a good one without re-serialising anything.
//
// Version 2 keeps loading cheap: snapshot lines are "<crc32> <index key json>\t<incident json>"
// and journal put lines "<crc32> {"op":"put","key":<index key json>}\t<incident json>", so
// start-up parses only the small key and keeps the incident as bytes until it is read.
// (JSON.stringify never emits a raw tab, so the tab is unambiguous.) Version 1 files, whose
// lines are whole JSON records, are still read, and a version 1 journal is appended to in its
// own form.
import { nodeZlib } from '../builtins.js';
import { StoreError } from '../errors.js';
import { entryFromBytes, entryOf, indexKeyOf, type IndexEntry, type IndexKey } from './memory-index.js';
import { upgradeStored, type Incident } from './model.js';

export const JOURNAL_FORMAT = 'prom-incident-mcp/journal';
export const SNAPSHOT_FORMAT = 'prom-incident-mcp/snapshot';
const VERSIONS: Record<string, number> = { [JOURNAL_FORMAT]: 2, [SNAPSHOT_FORMAT]: 2 };

export interface Header {
  format: string;
  version: number;
  generation: number;
  /**
   * Snapshots: the byte offset in the previous generation's journal up to which this
   * snapshot holds its records (a compaction that stopped before replacing the journal
   * leaves the records after it to replay). Absent in version 1: it holds all of them.
   */
  journal_offset?: number;
  /** Snapshots: how many incidents the file holds (checked on load and before install). */
  count?: number;
}

export type JournalRecord =
  | { op: 'put'; incident: Incident }
  | { op: 'del'; id: string; reason: string };

/** A journal line as loading applies it: a put as an index entry, or a delete. */
export type JournalItem = { op: 'put'; entry: IndexEntry } | { op: 'del'; id: string };

export function headerLine(format: string, generation: number, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ format, version: VERSIONS[format], generation, ...extra })}\n`;
}

function line(body: string): string {
  return `${crc32(body).toString(16).padStart(8, '0')} ${body}\n`;
}

export function recordLine(value: unknown): string {
  return line(JSON.stringify(value));
}

/** A journal line for `rec`, in the form of a journal of `version`. */
export function journalLine(rec: JournalRecord, version: number): string {
  if (version < 2 || rec.op !== 'put') return recordLine(rec);
  return line(`${JSON.stringify({ op: 'put', key: indexKeyOf(rec.incident) })}\t${JSON.stringify(rec.incident)}`);
}

const NL = Buffer.from('\n');

let zlibCrc32: typeof import('node:zlib').crc32 | undefined;
/** node:zlib's, loaded when first used: a new store's start need not pay for it. */
function crc32(data: string | Buffer, initial?: number): number {
  zlibCrc32 ??= nodeZlib().crc32;
  return zlibCrc32(data, initial);
}

/** A version 2 snapshot line, as buffers, from an entry's key JSON and incident JSON bytes. */
export function snapshotLine([key, json]: [string, Buffer]): Buffer[] {
  const head = `${key}\t`;
  const sum = crc32(json, crc32(head)); // the checksum of head + json, without joining them
  return [Buffer.from(`${sum.toString(16).padStart(8, '0')} ${head}`), json, NL];
}

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = i;

/** The line's body (after the checksum) when its checksum is right, else null. */
function checkedBody(buf: Buffer, start: number, end: number): Buffer | null {
  if (end - start < 10 || buf[start + 8] !== 0x20) return null;
  let sum = 0;
  for (let i = start; i < start + 8; i++) {
    const h = HEX[buf[i]!]!;
    if (h < 0) return null;
    sum = sum * 16 + h;
  }
  const body = buf.subarray(start + 9, end);
  return crc32(body) === sum ? body : null;
}

/**
 * Parses the record line in buf[start, end) (without its newline); null when the CRC or the
 * JSON is bad. Works on the bytes, so the checksum needs no re-encoding (this is start-up's
 * hot loop).
 */
export function parseRecordAt(buf: Buffer, start: number, end: number): unknown {
  const body = checkedBody(buf, start, end);
  if (body === null) return null;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
}

/**
 * Parses a journal line of either form; a version 2 put becomes an entry whose incident stays
 * in `buf`. A line that is intact but not a record this server knows throws.
 */
export function parseJournalAt(buf: Buffer, start: number, end: number, path: string): JournalItem | null {
  const body = checkedBody(buf, start, end);
  if (body === null) return null;
  // searched within the line: a version 1 line has no tab, and an unbounded search would
  // scan to the end of the file for every line
  const rel = body.indexOf(0x09);
  const tab = rel === -1 ? -1 : start + 9 + rel;
  try {
    if (tab !== -1) {
      const head = JSON.parse(buf.toString('utf8', start + 9, tab)) as { op?: string; key?: IndexKey };
      if (head.op === 'put' && Array.isArray(head.key)) return { op: 'put', entry: entryFromBytes(head.key, buf, tab + 1, end) };
    } else {
      const rec: unknown = JSON.parse(body.toString('utf8'));
      if (isRecord(rec)) return rec.op === 'put' ? { op: 'put', entry: entryOf(upgradeStored(rec.incident)) } : { op: 'del', id: rec.id };
    }
  } catch {
    // an intact line that is not JSON: reported below like any unknown record
  }
  throw new StoreError(`${path} holds a record this server does not understand (at byte ${start}); upgrade the server`);
}

/** Parses a version 2 snapshot line into an index entry whose incident stays in `buf`. */
export function parseSnapshotEntryAt(buf: Buffer, start: number, end: number): IndexEntry | null {
  if (checkedBody(buf, start, end) === null) return null;
  const tab = buf.indexOf(0x09, start + 9);
  if (tab === -1 || tab >= end) return null;
  try {
    return entryFromBytes(JSON.parse(buf.toString('utf8', start + 9, tab)) as IndexKey, buf, tab + 1, end);
  } catch {
    return null;
  }
}

/** Parses and checks a header line; throws StoreError when the file is not ours. */
export function parseHeader(line: string, format: string, path: string): Header {
  let h: unknown;
  try {
    h = JSON.parse(line);
  } catch {
    h = null;
  }
  const ok =
    typeof h === 'object' &&
    h !== null &&
    (h as Header).format === format &&
    Number.isInteger((h as Header).generation) &&
    (h as Header).generation >= 0;
  if (!ok) {
    throw new StoreError(
      `${path} is not a prom-incident-mcp ${format.split('/')[1]} file (its first line is ${JSON.stringify(line.slice(0, 80))}); ` +
        'refusing to start so it is not overwritten. Move it away or set DATA_DIR to another directory.',
    );
  }
  const known = VERSIONS[format]!;
  const version = (h as Header).version;
  if (!Number.isInteger(version) || version < 1 || version > known) {
    throw new StoreError(`${path} has format version ${version}; this server reads versions up to ${known}. Upgrade the server.`);
  }
  return h as Header;
}

export function isRecord(v: unknown): v is JournalRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  if (r.op === 'put') return typeof (r.incident as Incident | undefined)?.id === 'string';
  if (r.op === 'del') return typeof r.id === 'string';
  return false;
}

export interface ScanResult<T = unknown> {
  /** records in file order */
  records: T[];
  /** bytes up to the end of the last good line */
  goodEnd: number;
  /** bytes after goodEnd that are not a good line (a torn write, or a write in progress) */
  tailBytes: number;
}

/**
 * Scans record lines in `buf` starting at byte `from`. A bad line followed by a good one is
 * corruption and throws; bad bytes only at the end are a tail the caller decides about.
 */
export function scanRecords<T = unknown>(
  buf: Buffer,
  from: number,
  path: string,
  baseOffset = 0,
  parse: (buf: Buffer, start: number, end: number) => T | null = parseRecordAt as (buf: Buffer, start: number, end: number) => T | null,
): ScanResult<T> {
  const records: T[] = [];
  let pos = from;
  let goodEnd = from;
  let badAt = -1;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl === -1) break;
    const parsed = parse(buf, pos, nl);
    if (parsed === null) {
      if (badAt === -1) badAt = pos;
    } else {
      if (badAt !== -1) {
        throw new StoreError(
          `${path} is damaged at byte ${baseOffset + badAt}: a record there fails its checksum but later records are intact. ` +
            'Refusing to start so nothing is overwritten; restore the file from a backup or move it away.',
        );
      }
      records.push(parsed);
      goodEnd = nl + 1;
    }
    pos = nl + 1;
  }
  return { records, goodEnd, tailBytes: buf.length - goodEnd };
}

/**
 * What the bytes after the last good line are. An append that a crash interrupted leaves a
 * prefix of a line: the start of its checksum, maybe its body, and zeros where the file grew
 * before the data reached the disk, but never a newline (a record's newline comes last).
 * Anything else there (a whole line that fails its checksum, bytes that cannot start a
 * record) is damage to records that may have been acknowledged.
 */
export function tailKind(tail: Buffer): 'torn' | 'damaged' {
  if (tail.includes(0x0a)) return 'damaged';
  const zeroFrom = tail.indexOf(0);
  const written = zeroFrom === -1 ? tail : tail.subarray(0, zeroFrom);
  for (let i = written.length; i < tail.length; i++) if (tail[i] !== 0) return 'damaged';
  return looksLikeLineStart(written) ? 'torn' : 'damaged';
}

/** Whether `bytes` can begin a record line: up to 8 hex digits, then a space and the start of a JSON object. */
function looksLikeLineStart(bytes: Buffer): boolean {
  for (let i = 0; i < Math.min(bytes.length, 8); i++) if (HEX[bytes[i]!]! < 0) return false;
  if (bytes.length > 8 && bytes[8] !== 0x20) return false;
  if (bytes.length > 9 && bytes[9] !== 0x7b) return false;
  return true;
}
