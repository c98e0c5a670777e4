// The published input schemas (test/snapshots/tools-list.json, which test/e2e/tools-list.test.ts
// keeps equal to what the server serves) put through what three kinds of client do with them before
// a model sees them, and checked against what those clients' APIs accept. A keyword a conversion
// drops is fine when it is only a hint the server enforces itself (defaults, ranges, lengths);
// losing a map's value type, or an object with nothing declared in it, is not.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GoogleGenAI, mcpToTool } from '@google/genai';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseArguments } from '../../src/mcp/dispatcher.js';
import { TOOLS } from '../../src/tools/index.js';

type Schema = Record<string, unknown>;
const SNAPSHOT = join(import.meta.dirname, '../snapshots/tools-list.json');
const tools = (JSON.parse(readFileSync(SNAPSHOT, 'utf8')) as { tools: Tool[] }).tools;

/** Hints the server enforces with its own error messages, so a client may drop them. */
const HINTS = new Set(['default', 'minimum', 'maximum', 'minLength', 'maxLength', 'maxItems', 'minItems', 'pattern', 'format']);

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keywords of `before` that `after` no longer has, as "path: keyword", walking both in step. */
function dropped(before: Schema, after: Schema, path: string): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(before)) {
    if (!(k in after)) {
      if (!(HINTS.has(k) || (k === 'additionalProperties' && v === false))) out.push(`${path}: ${k}`);
      continue;
    }
    if (k === 'properties') {
      for (const [p, s] of Object.entries(v as Record<string, Schema>)) out.push(...dropped(s, (after.properties as Record<string, Schema>)[p] ?? {}, `${path}.${p}`));
    } else if ((k === 'items' || k === 'additionalProperties') && isSchema(v)) {
      if (isSchema(after[k])) out.push(...dropped(v, after[k], `${path}${k === 'items' ? '[]' : '{}'}`));
      else out.push(`${path}: ${k}`);
    }
  }
  return out;
}

/** Every schema node under `s` (itself first) with its path. */
function nodes(s: Schema, path: string): [string, Schema][] {
  const out: [string, Schema][] = [[path, s]];
  for (const [p, sub] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) out.push(...nodes(sub, `${path}.${p}`));
  if (isSchema(s.items)) out.push(...nodes(s.items, `${path}[]`));
  for (const a of (s.anyOf ?? []) as Schema[]) out.push(...nodes(a, `${path}|`));
  return out;
}

/** The types a node allows, in lower case ("type" may be a list, as in nullable strict forms). */
const typesOf = (n: Schema) => [n.type].flat().map((t) => String(t).toLowerCase());

/** An object a model can fill only with {}: nothing declared, and no value type either. */
const emptyObjects = (s: Schema, name: string) =>
  nodes(s, name)
    .filter(([, n]) => typesOf(n).includes('object') && Object.keys(n.properties ?? {}).length === 0 && !isSchema(n.additionalProperties))
    .map(([p]) => `${p}: object with no properties`);

// ---- Google GenAI SDK (@google/genai) -----------------------------------------------------
// Its MCP conversion (mcpToTool) sends inputSchema as parametersJsonSchema, unchanged. Its legacy
// declaration format ("parameters", an OpenAPI 3.0 subset) goes through the SDK's own schema
// processing when a request is made, which drops additionalProperties; the API then refuses
// unknown fields and OBJECT types with no properties ("should be non-empty for OBJECT type").
// Fields of that Schema: https://ai.google.dev/api/caching#Schema
const GOOGLE_SCHEMA_FIELDS = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required', 'minProperties',
  'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering', 'default', 'items', 'minimum', 'maximum',
]);
const GOOGLE_TYPES = new Set(['STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL']);

function googleLegacyProblems(s: Schema, name: string): string[] {
  const out = emptyObjects(s, name);
  for (const [p, n] of nodes(s, name)) {
    for (const k of Object.keys(n)) if (!GOOGLE_SCHEMA_FIELDS.has(k)) out.push(`${p}: unknown field ${k}`);
    if (n.type !== undefined && !GOOGLE_TYPES.has(n.type as string)) out.push(`${p}: type ${JSON.stringify(n.type)}`);
    if (n.properties !== undefined && n.type !== 'OBJECT') out.push(`${p}: properties only allowed for OBJECT type`);
  }
  return out;
}

/** What the SDK puts on the wire: a local endpoint records the generateContent request. */
async function capturedRequest(send: (ai: GoogleGenAI) => Promise<unknown>): Promise<Schema> {
  const bodies: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP' }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    await send(new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: `http://127.0.0.1:${port}` } }));
  } finally {
    await new Promise((r) => server.close(r));
  }
  return JSON.parse(bodies[0]!) as Schema;
}

