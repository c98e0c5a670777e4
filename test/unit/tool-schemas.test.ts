// Every tool's input schema stays inside what the common tool-calling dialects accept:
// Anthropic (JSON Schema with a top-level object), OpenAI-compatible function calling and
// Ollama, whose tool structs take one "type" string per property and know no anyOf/oneOf/$ref;
// no additionalProperties, which Google's declaration format refuses (maps are "name=value"
// lists instead; test/unit/schema-portability.test.ts runs the clients' own conversions).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toolListing } from '../../src/mcp/dispatcher.js';
import { TOOLS } from '../../src/tools/index.js';
import { toOpenAiTools } from '../../examples/granite-agent/openai-tools.js';

const TOP = new Set(['type', 'properties', 'required', 'description']);
const PROPERTY = new Set([
  'type',
  'description',
  'enum',
  'default',
  'items',
  'properties',
  'required',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'pattern',
]);
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array']);

function problems(schema: Record<string, unknown>, path: string, top = false): string[] {
  const out: string[] = [];
  for (const k of Object.keys(schema)) if (!(top ? TOP : PROPERTY).has(k)) out.push(`${path}: keyword ${k}`);
  if (typeof schema.type !== 'string' || !TYPES.has(schema.type)) out.push(`${path}: type must be one of ${[...TYPES].join('/')}, got ${JSON.stringify(schema.type)}`);
  if (schema.enum && !(schema.enum as unknown[]).every((v) => typeof v === 'string')) out.push(`${path}: enum values must be strings`);
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  for (const r of (schema.required ?? []) as string[]) if (!(r in props)) out.push(`${path}: required ${r} is not a property`);
  for (const [k, v] of Object.entries(props)) out.push(...problems(v, `${path}.${k}`));
  if (schema.items) out.push(...problems(schema.items as Record<string, unknown>, `${path}[]`));
  return out;
}

const LIMITS = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems']);

/**
 * Every limit in a JSON schema, as "path keyword=value"; minLength 1 and key rules (propertyNames,
 * which the dialects refuse) aside: the server's own messages say those.
 */
function limitsOf(node: unknown, path = ''): string[] {
  if (typeof node !== 'object' || node === null) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(node)) {
    if (k === 'propertyNames') continue;
    if (LIMITS.has(k) && !(k === 'minLength' && v === 1)) out.push(`${path} ${k}=${String(v)}`);
    else if (typeof v === 'object') out.push(...limitsOf(v, `${path}/${k}`));
  }
  return out;
}

describe('tool input schemas', () => {
  const tools = toolListing(TOOLS);

  it('publish every limit the server enforces (a client checking arguments refuses what the server refuses)', () => {
    for (const def of TOOLS) {
      const enforced = limitsOf(z.toJSONSchema(def.input, { io: 'input', unrepresentable: 'any' }));
      const published = limitsOf(tools.find((t) => t.name === def.name)!.inputSchema);
      expect(published, def.name).toEqual(enforced);
    }
    const qm = tools.find((t) => t.name === 'query_metrics')!.inputSchema.properties as Record<string, Record<string, unknown>>;
    expect(qm.max_points).toMatchObject({ minimum: 10, maximum: 1000 });
  });

  it('use only keywords every tool-calling dialect accepts', () => {
    for (const t of tools) {
      expect(t.inputSchema.type, t.name).toBe('object');
      expect(problems(t.inputSchema as Record<string, unknown>, t.name, true)).toEqual([]);
    }
  });

  it('are passed to OpenAI-style function tools unchanged', () => {
    const converted = toOpenAiTools(tools);
    expect(converted.map((c) => c.function.name)).toEqual(tools.map((t) => t.name));
    converted.forEach((c, i) => expect(c.function.parameters).toEqual(tools[i]!.inputSchema));
  });

  it('catches what would break a dialect', () => {
    expect(problems({ type: 'object', properties: { a: { type: ['string', 'number'] }, b: { anyOf: [] } } }, 't', true)).toEqual([
      't.a: type must be one of string/number/integer/boolean/object/array, got ["string","number"]',
      't.b: keyword anyOf',
      't.b: type must be one of string/number/integer/boolean/object/array, got undefined',
    ]);
  });
});
