// On-disk format of the file store. Both files are text: a JSON header line that says what
// the file is, then one record per line as "<crc32 hex> <json>\n". The CRC tells a torn or
// damaged line from a good one without re-serialising anything.
import { crc32 } from 'node:zlib';
import { StoreError } from '../errors.js';
import type { Incident } from './model.js';

export const JOURNAL_FORMAT = 'prom-incident-mcp/journal';
export const SNAPSHOT_FORMAT = 'prom-incident-mcp/snapshot';
export const FORMAT_VERSION = 1;

export interface Header {
  format: string;
  version: number;
  generation: number;
}

export type JournalRecord =
  | { op: 'put'; incident: Incident }
  | { op: 'del'; id: string; reason: string };

export function headerLine(format: string, generation: number, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ format, version: FORMAT_VERSION, generation, ...extra })}\n`;
}

export function recordLine(value: unknown): string {
  const json = JSON.stringify(value);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** Parses one record line (without its newline); null when the CRC or the JSON is bad. */
export function parseRecordLine(line: string): unknown {
  if (line.length < 10 || line[8] !== ' ') return null;
  const json = line.slice(9);
  const sum = Number.parseInt(line.slice(0, 8), 16);
  if (!/^[0-9a-f]{8}$/.test(line.slice(0, 8)) || crc32(json) !== sum) return null;
  try {
    return JSON.parse(json);
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
  if ((h as Header).version !== FORMAT_VERSION) {
    throw new StoreError(
      `${path} has format version ${(h as Header).version}; this server reads version ${FORMAT_VERSION}. Upgrade the server.`,
    );
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

export interface ScanResult {
  /** records in file order */
  records: unknown[];
  /** bytes up to the end of the last good line */
  goodEnd: number;
  /** bytes after goodEnd that are not a good line (a torn write, or a write in progress) */
  tailBytes: number;
}

/**
 * Scans record lines in `buf` starting at byte `from`. A bad line followed by a good one is
 * corruption and throws; bad bytes only at the end are a tail the caller decides about.
 */
export function scanRecords(buf: Buffer, from: number, path: string, baseOffset = 0): ScanResult {
  const records: unknown[] = [];
  let pos = from;
  let goodEnd = from;
  let badAt = -1;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl === -1) break;
    const parsed = parseRecordLine(buf.toString('utf8', pos, nl));
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
