import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { App } from '../app.js';
import { createMcpServer } from '../server.js';

/** Serves one MCP connection on stdin/stdout; resolves `closed` when the client hangs up. */
export async function serveStdio(app: App): Promise<{ closed: Promise<void>; close(): Promise<void> }> {
  const server = createMcpServer(app);
  const transport = new StdioServerTransport();
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  // The SDK transport does not watch for end of input; a client that exits closes stdin.
  process.stdin.once('end', onClosed);
  process.stdin.once('close', onClosed);
  // A client gone while we answer makes stdout fail (EPIPE): that is a hang-up, not a crash.
  process.stdout.on('error', onClosed);
  transport.onclose = onClosed;
  await server.connect(transport);
  app.log.info({ transport: 'stdio' }, 'MCP server ready on stdio');
  return {
    closed,
    async close() {
      await server.close();
    },
  };
}
