// Small PromQL helpers: safe label matchers for values that come from agents, the range query
// grid, and the entry to the parsed query's shape.
import type { QueryShape } from './promql-syntax.js';

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

/**
 * The query's shape read with Prometheus's grammar (src/prometheus/promql-syntax.ts), or null
 * when it does not parse. The parser is loaded at the first call, by the tools that need it.
 */
export async function queryShape(query: string): Promise<QueryShape | null> {
  const { shapeOf } = await import('./promql-syntax.js');
  return shapeOf(query);
}
