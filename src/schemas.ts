// Small zod building blocks shared by several tools' input schemas.
import { z } from 'zod';
import { TIME_FORMS, parseSecondsOrDuration, parseTime } from './time.js';

/**
 * Numbers are accepted where the schema says string: some tool-calling dialects (Ollama's)
 * take one type per property, and models send unix seconds or a count of seconds as numbers.
 */
const stringOrNumber = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string());

/** A point in time as agents write it ("24h", "now-1h", RFC 3339, unix seconds), parsed to epoch ms. */
export const TimeInput = stringOrNumber.transform((s, ctx) => {
  const t = parseTime(s);
  if (t === null) {
    ctx.addIssue({ code: 'custom', message: `must be ${TIME_FORMS}`, input: s });
    return z.NEVER;
  }
  return t;
});

/** A duration: Prometheus form ("90s", "1h30m") or a number of seconds; parsed to ms. */
export const DurationInput = stringOrNumber
  .transform((s, ctx) => {
    const ms = parseSecondsOrDuration(s);
    if (ms === null || !Number.isFinite(ms) || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration such as "30s", "5m", "1h30m" or a number of seconds', input: s });
      return z.NEVER;
    }
    return ms;
  });

/**
 * `v` without the null-valued properties that `shape` declares. Clients that make a schema strict
 * for OpenAI turn each optional property into a required, nullable one and send null for "not
 * given"; no input of this server gives null another meaning. Unknown properties stay, to be refused.
 */
export function withoutNulls(v: unknown, shape: z.ZodRawShape): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const dropped = (k: string, x: unknown) => x === null && Object.hasOwn(shape, k);
  if (!Object.entries(v).some(([k, x]) => dropped(k, x))) return v;
  return Object.fromEntries(Object.entries(v).filter(([k, x]) => !dropped(k, x)));
}

/** A nested object whose null-valued properties count as not given (top-level arguments: the dispatcher). */
export const nullsAsAbsent = <T extends z.ZodObject>(schema: T) => z.preprocess((v) => withoutNulls(v, schema.shape), schema);

/** A map given as an object turns into "name=value" entries, which then turn back into the map. */
function entriesOf(v: unknown, ctx: z.core.$RefinementCtx): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  return Object.entries(v).map(([k, x]) => {
    if (typeof x === 'string') return `${k}=${x}`;
    ctx.addIssue({ code: 'custom', path: [k], message: 'must be a string', input: x });
    return `${k}=`;
  });
}

/** The map of "name=value" entries; the first bad entry is reported (one rule, not one line per entry). */
function mapOf(entries: string[], ctx: z.core.$RefinementCtx): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, e] of entries.entries()) {
    const eq = e.indexOf('=');
    const name = e.slice(0, eq);
    const problem = eq < 1 ? 'must be "name=value"' : Object.hasOwn(out, name) ? `gives ${JSON.stringify(name)} a second time` : null;
    if (problem !== null) {
      ctx.addIssue({ code: 'custom', path: [i], message: problem, input: e });
      return z.NEVER;
    }
    // defined, not assigned, so that a name such as "__proto__" is kept as a label like any other
    Object.defineProperty(out, name, { value: e.slice(eq + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * A string map (labels) as agents can send it everywhere: published as a list of "name=value"
 * strings, because Google's declaration format and the clients that strip additionalProperties
 * turn an open map into an empty object, and OpenAI's strict mode refuses one. The map form
 * ({"team":"payments"}) is still accepted; `map` checks names and values either way.
 */
export const nameValueList = <T extends z.ZodType<Record<string, string>, Record<string, string>>>(map: T, maxEntries?: number) =>
  z
    .preprocess(entriesOf, maxEntries === undefined ? z.array(z.string()) : z.array(z.string()).max(maxEntries))
    .transform(mapOf)
    .pipe(map);

/**
 * A JSON object, published as a string (its JSON text) so that every dialect can declare it: an
 * object with no declared properties is refused by Google's declaration format and OpenAI's strict
 * mode. The object itself is still accepted.
 */
export const jsonObjectOrText = z
  .custom<unknown>((v) => typeof v === 'string' || (typeof v === 'object' && v !== null && !Array.isArray(v)), {
    error: 'must be a JSON object, or its text',
  })
  .meta({ type: 'string' })
  .transform((v, ctx): Record<string, unknown> => {
    if (typeof v !== 'string') return v as Record<string, unknown>;
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    ctx.addIssue({ code: 'custom', message: 'must be the text of a JSON object, e.g. "{\\"cpu\\":0.93}"', input: v });
    return z.NEVER;
  });
