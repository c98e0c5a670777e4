// Small PromQL helpers: safe label matchers for values that come from agents, and how far
// back a query reaches (for routing between Prometheus and Thanos).
import { parseDuration } from '../time.js';

/** Prometheus refuses range queries over 11,000 points per series. */
export const MAX_POINTS_PER_SERIES = 11_000;

/**
 * The grid a range query is sent on: a whole-second step (at least 1s), start and end floored
 * to it. Repeated "last hour" queries then land on the same grid, so they hit the cache and
 * agree; the point limit is checked on this grid, as Prometheus will see it.
 */
export function alignRange(r: { start: number; end: number; step: number }): { start: number; end: number; step: number; points: number } {
  const step = Math.max(1, Math.round(r.step / 1000)) * 1000;
  const end = Math.floor(r.end / step) * step;
  const start = Math.min(end, Math.floor(r.start / step) * step);
  return { start, end, step, points: Math.floor((end - start) / step) + 1 };
}

/** Escapes a string for use inside a double-quoted PromQL label value. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** `name="value"` with the value escaped; the name must be a valid label name. */
export function matcher(name: string, value: string, op: '=' | '!=' | '=~' | '!~' = '='): string {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`invalid label name ${JSON.stringify(name)}`);
  return `${name}${op}${quote(value)}`;
}

/** Escapes regex metacharacters so a literal string can sit inside =~. */
export function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const RANGE_RE = /\[\s*([0-9smhdwy.]+)\s*(?::\s*([0-9smhdwy.]*)\s*)?\]/g;
const OFFSET_RE = /\boffset\s+(-?[0-9smhdwy.]+)/g;

/**
 * The furthest a query reaches back from its evaluation time, in ms: its longest range
 * selector or subquery plus its largest offset. Text inside string literals is ignored.
 */
/** PromQL string literals (double, single or back quotes), to blank before looking at the code. */
export const STRING_LITERAL_RE = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;

/** A selector with no function or operator (`name{...}` or `{...}`): its raw samples can be read directly. */
export function isPlainSelector(query: string): boolean {
  const masked = query.replace(STRING_LITERAL_RE, '""');
  return /^\s*([A-Za-z_:][A-Za-z0-9_:]*\s*(\{[^{}]*\})?|\{[^{}]*\})\s*$/.test(masked) && /\S/.test(masked);
}

export function lookbackMs(query: string): number {
  const code = query.replace(STRING_LITERAL_RE, '""');
  let range = 0;
  for (const m of code.matchAll(RANGE_RE)) range = Math.max(range, parseDuration(m[1]!) ?? 0);
  let offset = 0;
  for (const m of code.matchAll(OFFSET_RE)) {
    const d = parseDuration(m[1]!.replace(/^-/, ''));
    if (d !== null && !m[1]!.startsWith('-')) offset = Math.max(offset, d);
  }
  return range + offset;
}
