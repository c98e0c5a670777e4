// tools/list and tools/call for every tool definition: zod validation with messages that
// name the field and the rule, typed errors mapped to tool errors, outputs checked against
// their schema. Owning these two handlers (rather than McpServer.registerTool) is what
// lets every tool share one error policy.
import { CLIENT_INFO_META_KEY, type CallToolResult, type Implementation, type Server, type ServerContext, type Tool } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { App } from '../app.js';
import { InputError, messageOf } from '../errors.js';
import { cutUnits } from '../incidents/model.js';
import type { ToolOutcome } from '../metrics.js';
import { formatDuration } from '../time.js';
import { withoutNulls } from '../schemas.js';
import type { ToolDef } from './tool.js';
import { errorResult, inputErrorResult, toolError } from './tool-errors.js';

// Every agent pays for tools/list on every turn, so schemas carry only what helps a model
// call the tool or read its result. Output schemas name the top-level fields with their
// types; nested objects are just "object" (the data describes itself, and the server checks
// every result against the full zod schema before sending it). Input schemas drop what the server's own error
// messages cover better (key patterns, minLength 1), but keep every limit: a client that checks
// arguments against the schema must refuse exactly what the server refuses.
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
    // The server refuses unknown arguments itself, and Google's declaration format refuses the keyword.
    if (io === 'input' && k === 'additionalProperties' && v === false) continue;
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

/** A tool's arguments checked against its input schema; a declared argument given as null counts as not given. */
export function parseArguments<I extends z.ZodObject>(tool: ToolDef<I>, args: unknown) {
  return tool.input.safeParse(withoutNulls(args ?? {}, tool.input.shape), { reportInput: true });
}

const listings = new WeakMap<readonly ToolDef[], Tool[]>();

/**
 * Every tool's tools/list entry, computed by the build (tools/bundle.ts) from these same
 * definitions: converting the schemas is most of what a first tools/list costs (15-20 ms of a
 * stdio launch). Undefined when run from the sources.
 */
declare const TOOL_ENTRIES: Record<string, Tool> | undefined;

/** The tools/list entry of one tool. */
export function toolEntry(t: ToolDef): Tool {
  const { title, ...hints } = t.annotations;
  return {
    name: t.name,
    title,
    description: t.description,
    inputSchema: jsonSchemaOf(t.input, 'input'),
    outputSchema: jsonSchemaOf(t.output, 'output') as Tool['outputSchema'],
    annotations: hints,
  };
}

/** The tools/list entries; computed once per tool set (or by the build) and shared by every session. */
export function toolListing(tools: readonly ToolDef[]): Tool[] {
  let out = listings.get(tools);
  if (!out) {
    const built = typeof TOOL_ENTRIES === 'undefined' ? undefined : TOOL_ENTRIES;
    out = tools.map((t) => built?.[t.name] ?? toolEntry(t));
    listings.set(tools, out);
  }
  return out;
}

const readOnlyViews = new WeakMap<readonly ToolDef[], readonly ToolDef[]>();

/** The tools a read-only server offers: those whose annotations say they change nothing. */
export function visibleTools(tools: readonly ToolDef[], readOnly: boolean): readonly ToolDef[] {
  if (!readOnly) return tools;
  let out = readOnlyViews.get(tools);
  if (!out) readOnlyViews.set(tools, (out = tools.filter((t) => t.annotations.readOnlyHint)));
  return out;
}

type Settled<T> = { kind: 'done'; value: T } | { kind: 'threw'; err: unknown } | { kind: 'timeout' } | { kind: 'cancelled' };

/**
 * Runs a handler with a time limit. The handler's signal aborts on timeout or cancellation,
 * and the race answers even when a handler ignores its signal and never settles.
 */
async function withTimeLimit<T>(run: (signal: AbortSignal) => Promise<T>, outer: AbortSignal, ms: number): Promise<Settled<T>> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => {
      ac.abort(new Error(`timed out after ${ms} ms`));
      resolve({ kind: 'timeout' });
    }, ms);
    onAbort = () => {
      ac.abort(outer.reason);
      resolve({ kind: 'cancelled' });
    };
    if (outer.aborted) onAbort();
    else outer.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const work = Promise.resolve()
      .then(() => run(ac.signal))
      .then(
        (value): Settled<T> => ({ kind: 'done', value }),
        (err: unknown): Settled<T> => ({ kind: 'threw', err }),
      );
    return await Promise.race([work, stop]);
  } finally {
    clearTimeout(timer);
    outer.removeEventListener('abort', onAbort!);
  }
}

/** The incident an audit line is about: from the result, else from the arguments. */
function incidentIdOf(args: unknown, structured: unknown): string | null {
  for (const o of [structured, args]) {
    if (typeof o !== 'object' || o === null) continue;
    const r = o as Record<string, unknown>;
    const nested = r.incident as Record<string, unknown> | undefined;
    const id = (typeof nested === 'object' && nested !== null ? nested.id : undefined) ?? r.incident_id ?? r.id;
    if (typeof id === 'string') return id;
  }
  return null;
}

/**
 * The client's name: from the request's own _meta on 2026-07-28, from initialize on a 2025-era
 * connection (stdio; a stateless 2025-era HTTP request has none).
 */
