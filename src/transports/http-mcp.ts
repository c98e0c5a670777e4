// The MCP endpoint: the SDK's per-request handler serves 2026-07-28 requests natively and
// 2025-era ones (2025-11-25, 2025-06-18) statelessly, each from a fresh McpServer on the shared
// App. No session is kept, so any replica answers any request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler } from '@modelcontextprotocol/server';
import type { App } from '../app.js';
import { messageOf } from '../errors.js';
import { createMcpServer } from '../server.js';
import type { Caller } from './http-admission.js';
import { rpcError, sendJson } from './http-io.js';

/** JSON-RPC's answer to a batch with no messages in it. */
const EMPTY_BATCH = 'Invalid Request: an empty batch ([]) holds no request';

/**
 * Nesting the SDK's message checks walk safely (they recurse: about 4,000 levels exhaust the
 * stack). Our own schemas stop far sooner (evidence at 32 levels); this only keeps a hostile
 * body from becoming an internal error.
 */
export const MAX_NESTING = 2048;

/** Whether a parsed JSON value nests deeper than `limit` (iterative, so any depth is safe). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** The id of a single JSON-RPC request, for an error answer that the client can match. */
function idOf(body: unknown): string | number | null {
  const id = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { id?: unknown }).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

interface McpEndpoint {
  /** Answers one request; `body` is the parsed POST body (undefined for GET and DELETE). */
  handle(req: IncomingMessage, res: ServerResponse, caller: Caller, body: unknown): Promise<void>;
  close(): Promise<void>;
}

export function mcpEndpoint(app: App, maxBodyBytes: number): McpEndpoint {
  const log = app.log.child({ transport: 'http' });
  const onerror = (err: Error) => log.debug({ err: messageOf(err) }, 'MCP request refused or failed');
  const handler = createMcpHandler(() => createMcpServer(app), { legacy: 'stateless', maxRequestBodySize: maxBodyBytes, onerror });
  const node = toNodeHandler(handler, { maxRequestBodySize: maxBodyBytes, onerror });
  return {
    async handle(req, res, caller, body) {
      if (Array.isArray(body) && body.length === 0) return rpcError(res, 400, -32600, EMPTY_BATCH);
      if (nestsDeeperThan(body, MAX_NESTING)) {
        const message = `Invalid params: the request nests more than ${MAX_NESTING} levels deep; send flatter arguments`;
        return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32602, message }, id: idOf(body) });
      }
      // read by the dispatcher (audit lines) as the caller's identity
      const authed = Object.assign(req, { auth: { token: '', clientId: caller.client, scopes: [] } });
      await node(authed, res, body);
    },
    close: () => handler.close(),
  };
}
