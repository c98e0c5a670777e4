// Reading and answering HTTP requests, shared by the routes: JSON answers, JSON-RPC errors, and
// a size-bounded JSON body that is asked for (100 Continue) only once the request is admitted.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Headers = Record<string, string | number>;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function rpcError(res: ServerResponse, status: number, code: number, message: string, headers: Headers = {}): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null }, headers);
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/** Whether the request says up front that its body is over `limit` bytes. */
export function declaredTooLarge(req: IncomingMessage, limit: number): boolean {
  return Number(header(req, 'content-length')) > limit;
}

/**
 * The parsed JSON body, counted as it arrives (admission refused one declared too large). A
 * client that sent `Expect: 100-continue` is told to go on only here, after admission, so a
 * refused request never uploads its body.
 */
export async function readJson(req: IncomingMessage, res: ServerResponse, limit: number): Promise<unknown> {
  if (/^100-continue$/i.test(header(req, 'expect') ?? '')) res.writeContinue();
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
