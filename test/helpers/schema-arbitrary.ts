// fast-check arbitraries derived from a tool's JSON Schema as tools/list shows it, so every
// tool, including ones added later, is fuzzed without writing anything for it. Two kinds of
// case: "shaped" arguments (schema-like values laced with hostile strings; may be valid or
// not) and "broken" arguments (one field broken on purpose, so the answer must be a tool
// error that names that field).
import fc from 'fast-check';

export type Schema = Record<string, any>;

export interface FuzzCase {
  args: unknown;
  /** the top-level field broken on purpose, or null when the case may be valid */
  broken: string | null;
  /** how it was broken, for the counts */
  how: string;
}

/** Strings that have broken other servers: PromQL/SQL/log injection, control and odd unicode. */
export const HOSTILE_STRINGS = [
  'up{job="x"} or vector(1)',
  '"}) or on() vector(1) #',
  'sum(rate(x[5m])) by (__name__)',
  '{__name__=~".+"}',
  'a", namespace!="',
  '\\"; drop',
  "'; DROP TABLE incidents;--",
  '{"$ne":null}',
  '\n{"level":60,"msg":"forged log line"}',
  'line\r\nInjected: header',
  '\u0000nul',
  '\u202Eevil\u202C',
  'zero\u200Bwidth',
  '🔥💥 incident ✓',
  'e\u0301\u0301\u0301',
  '\uD800',
  '../../../../etc/passwd',
  '${process.exit(1)}',
  '%s%s%s%n',
  '<script>alert(1)</script>',
  '   ',
  '',
  'now-1h',
  '2026-01-25T10:00:00Z',
  '9'.repeat(400),
];

export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', 'a.b', '$where', '🔑'];

const junk: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.string(),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...HOSTILE_KEYS)), tie('v'), { maxKeys: 4 }),
  ),
})).v;

/** A deeply nested value: objects in arrays in objects, 30 levels down. */
const deep = fc.integer({ min: 20, max: 60 }).map((n) => {
  let v: unknown = 'bottom';
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { x: v };
  return v;
});

function typesOf(node: Schema): string[] {
  if (Array.isArray(node.type)) return node.type as string[];
  if (typeof node.type === 'string') return [node.type];
  if (Array.isArray(node.anyOf)) return (node.anyOf as Schema[]).flatMap(typesOf);
  if (Array.isArray(node.enum)) return [...new Set((node.enum as unknown[]).map((v) => (v === null ? 'null' : typeof v)))];
  return [];
}

/** Values that often make sense, so that calls get past validation into the tools' real work. */
const PLAUSIBLE = ['5m', '1h', '30s', '24h', 'now', 'now-1h', 'up', 'sum(rate(container_cpu_usage_seconds_total[5m])) by (namespace)', 'production', 'deployment/api'];

/** Quoted examples in a field's description ('e.g. "6h"') are the schema's own hints at good values. */
function examplesIn(description: unknown): string[] {
  return typeof description === 'string' ? [...description.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) : [];
}

function stringArb(node: Schema): fc.Arbitrary<string> {
  if (Array.isArray(node.enum)) return fc.constantFrom(...(node.enum as string[]));
  const max = Math.min(node.maxLength ?? 300, 300);
  const min = Math.min(node.minLength ?? 0, max);
  const fits = (s: string) => s.length >= min && s.length <= (node.maxLength ?? Infinity);
  if (typeof node.pattern === 'string') return fc.stringMatching(new RegExp(node.pattern)).filter(fits);
  if (node.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  const likely = [...examplesIn(node.description), ...PLAUSIBLE].filter(fits);
  return fc.oneof(
    { weight: 2, arbitrary: fc.string({ minLength: Math.max(min, 1), maxLength: max, unit: 'grapheme' }) },
    { weight: 1, arbitrary: fc.string({ minLength: min, maxLength: max, unit: 'binary' }) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_STRINGS).filter(fits) },
    { weight: 3, arbitrary: likely.length > 0 ? fc.constantFrom(...likely) : fc.string({ minLength: Math.max(min, 1), maxLength: max }) },
  );
}