type Declaration = { name: string; parameters?: Schema; parametersJsonSchema?: Schema };
const declarationsOf = (body: Schema) => ((body.tools as Schema[])[0]!.functionDeclarations as Declaration[]);

// ---- OpenAI function calling ----------------------------------------------------------------
// https://platform.openai.com/docs/guides/function-calling (name rule; parameters is a JSON
// Schema object) and https://platform.openai.com/docs/guides/structured-outputs#supported-schemas
// (strict: the root is an object, not anyOf; every object has additionalProperties: false and
// lists every property in required, optional ones made nullable; only these keywords).
const OPENAI_STRICT_KEYWORDS = new Set([
  'type', 'description', 'title', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', '$ref', '$defs',
  'pattern', 'format', 'multipleOf', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minItems', 'maxItems',
]);

function openAiProblems(s: Schema, name: string): string[] {
  const out: string[] = [];
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name)) out.push(`${name}: function name`);
  if (s.type !== 'object') out.push(`${name}: parameters must be type "object"`);
  for (const k of ['anyOf', 'oneOf', 'allOf', 'enum', 'not']) if (k in s) out.push(`${name}: ${k} at the top level`);
  return out;
}

/** The strict form clients derive from a schema: what the docs ask, keywords outside the list dropped. */
function toOpenAiStrict(s: Schema): Schema {
  const out: Schema = Object.fromEntries(Object.entries(s).filter(([k]) => OPENAI_STRICT_KEYWORDS.has(k)));
  if (isSchema(s.items)) out.items = toOpenAiStrict(s.items);
  if (typesOf(s).includes('object')) {
    const required = new Set((s.required ?? []) as string[]);
    out.properties = Object.fromEntries(
      Object.entries((s.properties ?? {}) as Record<string, Schema>).map(([p, sub]) => {
        const strict = toOpenAiStrict(sub);
        return [p, required.has(p) ? strict : { ...strict, type: [strict.type, 'null'] }];
      }),
    );
    out.required = Object.keys(out.properties as Schema);
    out.additionalProperties = false;
  }
  return out;
}

function openAiStrictProblems(s: Schema, name: string): string[] {
  const out = emptyObjects(s, name);
  for (const [p, n] of nodes(s, name)) {
    for (const k of Object.keys(n)) if (!OPENAI_STRICT_KEYWORDS.has(k)) out.push(`${p}: keyword ${k}`);
    if (!typesOf(n).includes('object')) continue;
    if (n.additionalProperties !== false) out.push(`${p}: additionalProperties must be false`);
    const missing = Object.keys(n.properties ?? {}).filter((k) => !((n.required ?? []) as string[]).includes(k));
    if (missing.length > 0) out.push(`${p}: not required: ${missing.join(', ')}`);
  }
  return out;
}

/** A strict model's call: the example from the description, with null for everything else. */
function strictCall(t: Tool): Record<string, unknown> {
  const example = JSON.parse(/Example: (\{.*?\})[.;]? /s.exec(`${t.description} `)![1]!) as Record<string, unknown>;
  const nulls = Object.fromEntries(Object.keys(t.inputSchema.properties ?? {}).map((k) => [k, null]));
  return { ...nulls, ...example };
}

// ---- Ollama -------------------------------------------------------------------------------
// Ollama decodes tools into Go structs (api/types.go, ollama/ollama fb30760, 2026-08-21):
// ToolFunctionParameters keeps type, $defs, items, required, properties; each ToolProperty keeps
// anyOf, type (a string or a list of strings, else the request fails), items (verbatim),
// description, enum, properties, required. Everything else is dropped before the model sees it.
const OLLAMA_TOP = ['type', '$defs', 'items', 'required', 'properties'];
const OLLAMA_PROPERTY = ['anyOf', 'type', 'items', 'description', 'enum', 'properties', 'required'];

function toOllama(s: Schema, keep = OLLAMA_TOP): Schema {
  const out: Schema = {};
  for (const k of keep) {
    if (!(k in s)) continue;
    if (k === 'properties') {
      out[k] = Object.fromEntries(Object.entries(s[k] as Record<string, Schema>).map(([p, sub]) => [p, toOllama(sub, OLLAMA_PROPERTY)]));
    } else if (k === 'anyOf') out[k] = (s[k] as Schema[]).map((a) => toOllama(a, OLLAMA_PROPERTY));
    else out[k] = s[k];
  }
  return out;
}

