import { deserializeMessage, serializeMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/server';
import { serveStdio as serveStdioEntry } from '@modelcontextprotocol/server/stdio';
import type { App } from '../app.js';
import { messageOf } from '../errors.js';
import { toolError } from '../mcp/tool-errors.js';
import { createMcpServer } from '../server.js';
import { LineSplitter, type Oversized } from './stdio-framing.js';

/**
 * MCP over stdin/stdout, one JSON message a line. Unlike the SDK's StdioServerTransport, which
 * closes the connection when a line outgrows its buffer, a line over the limit is skipped and
 * answered (see tooLarge), and the next line is read as usual.
 */
class LimitedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly lines: LineSplitter;
  private readonly onData = (chunk: Buffer) => this.lines.push(chunk);
  private readonly onError = (err: Error) => this.onerror?.(err);

  constructor(limit: number, refuse: (o: Oversized) => JSONRPCMessage | null) {
    this.lines = new LineSplitter(limit, (line) => this.read(line), (o) => {
      const answer = refuse(o);
      if (answer) this.send(answer).catch((err: Error) => this.onerror?.(err));
    });
  }

  async start(): Promise<void> {
    process.stdin.on('data', this.onData);
    process.stdin.on('error', this.onError);
  }

  private read(line: string): void {
    let message: JSONRPCMessage;
    try {
      message = deserializeMessage(line);
    } catch (err) {
      this.onerror?.(err as Error);
      return;
    }
    this.onmessage?.(message);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (process.stdout.write(serializeMessage(message))) resolve();
      else process.stdout.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    process.stdin.off('data', this.onData);
    process.stdin.off('error', this.onError);
    process.stdin.pause();
    this.onclose?.();
  }
}

/**
 * The answer to a message too large to read: a tool error for a tools/call (the agent reads
 * it like any other), a JSON-RPC error for other requests, nothing for a notification.
 */
function tooLarge(o: Oversized, limitMb: number): JSONRPCMessage | null {
  const what = o.method === 'tools/call' && o.tool ? `${o.tool} was not called: its request` : 'This message';
  const text =
    `${what} is ${o.bytes} bytes, over the ${limitMb} MiB (${limitMb * 1024 * 1024} bytes) limit for one stdio message ` +
    '(MCP_STDIO_MAX_MESSAGE_MB), so it was not read. Send less data in one call.';
  // no id and no method: JSON-RPC's answer to a request it cannot identify has id null (the SDK's types have no such case)
  if (o.id === null) return o.method ? null : { jsonrpc: '2.0', id: null as unknown as string, error: { code: -32600, message: text } };
  // resultType: a 2026-07-28 client requires it; earlier clients ignore it
  if (o.method === 'tools/call') return { jsonrpc: '2.0', id: o.id, result: { ...toolError(text), resultType: 'complete' } };
  return { jsonrpc: '2.0', id: o.id, error: { code: -32600, message: text } };
}

/**
 * Serves one MCP connection on stdin/stdout; resolves `closed` when the client hangs up. The
 * SDK's entry picks the era from the opening message: a 2026-07-28 client (server/discover or
 * an enveloped request) or a 2025-era one (initialize), each served by a server from the factory,
 * over our transport (which answers an oversized message instead of hanging up).
 */
export async function serveStdio(app: App): Promise<{ closed: Promise<void>; close(): Promise<void> }> {
  const limitMb = app.config.stdioMaxMessageMb;
  const transport = new LimitedStdioTransport(limitMb * 1024 * 1024, (o) => {
    app.log.warn({ ...o, limit: `${limitMb} MiB` }, 'refused a stdio message over MCP_STDIO_MAX_MESSAGE_MB');
    return tooLarge(o, limitMb);
  });
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  // The client exiting closes stdin; the entry owns the transport, so watch the stream itself.
  process.stdin.once('end', onClosed);
  process.stdin.once('close', onClosed);
  // A client gone while we answer makes stdout fail (EPIPE): that is a hang-up, not a crash.
  process.stdout.on('error', onClosed);
  const handle = serveStdioEntry(() => createMcpServer(app), {
    transport,
    onerror: (err) => app.log.debug({ err: messageOf(err) }, 'stdio transport error'),
  });
  app.log.info({ transport: 'stdio' }, 'MCP server ready on stdio');
  return {
    closed,
    async close() {
      await handle.close();
    },
  };
}
