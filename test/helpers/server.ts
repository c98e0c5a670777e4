// Starts the built server (dist/main.js) as a child process and connects the SDK's Client
// to it, over stdio or streamable HTTP, exactly as an agent would: the v2 client at protocol
// 2026-07-28 unless a test asks for the 1.x client, which speaks 2025-11-25.
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport, type CallToolResult } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../tools/test-prometheus.js';

export { freePort };

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = join(ROOT, 'dist/main.js');

export function tempDir(prefix = 'pim-test-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Environment for a server under test: no inherited Prometheus or data settings, and no
 * per-client rate limit (every test client is one "client", 127.0.0.1; the rate limit's own
 * tests turn it on).
 */
export function serverEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(PROMETHEUS_|THANOS_|DATA_DIR|MCP_|INCIDENT_|PORT$|HOST$|LOG_LEVEL)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, LOG_LEVEL: 'warn', MCP_RATE_LIMIT: '0', ...extra };
}

export type Transport = 'stdio' | 'http';

/** The v2 client, pinned to the stateless revision (no fallback to initialize). */
function modernClient(name: string): Client {
  return new Client({ name, version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
}

/**
 * Connects a v2 client. It checks every structured result against the tool's output schema,
 * compiled on its first tools/list: done here, so that cost (a second or more on a busy machine)
 * falls in no timed call.
 */
async function connectModern(client: Client, transport: Parameters<Client['connect']>[0]): Promise<void> {
  await client.connect(transport);
  await client.listTools();
}

export interface Connected {
  client: Client;
  /** the server process (for HTTP) or the stdio transport's child pid */
  pid: number;
  /** what the stdio server wrote to stderr so far (empty for HTTP: see HttpServer.stderr) */
  stderr(): string;
  close(): Promise<void>;
}

export async function connectStdio(env: Record<string, string>, args: string[] = []): Promise<Connected> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [MAIN, ...args], env: serverEnv(env), stderr: 'pipe' });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const client = modernClient('vitest');
  await connectModern(client, transport);
  return { client, pid: transport.pid!, stderr: () => err, close: () => client.close() };
}

export interface HttpServer {
  url: string;
  proc: ChildProcess;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns the server with --transport http on a free port and waits until it listens. */
export async function startHttpServer(env: Record<string, string>, args: string[] = [], nodeArgs: string[] = []): Promise<HttpServer> {
  const port = String(await freePort());
  const proc = spawn(process.execPath, [...nodeArgs, MAIN, '--transport', 'http', '--port', port, ...args], {
    env: serverEnv({ LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = `http://127.0.0.1:${port}/mcp`;
  // Ready when /healthz answers, whatever the log level.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${err}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not start:\n${err}`);
    }
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    proc,
    stderr: () => err,
    stop: (signal = 'SIGTERM') =>
      new Promise((done) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return done(proc.exitCode);
        proc.once('exit', (code) => done(code));
        proc.kill(signal);
      }),
  };
}

export async function connectHttp(url: string, headers: Record<string, string> = {}): Promise<Connected> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = modernClient('vitest-http');
  await connectModern(client, transport);
  return { client, pid: -1, stderr: () => '', close: () => client.close() };
}

/** The 1.x SDK's client over HTTP: initialize, then protocol 2025-11-25. */
export async function connectLegacyHttp(url: string, headers: Record<string, string> = {}): Promise<{ client: LegacyClient; close(): Promise<void> }> {
  const transport = new LegacyHttpTransport(new URL(url), { requestInit: { headers } });
  const client = new LegacyClient({ name: 'vitest-legacy', version: '1.0.0' });
  await client.connect(transport);
  return { client, close: () => client.close() };
}

/** A client connected over the given transport to a fresh server with `env`; close() stops both. */
export async function connectVia(transport: Transport, env: Record<string, string>): Promise<Connected> {
  if (transport === 'stdio') return connectStdio(env);
  const http = await startHttpServer(env);
  const conn = await connectHttp(http.url);
  return {
    client: conn.client,
    pid: http.proc.pid ?? -1,
    stderr: () => http.stderr(),
    close: async () => {
      await conn.close();
      await http.stop();
    },
  };
}

/** Calls a tool and returns its result, typed. */
export async function call(
  client: Client | LegacyClient,
  name: string,
  args: Record<string, unknown> = {},
  opts: { timeout?: number } = {},
): Promise<CallToolResult> {
  if (client instanceof LegacyClient) return (await client.callTool({ name, arguments: args }, undefined, opts)) as CallToolResult;
  return client.callTool({ name, arguments: args }, opts);
}

export function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** Runs the server with args and returns its exit code and stderr (for start-up failures). */
export function runServer(args: string[], env: Record<string, string>, timeoutMs = 10_000): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((done, reject) => {
    const proc = spawn(process.execPath, [MAIN, ...args], { env: serverEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not exit within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, stderr, stdout });
    });
    proc.stdin.end();
  });
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with full control of the headers (fetch forbids setting Host). */
export function rawRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'POST', headers: opts.headers ?? {}, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Headers and body of an MCP initialize request, for raw HTTP tests. */
export const MCP_POST_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
export const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

export interface ToolCall {
  r: CallToolResult;
  s: Record<string, any>;
  t: string;
}

/**
 * For a describe block: a server over `transport` with `env` and its own DATA_DIR, started
 * before the block's tests and stopped after; returns a tool caller.
 */
export function serverForSuite(transport: Transport, env: Record<string, string>): (tool: string, args: Record<string, unknown>) => Promise<ToolCall> {
  const dir = tempDir();
  let conn: Connected | undefined;
  beforeAll(async () => {
    conn = await connectVia(transport, { DATA_DIR: dir.path, ...env });
  });
  afterAll(async () => {
    await conn?.close();
    dir.cleanup();
  });
  return async (tool, args) => {
    const r = await call(conn!.client, tool, args);
    return { r, s: r.structuredContent as Record<string, unknown>, t: text(r) };
  };
}
