// The client name from initialize goes into every timeline entry and log line: it is kept
// short and free of control characters, whatever a client sends.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { cleanClientName } from '../../src/mcp/dispatcher.js';
import { MAIN, serverEnv, tempDir } from '../helpers/server.js';

describe('client names', () => {
  it('are cleaned before they reach an incident', async () => {
    expect(cleanClientName('claude-code\u0000\n')).toBe('claude-code');
    expect(cleanClientName('x'.repeat(500))).toHaveLength(100);
    expect(cleanClientName('\u0001\u0002')).toBeUndefined();
    expect(cleanClientName(42)).toBeUndefined();
    // jsonb refuses lone surrogates, and a cut must not make one
    expect(cleanClientName('agent\ud800')).toBe('agent\ufffd');
    expect(cleanClientName(`${'x'.repeat(99)}🔥`)).toBe('x'.repeat(99));

    const dir = tempDir();
    const client = new Client({ name: `agent\u0000${'y'.repeat(5000)}`, version: '1' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [MAIN], env: serverEnv({ DATA_DIR: dir.path }) }));
    const r = (await client.callTool({ name: 'create_incident', arguments: { title: 't', description: 'd', severity: 'low', target: 'x' } })) as CallToolResult;
    expect(r.isError).toBeFalsy();
    const id = (r.structuredContent as { incident: { id: string } }).incident.id;
    const full = (await client.callTool({ name: 'get_incident', arguments: { id } })) as CallToolResult;
    const by = (full.structuredContent as { incident: { timeline: { by: string }[] } }).incident.timeline[0]!.by;
    expect(by).toBe(`agent${'y'.repeat(95)}`);
    await client.close();
    dir.cleanup();
  });
});
