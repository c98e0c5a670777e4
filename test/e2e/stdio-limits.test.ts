// A stdio message over MCP_STDIO_MAX_MESSAGE_MB is answered, not fatal: the SDK's own stdio
// transport closed the connection at 10 MiB, ending the server with "client closed the connection".
import { ProtocolError as McpError } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connectStdio, tempDir, text, type Connected } from '../helpers/server.js';

/** `n` [unix seconds, value] pairs a minute apart, as an agent would send them inline. */
function points(n: number): [number, string][] {
  const start = 1_700_000_000;
  return Array.from({ length: n }, (_, i) => [start + i * 60, (100 + (i % 1440) / 10).toFixed(3)]);
}

describe('stdio messages over the size limit', () => {
  const dir = tempDir();
  let conn: Connected;
  beforeAll(async () => {
    conn = await connectStdio({ DATA_DIR: dir.path });
  });
  afterAll(async () => {
    await conn?.close();
    dir.cleanup();
  });

  it('a 1,000,000-point inline detect_anomaly call gets a tool error naming the limit; the next call works', async () => {
    const series = [{ labels: { pod: 'api-1' }, values: points(1_000_000) }];
    expect(JSON.stringify(series).length).toBeGreaterThan(10 * 1024 * 1024);
    const big = await call(conn.client, 'detect_anomaly', { series }, { timeout: 60_000 });
    expect(big.isError).toBe(true);
    expect(text(big)).toMatch(/^detect_anomaly was not called: its request is \d+ bytes, over the 10 MiB \(10485760 bytes\) limit for one stdio message \(MCP_STDIO_MAX_MESSAGE_MB\)/);
    // the same connection answers the next call
    const ok = await call(conn.client, 'detect_anomaly', { series: [{ values: points(200) }] });
    expect(ok.isError, text(ok)).toBeFalsy();
    expect(ok.structuredContent).toMatchObject({ series_total: 1 });
    expect(conn.stderr()).toMatch(/refused a stdio message over MCP_STDIO_MAX_MESSAGE_MB/);
    expect(conn.stderr()).toMatch(/"method":"tools\/call","tool":"detect_anomaly"/);
    expect(conn.stderr()).not.toMatch(/client closed the connection/);
  }, 120_000);
});

describe('stdio message limit, set low', () => {
  const dir = tempDir();
  let conn: Connected;
  beforeAll(async () => {
    conn = await connectStdio({ DATA_DIR: dir.path, MCP_STDIO_MAX_MESSAGE_MB: '1' });
  });
  afterAll(async () => {
    await conn?.close();
    dir.cleanup();
  });

  it('answers another request over it with a JSON-RPC error, and carries on', async () => {
    const concern = 'x'.repeat(2 * 1024 * 1024);
    const err = await conn.client.getPrompt({ name: 'investigate_namespace', arguments: { namespace: 'payments', concern } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(-32600);
    expect((err as McpError).message).toMatch(/This message is \d+ bytes, over the 1 MiB \(1048576 bytes\) limit for one stdio message \(MCP_STDIO_MAX_MESSAGE_MB\)/);
    // a small one is read as usual
    const fine = await conn.client.getPrompt({ name: 'investigate_namespace', arguments: { namespace: 'payments', concern: 'x'.repeat(400) } });
    expect(fine.messages.length).toBe(1);
    const listed = await call(conn.client, 'list_incidents', {});
    expect(listed.isError, text(listed)).toBeFalsy();
  }, 60_000);
});
