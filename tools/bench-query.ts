// Benchmark: query_metrics through MCP (stdio, the built server) against the same PromQL
// sent straight to Prometheus with undici, cold cache (every request a distinct evaluation
// time), and the cached path, all in one run against one Prometheus. Prints p50/p99 and ratios.
//
//   npm run build && npx tsx tools/bench-query.ts [--n 200] [--url http://127.0.0.1:9090]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Agent, request } from 'undici';
import { startFixturePrometheus } from './test-prometheus.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const N = Number(arg('--n', '200'));

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => `${x.toFixed(2)} ms`;

const env = process.argv.includes('--url') ? null : await startFixturePrometheus({ log: (s) => console.error(s) });
const promUrl = env?.url ?? arg('--url', '');
const dataDir = mkdtempSync(join(tmpdir(), 'pim-bench-'));
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [new URL('../dist/main.js', import.meta.url).pathname],
  env: { ...(process.env as Record<string, string>), DATA_DIR: dataDir, PROMETHEUS_URL: promUrl, LOG_LEVEL: 'error' },
});
const client = new Client({ name: 'bench-query', version: '1' });
await client.connect(transport);
const agent = new Agent({ connections: 8 });

const now = Math.floor(Date.now() / 1000);
const cases = [
  { name: 'instant: cpu by namespace', query: 'sum by (namespace) (rate(container_cpu_usage_seconds_total{container!=""}[5m]))', range: false },
  { name: 'range 6h/1m: memory of 5 pods', query: 'container_memory_working_set_bytes{namespace="payments",container!=""}', range: true },
];

async function direct(query: string, range: boolean, t: number): Promise<void> {
  const qs = range
    ? new URLSearchParams({ query, start: String(t - 6 * 3600), end: String(t), step: '60' })
    : new URLSearchParams({ query, time: String(t) });
  const res = await request(`${promUrl}/api/v1/${range ? 'query_range' : 'query'}?${qs}`, { dispatcher: agent });
  const body = (await res.body.json()) as { status: string };
  if (body.status !== 'success') throw new Error('direct query failed');
}

async function viaMcp(query: string, range: boolean, t: number): Promise<void> {
  const iso = new Date(t * 1000).toISOString();
  const args = range ? { query, start: new Date((t - 6 * 3600) * 1000).toISOString(), end: iso, step: '1m' } : { query, time: iso };
  const r = await client.callTool({ name: 'query_metrics', arguments: args });
  if (r.isError) throw new Error(JSON.stringify(r.content));
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

console.log(`query_metrics benchmark, ${N} requests per series, Prometheus ${promUrl}, node ${process.version}`);
console.log('case                             | direct p50 / p99     | MCP cold p50 / p99   | MCP cached p50 / p99 | MCP/direct | cold/cached');
for (const c of cases) {
  // warm up connections and the JIT on times outside the measured set
  for (let i = 0; i < 10; i++) {
    await direct(c.query, c.range, now - 100_000 - i * 60);
    await viaMcp(c.query, c.range, now - 200_000 - i * 60);
  }
  const d: number[] = [];
  const m: number[] = [];
  // interleaved, each on its own evaluation time, so neither side gets a warmer Prometheus
  for (let i = 0; i < N; i++) {
    const t = now - 3600 - i * 60;
    d.push(await timed(() => direct(c.query, c.range, t)));
    m.push(await timed(() => viaMcp(c.query, c.range, t - 30)));
  }
  const cachedT = now - 7200;
  await viaMcp(c.query, c.range, cachedT);
  const h: number[] = [];
  for (let i = 0; i < N; i++) h.push(await timed(() => viaMcp(c.query, c.range, cachedT)));
  console.log(
    `${c.name.padEnd(32)} | ${`${ms(pct(d, 50))} / ${ms(pct(d, 99))}`.padEnd(20)} | ${`${ms(pct(m, 50))} / ${ms(pct(m, 99))}`.padEnd(20)} | ${`${ms(pct(h, 50))} / ${ms(pct(h, 99))}`.padEnd(20)} | ${(pct(m, 50) / pct(d, 50)).toFixed(2).padStart(10)} | ${(pct(m, 50) / pct(h, 50)).toFixed(2).padStart(11)}`,
  );
}
await client.close();
await agent.close();
await env?.stop();
rmSync(dataDir, { recursive: true, force: true });
