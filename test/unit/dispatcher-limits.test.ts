// The dispatcher's policies that every tool gets for free: the per-call time limit (even for
// a handler that never settles), read-only mode (hidden from tools/list and refused in
// tools/call, decided by annotations alone) and audit lines for tools that change state.
// Driven by the SDK's real Client over an in-memory transport (2025-era: the in-memory pair has no 2026 entry), with tools made for the test.
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport, McpServer, type CallToolResult } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { NotFoundError } from '../../src/errors.js';
import { FileIncidentStore } from '../../src/incidents/file-store.js';
import { installTools } from '../../src/mcp/dispatcher.js';
import { defineTool, type ToolDef } from '../../src/mcp/tool.js';
import { ServerMetrics } from '../../src/metrics.js';
import { captureLogger } from '../helpers/log.js';
import { tempDir } from '../helpers/server.js';

let aborted: unknown = null;
const never = defineTool({
  name: 'stuck_lookup',
  description: 'never answers and ignores its signal',
  input: z.strictObject({}),
  output: z.object({}),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  handler: (_args, { signal }) => {
    signal.addEventListener('abort', () => (aborted = signal.reason));
    return new Promise(() => {});
  },
});
const closeThing = defineTool({
  name: 'close_thing',
  description: 'changes state',
  input: z.strictObject({
    // stands in for any validation that throws (in real tools: input nested deep enough to exhaust the stack)
    id: z.string().refine((id) => {
      if (id === 'explode') throw new RangeError('Maximum call stack size exceeded');
      return true;
    }),
    slow: z.boolean().default(false),
  }),
  output: z.object({ incident: z.object({ id: z.string() }) }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handler({ id, slow }) {
    if (id === 'missing') throw new NotFoundError(`no incident ${id}`);
    if (slow) await new Promise((r) => setTimeout(r, 500));
    return { structured: { incident: { id } }, text: `closed ${id}` };
  },
});
const TEST_TOOLS = [never, closeThing] as unknown as readonly ToolDef[];

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function connect(overrides: Partial<Config>) {
  const dir = tempDir();
  const cap = captureLogger('info');
  const action = loadConfig([], { DATA_DIR: dir.path });
  if (action.kind !== 'run') throw new Error('no config');
  const config = { ...action.config, ...overrides };
  const store = await FileIncidentStore.open(dir.path, { logger: cap.log });
  const metrics = new ServerMetrics({ store, prometheus: null, log: cap.log });
  const app: App = { config, log: cap.log, store, prometheus: null, metrics, close: () => store.close() };
  const mcp = new McpServer({ name: 't', version: '1' });
  installTools(mcp.server, TEST_TOOLS, app);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await mcp.connect(a);
  const client = new Client({ name: 'unit-agent', version: '1' });
  await client.connect(b);
  cleanups.push(() => dir.cleanup(), () => store.close(), () => client.close());
  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { client, call, lines: cap.lines, metrics };
}

const text = (r: CallToolResult) => (r.content[0] as { text: string }).text;

describe('dispatcher limits', () => {
  it('answers a handler that never settles with a tool error at the time limit and aborts its signal', async () => {
    const { call, metrics } = await connect({ toolTimeoutMs: 200 });
    aborted = null;
    const r = await call('stuck_lookup', {});
    expect(r.isError).toBe(true);
    expect(text(r)).toBe('stuck_lookup did not finish within 200ms (MCP_TOOL_TIMEOUT). Retry later or with a smaller request.');
    expect(String(aborted)).toMatch(/timed out after 200 ms/);
    expect((await metrics.scrape()).body).toContain('prom_incident_mcp_tool_calls_total{tool="stuck_lookup",outcome="timeout"} 1');
  });

  it('warns that a timed-out change may still complete', async () => {
    const { call } = await connect({ toolTimeoutMs: 100 });
    const r = await call('close_thing', { id: 'inc-1', slow: true });
    expect(text(r)).toMatch(/did not finish within 100ms .*It may still complete: check the current state before retrying/);
  });

  it('read-only mode hides and refuses every tool that is not readOnlyHint', async () => {
    const { client, call, lines } = await connect({ readOnly: true, toolTimeoutMs: 100 });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['stuck_lookup']);
    const r = await call('close_thing', { id: 'inc-1' });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/close_thing is disabled: this server is read-only/);
    expect(lines().find((l) => l.audit)).toMatchObject({ tool: 'close_thing', outcome: 'refused', incident: 'inc-1', client: 'unit-agent' });
    const unknown = await call('nope', {});
    expect(text(unknown)).toMatch(/Unknown tool "nope"\. Available tools: stuck_lookup\./);
  });

  it('writes one audit line per call of a tool that changes state, with incident, client and outcome', async () => {
    const { call, lines } = await connect({});
    await call('close_thing', { id: 'inc-00000000000000aa' });
    await call('close_thing', { id: 'missing' });
    await call('close_thing', { id: 42 });
    const audit = lines().filter((l) => l.audit);
    expect(audit).toHaveLength(3);
    expect(audit[0]).toMatchObject({ level: 30, tool: 'close_thing', incident: 'inc-00000000000000aa', client: 'unit-agent', outcome: 'ok' });
    expect(audit[1]).toMatchObject({ incident: 'missing', outcome: 'error' });
    expect(audit[2]).toMatchObject({ incident: null, outcome: 'invalid_input' });
    expect(typeof audit[0]!.ms).toBe('number');
  });

  it('answers validation that throws with an invalid-input tool error, audited and counted like others', async () => {
    const { call, lines, metrics } = await connect({});
    const r = await call('close_thing', { id: 'explode' });
    expect(r.isError).toBe(true);
    expect(text(r)).toBe(
      'Invalid arguments for close_thing:\n- (arguments): could not be validated (Maximum call stack size exceeded); send smaller, less deeply nested values',
    );
    expect(lines().filter((l) => l.audit)).toMatchObject([{ tool: 'close_thing', incident: 'explode', outcome: 'invalid_input' }]);
    expect((await metrics.scrape()).body).toContain('prom_incident_mcp_tool_calls_total{tool="close_thing",outcome="invalid_input"} 1');
  });
});