function numberArb(node: Schema, integer: boolean): fc.Arbitrary<number> {
  const min = typeof node.minimum === 'number' ? node.minimum : integer ? -1e9 : -1e12;
  const max = typeof node.maximum === 'number' ? node.maximum : integer ? 1e9 : 1e12;
  return integer ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) }) : fc.double({ min, max, noNaN: true });
}

/** A value shaped like the schema (valid unless a hostile string breaks a rule the schema does not show). */
export function shaped(node: Schema | boolean | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (node === undefined || node === true || typeof node !== 'object') return junk;
  if (Array.isArray(node.anyOf)) return fc.oneof(...(node.anyOf as Schema[]).map((n) => shaped(n, depth)));
  const types = typesOf(node);
  if (types.length > 1) return fc.oneof(...types.map((t) => shaped({ ...node, type: t, anyOf: undefined }, depth)));
  switch (types[0]) {
    case 'string':
      return stringArb(node);
    case 'integer':
      return numberArb(node, true);
    case 'number':
      return numberArb(node, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(shaped(node.items, depth + 1), { maxLength: Math.min(node.maxItems ?? 5, 5) });
    case 'object':
      return objectArb(node, depth);
    default:
      return junk;
  }
}

function objectArb(node: Schema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props = (node.properties ?? {}) as Record<string, Schema>;
  const required = new Set((node.required ?? []) as string[]);
  const fields = Object.fromEntries(
    // optional fields mostly absent, so that calls with every field valid come up often enough
    Object.entries(props).map(([k, s]) => [
      k,
      required.has(k) ? shaped(s, depth + 1) : fc.oneof({ weight: 7, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: shaped(s, depth + 1) }),
    ]),
  );
  const base = fc.record(fields).map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));
  const extra = node.additionalProperties;
  if (extra === undefined || extra === false) return base;
  const keys = fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.stringMatching(/^[a-z][a-z0-9_.\/-]{0,20}[a-z0-9]$/));
  return fc.tuple(base, fc.dictionary(keys, shaped(extra, depth + 1), { maxKeys: 4 })).map(([b, more]) => ({ ...more, ...b }));
}

/** A JSON value of a type the schema does not allow (null is "not given" for an optional field). */
function wrongType(node: Schema, required: boolean): fc.Arbitrary<unknown> | null {
  const allowed = new Set(typesOf(node));
  if (allowed.size === 0) return null;
  if (allowed.has('number')) allowed.add('integer');
  if (!required) allowed.add('null');
  const byType: [string, fc.Arbitrary<unknown>][] = [
    ['string', fc.oneof(fc.string(), fc.constantFrom(...HOSTILE_STRINGS))],
    ['integer', fc.oneof(fc.integer(), fc.constantFrom(0, -1, 2 ** 53 + 2, 1e308))],
    ['number', fc.constantFrom(0.5, -0.25, 1e-300)],
    ['boolean', fc.boolean()],
    ['null', fc.constant(null)],
    ['array', fc.oneof(fc.array(junk, { maxLength: 4 }), deep)],
    ['object', fc.oneof(fc.dictionary(fc.constantFrom(...HOSTILE_KEYS), junk, { minKeys: 1, maxKeys: 3 }), deep)],
  ];
  // integers are numbers too, and a whole number satisfies "number"; a number where a string
  // is declared may be read leniently (durations in seconds), so it is not "certainly invalid";
  // nor is an object where a list of "name=value" strings is declared (labels also come as a map)
  const nameValues = /name=value/.test(String(node.description));
  const lenient = (t: string) => (allowed.has('string') && (t === 'integer' || t === 'number')) || (t === 'object' && nameValues);
  const options = byType.filter(([t]) => !allowed.has(t) && !(t === 'integer' && allowed.has('number')) && !lenient(t));
  return options.length === 0 ? null : fc.oneof(...options.map(([, a]) => a));
}

