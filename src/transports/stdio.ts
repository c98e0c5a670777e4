import { StdioServerTransport, serveStdio as serveStdioEntry } from '@modelcontextprotocol/server/stdio';
import type { App } from '../app.js';
import { messageOf } from '../errors.js';
import { createMcpServer } from '../server.js';

/**
 * Serves one MCP connection on stdin/stdout; resolves `closed` when the client hangs up. The
 * SDK's entry picks the era from the opening message: a 2026-07-28 client (server/discover or
 * an enveloped request) or a 2025-era one (initialize), each served by a server from the factory.
 */
export async function serveStdio(app: App): Promise<{ closed: Promise<void>; close(): Promise<void> }> {
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  // The client exiting closes stdin; the entry owns the transport, so watch the stream itself.
  process.stdin.once('end', onClosed);
  process.stdin.once('close', onClosed);
  // A client gone while we answer makes stdout fail (EPIPE): that is a hang-up, not a crash.
  process.stdout.on('error', onClosed);
  const handle = serveStdioEntry(() => createMcpServer(app), {
    transport: new StdioServerTransport(),
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
