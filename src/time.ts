// Parsing of the time and duration forms agents use: RFC 3339, unix seconds,
// "now", "now-1h", and bare durations ("1h" meaning one hour ago).

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000, // 365d, as in PromQL
};

const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;

/** Parses a Prometheus-style duration ("90s", "1h30m", "7d") to milliseconds, or null. */
export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (!DURATION_RE.test(s)) return null;
  let total = 0;
  for (const m of s.matchAll(PART_RE)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}

/** A duration as Prometheus's API takes a step: Prometheus form ("90s", "1h30m") or a bare number of seconds. */
export function parseSecondsOrDuration(text: string): number | null {
  const s = text.trim();
  return /^\d+(?:\.\d+)?$/.test(s) ? Number(s) * 1000 : parseDuration(s);
}

/** Formats milliseconds as a short Prometheus-style duration ("1h30m", "15s"). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

export const TIME_FORMS = 'RFC 3339 (2026-01-25T10:00:00Z), unix seconds, "now", "now-1h", or a duration ago ("1h")';

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/;

/** The range a JavaScript Date can represent (±100,000,000 days around 1970). */
const MAX_TIME_MS = 8.64e15;

/** Parses a point in time to epoch milliseconds, relative to `now`; null when not understood or out of range. */
export function parseTime(text: string, now: number = Date.now()): number | null {
  const t = parseAnyTime(text, now);
  // "9999…9" or "now+1000000y" would otherwise break every Date made from the result.
  return t !== null && Math.abs(t) <= MAX_TIME_MS ? t : null;
}

function parseAnyTime(text: string, now: number): number | null {
  const s = text.trim();
  if (s === '') return null;
  if (s === 'now') return now;
  const rel = /^now\s*([+-])\s*(.+)$/.exec(s);
  if (rel) {
    const d = parseDuration(rel[2]!);
    if (d === null) return null;
    return rel[1] === '-' ? now - d : now + d;
  }
  if (/^\d+(?:\.\d+)?$/.test(s)) {
    const n = Number(s);
    // Bare numbers are unix seconds; values this large can only be milliseconds.
    return n > 1e11 ? Math.round(n) : Math.round(n * 1000);
  }
  const ago = parseDuration(s);
  if (ago !== null) return now - ago;
  if (RFC3339_RE.test(s)) {
    // Without an offset JavaScript reads a date-time as server-local; Prometheus's convention is UTC.
    const utc = /[T t]\d{2}:\d{2}/.test(s) && !/(?:[Zz]|[+-]\d{2}:?\d{2})$/.test(s) ? `${s.replace(/[ t]/, 'T')}Z` : s;
    const t = Date.parse(utc);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

const NICE_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((x) => x * 1000);

/** The smallest familiar step (15s, 1m, 5m, ...) of at least `minMs` that keeps `spanMs` within `points` points. */
export function niceStep(spanMs: number, points: number, minMs = 1000): number {
  const want = Math.max(minMs, spanMs / points);
  return NICE_STEPS_MS.find((s) => s >= want) ?? Math.ceil(want / 86_400_000) * 86_400_000;
}
