// Peak memory of the server while Prometheus sends it large answers, several at a time.
//   npm run build && npx tsx tools/large-answers.ts [--mib 60] [--concurrency 1,4,16] [--content-length]
// A fake Prometheus (a real one cannot produce a 60 MiB matrix on demand cheaply) answers every
// range query with the same matrix; each run starts a fresh server (dist/main.js over stdio),
// sends N query_metrics calls at once with distinct queries (so the cache cannot share them) and
// prints the server's peak RSS (VmHWM) and how the calls ended.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client, type CallToolResult } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

/** A Prometheus range answer (matrix) of about `mib` MiB: 1,000 series with labels like a container's. */
export function largeMatrix(mib: number): Buffer {
  const series = 1000;
  const t0 = 1_700_000_000;
  const point = (i: number) => `[${t0 + i * 15}.5,"${(123456.789 + i).toFixed(3)}"]`;
  const pointBytes = point(0).length + 1;
  const points = Math.max(1, Math.floor((mib * 1048576) / series / pointBytes));
  const values = Array.from({ length: points }, (_, i) => point(i)).join(',');
  const parts: string[] = [];
  for (let s = 0; s < series; s++) {
    const metric = `{"__name__":"container_memory_working_set_bytes","namespace":"payments","pod":"api-${s}","container":"app"}`;
    parts.push(`{"metric":${metric},"values":[${values}]}`);
  }
  return Buffer.from(`{"status":"success","data":{"resultType":"matrix","result":[${parts.join(',')}]}}`);
}

export interface LargeAnswerServer {
  url: string;
  /** bytes of one answer */
  bytes: number;
  close(): Promise<void>;
}

/** Serves `body` to every request, in 64 KiB chunks; with `contentLength` the size is announced up front. */
export async function serveLargeAnswer(body: Buffer, opts: { contentLength?: boolean } = {}): Promise<LargeAnswerServer> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...(opts.contentLength ? { 'content-length': body.length } : {}) });
    let at = 0;
    const next = () => {
      while (at < body.length) {
        const chunk = body.subarray(at, at + 65536);
        at += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', next);
      }
      res.end();
    };
    res.on('error', () => undefined);
    next();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    bytes: body.length,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Peak resident memory of a process so far, in bytes (Linux). */
export function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** N range queries at once, each a distinct query so that none shares another's request. */
export function largeQueries(client: Client, n: number, tag = 'q'): Promise<CallToolResult>[] {
  return Array.from(
    { length: n },
    (_, i) =>
      client.callTool(
        { name: 'query_metrics', arguments: { query: `container_memory_working_set_bytes{run="${tag}${i}"}`, range: '6h', step: '15s' } },
        { timeout: 120_000 },
      ) as Promise<CallToolResult>,
  );
}

const MAIN = join(fileURLToPath(new URL('..', import.meta.url)), 'dist/main.js');

async function run(url: string, n: number, env: Record<string, string>): Promise<{ peak: number; ok: number; errors: Map<string, number> }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MAIN],
    env: { PATH: process.env.PATH ?? '', ...env, PROMETHEUS_URL: url, LOG_LEVEL: 'warn', DATA_DIR: join(process.env.TMPDIR ?? '/tmp', `large-answers-${process.pid}`) },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'large-answers', version: '1.0.0' });
  await client.connect(transport);
  const pid = transport.pid!;
  const results = await Promise.allSettled(largeQueries(client, n));
  const peak = peakRss(pid);
  const errors = new Map<string, number>();
  let ok = 0;
  for (const r of results) {
    if (r.status === 'fulfilled' && !r.value.isError) ok++;
    else {
      const why = r.status === 'rejected' ? `protocol: ${String(r.reason).slice(0, 60)}` : String((r.value.content[0] as { text?: string })?.text).slice(0, 60);
      errors.set(why, (errors.get(why) ?? 0) + 1);
    }
  }
  await client.close();
  return { peak, ok, errors };
}

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const mib = Number(arg('--mib') ?? 60);
  const levels = (arg('--concurrency') ?? '1,4,16').split(',').map(Number);
  const body = largeMatrix(mib);
  const fake = await serveLargeAnswer(body, { contentLength: process.argv.includes('--content-length') });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (/^PROMETHEUS_/.test(k) && v !== undefined) env[k] = v;
  console.log(`answer: ${(body.length / 1048576).toFixed(1)} MiB${process.argv.includes('--content-length') ? ' with Content-Length' : ' chunked'}`);
  try {
    for (const n of levels) {
      const r = await run(fake.url, n, env);
      const errs = [...r.errors].map(([m, c]) => `${c}x "${m}"`).join('; ');
      console.log(`${String(n).padStart(3)} at once: peak RSS ${Math.round(r.peak / 1048576)} MiB; ${r.ok} answered${errs ? `; ${errs}` : ''}`);
    }
  } finally {
    await fake.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