function ollamaProblems(s: Schema, name: string): string[] {
  const out = emptyObjects(s, name);
  for (const [p, n] of nodes(s, name)) {
    const t = n.type;
    if (!(typeof t === 'string' || (Array.isArray(t) && t.every((x) => typeof x === 'string')))) out.push(`${p}: type ${JSON.stringify(t)}`);
  }
  return out;
}

describe('published input schemas, as major clients convert them', () => {
  let legacy: Declaration[];
  let viaMcp: Declaration[];

  beforeAll(async () => {
    const request = (functionDeclarations: Declaration[]) => (ai: GoogleGenAI) =>
      ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: { tools: [{ functionDeclarations }] } });
    legacy = declarationsOf(await capturedRequest(request(tools.map((t) => ({ name: t.name, description: t.description, parameters: structuredClone(t.inputSchema) })))));
    const client = { listTools: async () => ({ tools: structuredClone(tools) }) };
    const fromMcp = await mcpToTool(client as never).tool();
    viaMcp = declarationsOf(await capturedRequest(request(fromMcp.functionDeclarations as Declaration[])));
  });

  it("Google GenAI: mcpToTool sends the schemas unchanged as parametersJsonSchema", () => {
    expect(viaMcp.map((d) => d.name)).toEqual(tools.map((t) => t.name));
    viaMcp.forEach((d, i) => expect(d.parametersJsonSchema, d.name).toEqual(tools[i]!.inputSchema));
  });

  it("Google GenAI: the legacy declaration format accepts them and loses only hints", () => {
    expect(legacy.flatMap((d) => googleLegacyProblems(d.parameters!, d.name))).toEqual([]);
    expect(legacy.flatMap((d, i) => dropped(tools[i]!.inputSchema, lowerTypes(d.parameters!), d.name))).toEqual([]);
  });

  it('OpenAI: non-strict function calling takes them as they are', () => {
    expect(tools.flatMap((t) => openAiProblems(t.inputSchema, t.name))).toEqual([]);
  });

  it('OpenAI: their strict form is valid, loses only hints, and the server accepts its calls', () => {
    const strict = tools.map((t) => toOpenAiStrict(t.inputSchema));
    expect(strict.flatMap((s, i) => openAiStrictProblems(s, tools[i]!.name))).toEqual([]);
    expect(strict.flatMap((s, i) => dropped(tools[i]!.inputSchema, s, tools[i]!.name))).toEqual([]);
    for (const t of tools) {
      const def = TOOLS.find((d) => d.name === t.name)!;
      const args = strictCall(t);
      if (t.name === 'create_incident') args.evidence = [{ kind: 'promql', summary: 'cpu 93%', query: null, data: null }];
      const parsed = parseArguments(def, args);
      expect(parsed.error?.issues ?? [], `${t.name} ${JSON.stringify(args)}`).toEqual([]);
    }
  });

  it('Ollama: its tool structs take them and keep their meaning', () => {
    const seen = tools.map((t) => toOllama(t.inputSchema));
    expect(seen.flatMap((s, i) => ollamaProblems(s, tools[i]!.name))).toEqual([]);
    expect(seen.flatMap((s, i) => dropped(tools[i]!.inputSchema, s, tools[i]!.name))).toEqual([]);
  });

  it('the checks catch what these clients refuse or lose', () => {
    const labels = { type: 'object', properties: { labels: { type: 'object', additionalProperties: { type: 'string' } } }, additionalProperties: false };
    expect(googleLegacyProblems({ type: 'OBJECT', properties: { labels: { type: 'OBJECT' } }, additionalProperties: false }, 't')).toEqual([
      't.labels: object with no properties',
      't: unknown field additionalProperties',
    ]);
    expect(openAiStrictProblems(toOpenAiStrict(labels), 't')).toEqual(['t.labels: object with no properties']);
    expect(dropped(labels, toOpenAiStrict(labels), 't')).toEqual(['t.labels: additionalProperties']);
    expect(openAiStrictProblems({ type: 'object', properties: { a: { type: 'string' } } }, 't')).toEqual([
      't: additionalProperties must be false',
      't: not required: a',
    ]);
    expect(dropped(labels, toOllama(labels), 't')).toEqual(['t.labels: additionalProperties']);
    expect(ollamaProblems({ type: 'object', properties: { a: { anyOf: [] } } }, 't')).toEqual(['t.a: type undefined']);
  });
});

/** The legacy format spells types in capitals; compare with the published schema's spelling. */
function lowerTypes(s: Schema): Schema {
  const out: Schema = { ...s };
  if (typeof s.type === 'string') out.type = s.type.toLowerCase();
  if (isSchema(s.items)) out.items = lowerTypes(s.items);
  if (isSchema(s.properties)) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, lowerTypes(v as Schema)]));
  return out;
}