/** Ways to break one field so that the input is certainly invalid. */
function breakers(node: Schema, required: boolean): [string, fc.Arbitrary<unknown>][] {
  const out: [string, fc.Arbitrary<unknown>][] = [];
  const wt = wrongType(node, required);
  if (wt) out.push(['wrong type', wt]);
  const types = typesOf(node);
  if (types.length === 1 && types[0] === 'string') {
    if (Array.isArray(node.enum)) {
      const allowed = new Set(node.enum as string[]);
      out.push(['not in enum', fc.oneof(fc.string(), fc.constantFrom(...HOSTILE_STRINGS)).filter((s) => !allowed.has(s))]);
    }
    if (typeof node.maxLength === 'number') {
      const n = node.maxLength as number;
      out.push(['too long', fc.integer({ min: n + 1, max: n + 200_000 }).map((len) => 'x'.repeat(len))]);
    }
  }
  if (types.length === 1 && (types[0] === 'integer' || types[0] === 'number')) {
    if (typeof node.maximum === 'number') out.push(['over maximum', fc.constantFrom(node.maximum + 1, node.maximum * 10 + 7, 1e300)]);
    if (typeof node.minimum === 'number') out.push(['under minimum', fc.constantFrom(node.minimum - 1, -1e300)]);
    if (types[0] === 'integer') out.push(['fraction', fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((x) => !Number.isInteger(x))]);
  }
  if (types.length === 1 && types[0] === 'array' && typeof node.maxItems === 'number') {
    const n = node.maxItems as number;
    out.push(['too many items', fc.integer({ min: n + 1, max: n + 50 }).map((len) => Array.from({ length: len }, (_, i) => `item-${i}`))]);
  }
  return out;
}

/** Every case for one tool: shaped args, one-field-broken args, unknown and missing fields, junk. */
export function casesFor(input: Schema): fc.Arbitrary<FuzzCase> {
  const props = (input.properties ?? {}) as Record<string, Schema>;
  const base = shaped(input) as fc.Arbitrary<Record<string, unknown>>;
  const kinds: fc.Arbitrary<FuzzCase>[] = [];
  const required = new Set((input.required ?? []) as string[]);
  for (const [field, node] of Object.entries(props)) {
    for (const [how, bad] of breakers(node, required.has(field))) {
      kinds.push(fc.tuple(base, bad).map(([args, v]) => ({ args: { ...args, [field]: v }, broken: field, how })));
    }
  }
  // The server refuses unknown arguments to every tool; schemas do not say so (additionalProperties
  // is a keyword Google's declaration format refuses), so every tool gets these cases.
  if (input.additionalProperties !== true) {
    const unknownKey = fc.oneof(fc.constantFrom(...HOSTILE_KEYS.filter((k) => !(k in props))), fc.stringMatching(/^[a-z]{1,12}$/).filter((k) => !(k in props)));
    kinds.push(
      fc.tuple(base, unknownKey, junk).map(([args, k, v]) => {
        const withKey: Record<string, unknown> = { ...args };
        Object.defineProperty(withKey, k, { value: v, enumerable: true, writable: true, configurable: true }); // an own "__proto__" too
        return { args: withKey, broken: k, how: 'unknown field' };
      }),
    );
  }
  for (const field of (input.required ?? []) as string[]) {
    kinds.push(base.map((args) => {
      const rest = { ...args };
      delete rest[field];
      return { args: rest, broken: field, how: 'missing required' };
    }));
  }
  // about half shaped (mostly valid, so the tools really run), half broken, a little junk
  return fc.oneof(
    { weight: kinds.length, arbitrary: base.map((args): FuzzCase => ({ args, broken: null, how: 'shaped' })) },
    ...kinds.map((arbitrary) => ({ weight: 1, arbitrary })),
    { weight: Math.max(1, Math.round(kinds.length / 8)), arbitrary: fc.oneof(junk, deep).map((args): FuzzCase => ({ args, broken: null, how: 'junk arguments' })) },
  );
}
