// tools/list and tools/call for every tool definition: zod validation with messages that
// name the field and the rule, typed errors mapped to tool errors, outputs checked against
// their schema. Owning these two handlers (rather than McpServer.registerTool) is what
// lets every tool share one error policy.
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { App } from '../app.js';
import { messageOf } from '../errors.js';
import type { ToolDef } from './tool.js';
import { errorResult, inputErrorResult, toolError } from './tool-errors.js';

// Every agent pays for tools/list on every turn, so schemas carry only what helps a model
// call the tool or read its result. Output schemas name the top-level fields with their
// types; nested objects are just "object" (the data describes itself, and the server checks
// every result against the full zod schema before sending it). Input schemas drop what the server's own error
// messages cover better (key patterns, minLength 1).
const OUTPUT_KEEP = new Set(['type', 'properties', 'items', 'anyOf']);
const INPUT_DROP = new Set(['$schema', 'propertyNames']);

function compact(node: unknown, io: 'input' | 'output', depth: number): unknown {
  if (Array.isArray(node)) return node.map((n) => compact(n, io, depth));
  if (typeof node !== 'object' || node === null) return node;
  const src = node as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    if (io === 'output' ? !OUTPUT_KEEP.has(k) : INPUT_DROP.has(k)) continue;
    if (io === 'input' && k === 'minLength' && v === 1) continue;
    // a limit no model would reach says nothing useful; the server still enforces it
    if (io === 'input' && (k === 'maxLength' || k === 'maximum') && typeof v === 'number' && v >= 1000) continue;
    if (io === 'input' && k === 'additionalProperties' && v === false && depth > 0) continue;
    if (io === 'output' && depth >= 1 && k === 'properties') continue;
    if (io === 'output' && depth >= 1 && k === 'items') {
      const t = (v as Record<string, unknown>).type;
      if (t !== 'object' && t !== 'array' && t !== undefined) out[k] = { type: t };
      continue;
    }
    if (k === 'properties') {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([p, s]) => [p, compact(s, io, depth + 1)]));
    } else out[k] = compact(v, io, k === 'items' || k === 'anyOf' ? depth + 1 : depth);
  }
  // {"anyOf":[{"type":"string"},{"type":"null"}]} -> {"type":["string","null"]}
  const any = out.anyOf as Record<string, unknown>[] | undefined;
  if (any && any.every((a) => Object.keys(a).length === 1 && typeof a.type === 'string')) {
    delete out.anyOf;
    out.type = any.map((a) => a.type);
  }
  return out;
}

/** JSON Schema (2020-12, MCP's default dialect, so no $schema line) for a zod object. */
export function jsonSchemaOf(schema: z.ZodObject, io: 'input' | 'output'): Tool['inputSchema'] {
  return compact(z.toJSONSchema(schema, { io, unrepresentable: 'any' }), io, 0) as Tool['inputSchema'];
}

const listings = new WeakMap<readonly ToolDef[], Tool[]>();

/** The tools/list entries; computed once per tool set and shared by every session. */
export function toolListing(tools: readonly ToolDef[]): Tool[] {
  let out = listings.get(tools);
  if (!out) {
    out = tools.map((t) => {
      const { title, ...hints } = t.annotations;
      return {
        name: t.name,
        title,
        description: t.description,
        inputSchema: jsonSchemaOf(t.input, 'input'),
        outputSchema: jsonSchemaOf(t.output, 'output') as Tool['outputSchema'],
        annotations: hints,
      };
    });
    listings.set(tools, out);
  }
  return out;
}

export function installTools(server: Server, tools: readonly ToolDef[], app: App): void {
  const byName = new Map(tools.map((t) => [t.name, t]));
  server.registerCapabilities({ tools: { listChanged: false } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: toolListing(tools) }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
    const name = req.params.name;
    const tool = byName.get(name);
    if (!tool) return toolError(`Unknown tool ${JSON.stringify(name)}. Available tools: ${[...byName.keys()].join(', ')}.`);
    const clientName = server.getClientVersion()?.name;
    const log = app.log.child({ tool: name, client: clientName });
    const parsed = tool.input.safeParse(req.params.arguments ?? {}, { reportInput: true });
    if (!parsed.success) {
      log.debug({ issues: parsed.error.issues.length }, 'tool input rejected');
      return inputErrorResult(name, parsed.error.issues, Object.keys(tool.input.shape));
    }
    const started = performance.now();
    try {
      const out = await tool.handler(parsed.data, { app, log, clientName, signal: extra.signal });
      const checked = tool.output.safeParse(out.structured);
      if (!checked.success) {
        log.error({ issues: checked.error.issues.slice(0, 5) }, 'tool output does not match its schema');
        return toolError(`Internal error in ${name}: its result did not match its output schema; the server log has the details.`);
      }
      log.debug({ ms: Math.round(performance.now() - started) }, 'tool call ok');
      return { content: [{ type: 'text', text: out.text }], structuredContent: checked.data as Record<string, unknown> };
    } catch (err) {
      const { result, expected } = errorResult(name, err);
      if (expected) log.debug({ err: messageOf(err) }, 'tool call failed');
      else log.error({ err }, 'tool call failed unexpectedly');
      return result;
    }
  });
}