function clientNameOf(server: Server, ctx: ServerContext): string | undefined {
  // the SDK types the envelope as {} (keyed by its constants), hence the cast
  const envelope = ctx.mcpReq.envelope as Record<string, Implementation | undefined> | undefined;
  return cleanClientName(envelope?.[CLIENT_INFO_META_KEY]?.name ?? server.getClientVersion()?.name);
}

/**
 * The name a client gave, as it goes into every timeline entry and log line:
 * without control characters (NUL breaks PostgreSQL), lone surrogates as U+FFFD (jsonb refuses
 * them), and at most 100 characters, never cut inside a character.
 */
export function cleanClientName(name: unknown): string | undefined {
  if (typeof name !== 'string') return undefined;
  const clean = cutUnits(name.toWellFormed().replace(/[\u0000-\u001f\u007f]/g, '').trim(), 100);
  return clean === '' ? undefined : clean;
}

export function installTools(server: Server, tools: readonly ToolDef[], app: App): void {
  const offered = visibleTools(tools, app.config.readOnly);
  const byName = new Map(offered.map((t) => [t.name, t]));
  const hidden = new Set(tools.filter((t) => !byName.has(t.name)).map((t) => t.name));
  const timeoutMs = app.config.toolTimeoutMs;
  server.registerCapabilities({ tools: { listChanged: false } });
  server.setRequestHandler('tools/list', () => ({ tools: toolListing(offered) }));
  // The SDK checks tools/call against the spec's schema first: a malformed call (arguments that
  // are not an object) is -32602 Invalid params, not a tool error.
  server.setRequestHandler('tools/call', async (req, ctx): Promise<CallToolResult> => {
    const name = req.params.name;
    const tool = byName.get(name);
    const clientName = clientNameOf(server, ctx);
    const auth = ctx.http?.authInfo?.clientId;
    const started = performance.now();
    const log = app.log.child({ tool: name, client: clientName });

    const finish = (outcome: ToolOutcome, result: CallToolResult, structured?: unknown): CallToolResult => {
      const ms = performance.now() - started;
      app.metrics?.toolCall(tool ? name : hidden.has(name) ? name : '(unknown)', outcome, ms / 1000);
      if ((tool && !tool.annotations.readOnlyHint) || hidden.has(name)) {
        const incident = incidentIdOf(req.params.arguments, structured);
        log.info({ audit: true, incident, auth, outcome, ms: Math.round(ms) }, `audit: ${name} ${outcome}`);
      }
      return result;
    };

    if (!tool) {
      if (hidden.has(name)) {
        return finish('refused', toolError(`${name} is disabled: this server is read-only (MCP_READ_ONLY), so tools that change incidents are off.`));
      }
      return finish('invalid_input', toolError(`Unknown tool ${JSON.stringify(name)}. Available tools: ${[...byName.keys()].join(', ')}.`));
    }
    let parsed: ReturnType<typeof tool.input.safeParse>;
    try {
      parsed = parseArguments(tool, req.params.arguments);
      if (!parsed.success) {
        log.debug({ issues: parsed.error.issues.length }, 'tool input rejected');
        return finish('invalid_input', inputErrorResult(name, parsed.error.issues, Object.keys(tool.input.shape)));
      }
    } catch (err) {
      // Validation itself failed (say, input nested deep enough to exhaust the stack): still
      // bad input, answered and audited as such, not a protocol error.
      log.warn({ err: messageOf(err) }, 'tool input could not be validated');
      return finish('invalid_input', toolError(`Invalid arguments for ${name}:\n- (arguments): could not be validated (${messageOf(err)}); send smaller, less deeply nested values`));
    }
    const settled = await withTimeLimit((signal) => tool.handler(parsed.data, { app, log, clientName, signal }), ctx.mcpReq.signal, timeoutMs);
    switch (settled.kind) {
      case 'timeout': {
        log.warn({ ms: timeoutMs }, 'tool call timed out');
        const advice = tool.annotations.readOnlyHint
          ? 'Retry later or with a smaller request.'
          : 'It may still complete: check the current state before retrying.';
        return finish('timeout', toolError(`${name} did not finish within ${formatDuration(timeoutMs)} (MCP_TOOL_TIMEOUT). ${advice}`));
      }
      case 'cancelled':
        return finish('cancelled', toolError(`${name} was cancelled.`));
      case 'threw': {
        const { result, expected } = errorResult(name, settled.err);
        if (expected) log.debug({ err: messageOf(settled.err) }, 'tool call failed');
        else log.error({ err: settled.err }, 'tool call failed unexpectedly');
        const outcome = settled.err instanceof InputError ? 'invalid_input' : expected ? 'error' : 'internal_error';
        return finish(outcome, result);
      }
      case 'done': {
        const out = settled.value;
        const checked = tool.output.safeParse(out.structured);
        if (!checked.success) {
          log.error({ issues: checked.error.issues.slice(0, 5) }, 'tool output does not match its schema');
          return finish(
            'internal_error',
            toolError(`Internal error in ${name}: its result did not match its output schema; the server log has the details.`),
          );
        }
        log.debug({ ms: Math.round(performance.now() - started) }, 'tool call ok');
        const result = { content: [{ type: 'text' as const, text: out.text }], structuredContent: checked.data as Record<string, unknown> };
        return finish('ok', result, checked.data);
      }
    }
  });
}
