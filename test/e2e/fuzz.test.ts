// Property-based fuzzing of every tool's arguments through the real MCP client, over HTTP
// (most cases) and stdio, with the test run's real Prometheus behind the metric tools. Arbitraries come from each tool's inputSchema in tools/list
// (test/helpers/schema-arbitrary.ts), so tools added later are fuzzed too. Properties: the
// server never crashes or logs an error, has no unhandled rejection, answers every call,
// never shows a stack trace, and answers every input broken on purpose with a tool error
// that names the broken field. FUZZ_CASES (total, default 4000) and FUZZ_SEED tune a run.
import fc from 'fast-check';
import type { Tool } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { call, connectHttp, connectStdio, startHttpServer, tempDir, text, type Connected, type HttpServer } from '../helpers/server.js';
import { casesFor, type FuzzCase, type Schema } from '../helpers/schema-arbitrary.js';

const TOTAL = Number(process.env.FUZZ_CASES ?? 4000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const SHARE = { http: 0.85, stdio: 0.15 };
const PROMETHEUS_URL = inject('prometheusUrl');

const counts = new Map<string, number>();
const bump = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);

async function check(conn: Connected, tool: Tool, c: FuzzCase): Promise<void> {
  let r;
  try {
    r = await call(conn.client, tool.name, c.args as Record<string, unknown>, { timeout: 10_000 });
  } catch (err) {
    // Only arguments that are not an object at all may fail at the protocol level: -32602.
    expect(c.how, String(err)).toBe('junk arguments');
    expect((err as { code?: number }).code, String(err)).toBe(-32602);
    bump(`${tool.name}: protocol error (-32602)`);
    return;
  }
  const t = text(r);
  expect(t, 'a stack trace or internal error leaked').not.toMatch(/\n\s+at |Internal error|\/dist\/|\.js:\d+/);
  if (c.broken !== null) {
    expect(r.isError, `accepted (${c.how}: ${c.broken}) ${JSON.stringify(c.args).slice(0, 300)}`).toBe(true);
    expect(t).toMatch(new RegExp(`^Invalid arguments for ${tool.name}:\\n`));
    expect(t).toContain(c.broken.trim() === '' ? 'unknown field' : c.broken);
  }
  if (!r.isError) {
    bump(`${tool.name}: accepted`);
    expect(r.structuredContent, t).toBeDefined();
    return;
  }
  // Valid-looking input may still fail in the domain (not found, not allowed, Prometheus
  // rejected the PromQL): fine, as long as it is not an internal error (checked above).
  if (!t.startsWith('Invalid arguments for ')) {
    bump(`${tool.name}: domain error`);
    return;
  }
  bump(`${tool.name}: input error`);
  expect(t, t).toMatch(new RegExp(`^Invalid arguments for ${tool.name}:\\n- `));
  // every line names a field of the schema (or the arguments as a whole)
  const fields = Object.keys((tool.inputSchema.properties ?? {}) as Schema);
  // ("- title: ...", "- labels[\"k\"]: ...", "- query, series: ...")
  const starts = ['(arguments)', ...fields].map((f) => `- ${f}`);
  for (const line of t.split('\n').filter((l) => l.startsWith('- '))) {
    if (/unknown field/.test(line)) continue;
    const ok = starts.some((st) => line.startsWith(st) && /^[:[.,]/.test(line.slice(st.length)));
    expect(ok, `line does not name a field: ${line.slice(0, 200)}`).toBe(true);
  }
}

/** Fuzzes every tool side by side, one client each; returns the number of cases run. */
async function fuzzAll(connect: () => Promise<Connected>, share: number): Promise<number> {
  const lister = await connect();
  const { tools } = await lister.client.listTools();
  await lister.close();
  expect(tools.length).toBeGreaterThan(0);
  const perTool = Math.max(100, Math.round((TOTAL * share) / tools.length));
  await Promise.all(
    tools.map(async (tool) => {
      const conn = await connect();
      try {
        await fc.assert(
          fc.asyncProperty(casesFor(tool.inputSchema as Schema), async (c) => {
            bump(`${tool.name}: ${c.how}`);
            await check(conn, tool, c);
          }),
          { numRuns: perTool, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true },
        );
      } finally {
        await conn.close();
      }
    }),
  );
  return perTool * tools.length;
}

/** Lines that mean trouble: error/fatal logs, unhandled rejections, uncaught exceptions. */
function troubleIn(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /"level":(50|60)/.test(l) || /unhandled|uncaught/i.test(l));
}

describe('fuzzing every tool through the MCP client', () => {
  const dir = tempDir();
  const done: string[] = [];
  afterAll(() => {
    dir.cleanup();
    const report = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `  ${k}: ${n}`);
    console.log(`fuzz: ${done.join(', ')}\n${report.join('\n')}`);
  });

  it('over HTTP: thousands of random and hostile arguments, no crash, every bad field named', async () => {
    const srv: HttpServer = await startHttpServer({ DATA_DIR: dir.path, PROMETHEUS_URL });
    try {
      const started = performance.now();
      const n = await fuzzAll(() => connectHttp(srv.url), SHARE.http);
      done.push(`${n} cases over HTTP in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      expect(srv.proc.exitCode).toBeNull();
      const after = await connectHttp(srv.url);
      expect((await call(after.client, 'list_incidents', { status: 'all', limit: 1 })).isError).toBeFalsy();
      await after.close();
      expect(troubleIn(srv.stderr())).toEqual([]);
    } finally {
      // a clean exit after all that is part of the property
      expect(await srv.stop('SIGTERM')).toBe(0);
    }
  }, 180_000);

  it('over stdio: the same properties', async () => {
    const conns: Connected[] = [];
    const started = performance.now();
    const n = await fuzzAll(async () => {
      const c = await connectStdio({ DATA_DIR: dir.path, LOG_LEVEL: 'info', PROMETHEUS_URL });
      conns.push(c);
      return c;
    }, SHARE.stdio);
    done.push(`${n} cases over stdio in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    for (const c of conns) expect(troubleIn(c.stderr())).toEqual([]);
  }, 180_000);
});
