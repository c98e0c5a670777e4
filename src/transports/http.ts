// Streamable HTTP on /mcp (one McpServer per session, all sharing the App) and /healthz.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { App } from '../app.js';
import { messageOf } from '../errors.js';
import { createMcpServer } from '../server.js';
import { VERSION } from '../version.js';

export const MAX_BODY_BYTES = 1 << 20;

interface Session {
  transport: StreamableHTTPServerTransport;
  close(): Promise<void>;
}

export interface HttpHandle {
  url: string;
  server: Server;
  sessions: number;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function rpcError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new BodyError(413, `request body over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyError(413, `request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BodyError(400, 'request body is not valid JSON');
  }
}

export async function serveHttp(app: App, opts: { host: string; port: number }): Promise<HttpHandle> {
  const sessions = new Map<string, Session>();
  const log = app.log.child({ transport: 'http' });

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sid = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sid) ? sid[0] : sid;
    if (req.method === 'POST') {
      let body: unknown;
      try {
        body = await readJson(req, MAX_BODY_BYTES);
      } catch (err) {
        const status = err instanceof BodyError ? err.status : 400;
        rpcError(res, status, -32700, messageOf(err));
        return;
      }
      if (sessionId) {
        const s = sessions.get(sessionId);
        if (!s) return rpcError(res, 404, -32001, 'Session not found; initialize a new session');
        await s.transport.handleRequest(req, res, body);
        return;
      }
      if (!isInitializeRequest(body)) {
        return rpcError(res, 400, -32000, 'Bad Request: send initialize first, or the Mcp-Session-Id header');
      }
      const server = createMcpServer(app);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, close: () => server.close() });
          log.debug({ session: id, sessions: sessions.size }, 'session opened');
        },
      });
      transport.onclose = () => {
        if (transport.sessionId && sessions.delete(transport.sessionId)) {
          log.debug({ session: transport.sessionId, sessions: sessions.size }, 'session closed');
        }
      };
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      const s = sessionId ? sessions.get(sessionId) : undefined;
      if (!s) return rpcError(res, sessionId ? 404 : 400, -32001, 'Session not found; initialize a new session');
      await s.transport.handleRequest(req, res);
      return;
    }
    sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, POST, DELETE' });
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route =
      path === '/mcp'
        ? handleMcp(req, res)
        : path === '/healthz' && req.method === 'GET'
          ? Promise.resolve(sendJson(res, 200, { status: 'ok', version: VERSION, sessions: sessions.size }))
          : Promise.resolve(sendJson(res, 404, { error: `no route ${path}; the MCP endpoint is /mcp` }));
    route.catch((err: unknown) => {
      log.error({ err }, 'HTTP request failed');
      if (!res.headersSent) rpcError(res, 500, -32603, 'internal error');
      else res.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}/mcp`;
  log.info({ url }, 'MCP server ready on streamable HTTP');

  return {
    url,
    server,
    get sessions() {
      return sessions.size;
    },
    async close() {
      await Promise.allSettled([...sessions.values()].map((s) => s.close()));
      sessions.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
