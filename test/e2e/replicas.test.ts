// Two replicas on one PostgreSQL behind a real load balancer (Debian's haproxy, round robin,
// started here on 127.0.0.1): with no session state, whichever replica answers, every call of a
// mixed create/list/get/update/query run succeeds, for the v2 client at protocol 2026-07-28 and
// for the 1.x client at 2025-11-25, and what one replica writes the other reads. Then one replica
// is killed mid-run: calls in flight on it may fail, later calls succeed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshDatabase } from '../helpers/postgres.js';
import { call, connectHttp, connectLegacyHttp, freePort, startHttpServer, tempDir, type HttpServer } from '../helpers/server.js';

type Structured = Record<string, any>;
type Caller = (tool: string, args: Record<string, unknown>) => Promise<{ isError?: boolean; structuredContent?: Structured }>;

const haproxy = spawnSync('sh', ['-c', 'command -v haproxy']).stdout?.toString().trim() ?? '';

function haproxyConfig(port: number, backends: string[]): string {
  // retries + redispatch: a connection refused by a dead replica is retried on the other one
  return `global
  maxconn 2000
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch 1
frontend mcp
  bind 127.0.0.1:${port}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /healthz
${backends.map((b, i) => `  server r${i} ${b} check inter 300 fall 1 rise 2`).join('\n')}
`;
}

async function startHaproxy(dir: string, backends: string[]): Promise<{ url: string; proc: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(port, backends));
  const proc = spawn(haproxy, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 100 || proc.exitCode !== null) throw new Error(`haproxy did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    proc,
    stop: () =>
      new Promise((done) => {
        if (proc.exitCode !== null) return done();
        proc.once('exit', () => done());
        proc.kill('SIGTERM');
      }),
  };
}

interface Tally {
  ms: number[];
  errors: string[];
  ids: string[];
}

/** One round of the mixed run: create, list, get, update, query; returns the created id. */
async function round(c: Caller, who: string, n: number, tally: Tally): Promise<void> {
  const timed = async (tool: string, args: Record<string, unknown>): Promise<Structured | undefined> => {
    const t0 = performance.now();
    try {
      const r = await c(tool, args);
      tally.ms.push(performance.now() - t0);
      if (r.isError) tally.errors.push(`${who} ${tool}: ${JSON.stringify(r).slice(0, 200)}`);
      return r.structuredContent;
    } catch (err) {
      tally.ms.push(performance.now() - t0);
      tally.errors.push(`${who} ${tool}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const created = await timed('create_incident', { title: `${who}-${n}`, description: 'replica run', severity: 'medium', target: `replicas-${who}` });
  const id = created?.incident?.id as string | undefined;
  if (id) tally.ids.push(id);
  await timed('list_incidents', { target: `replicas-${who}`, limit: 5 });
  if (id) {
    await timed('get_incident', { id });
    await timed('update_incident', { id, note: `seen by ${who} round ${n}` });
  }
  await timed('query_metrics', { query: 'up' });
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

describe('two replicas on one PostgreSQL behind haproxy', () => {
  const dir = tempDir('pim-replicas-');
  let replicas: HttpServer[] = [];
  let lb: Awaited<ReturnType<typeof startHaproxy>>;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    if (haproxy === '') throw new Error('haproxy was not found: install it (Debian: apt-get install haproxy; .ci/run does)');
    const env = { INCIDENT_STORE: 'postgres', DATABASE_URL: await freshDatabase(), PROMETHEUS_URL: inject('prometheusUrl'), LOG_LEVEL: 'info' };
    replicas = await Promise.all([0, 1].map((i) => startHttpServer({ ...env, DATA_DIR: join(dir.path, `r${i}`) })));
    lb = await startHaproxy(dir.path, replicas.map((r) => new URL(r.url).host));
  }, 60_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await lb?.stop();
    await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
    dir.cleanup();
  });

  it('answers every call of a mixed run from both clients, whichever replica serves it; then survives losing one', async () => {
    const modern = await connectHttp(lb.url);
    const legacy = await connectLegacyHttp(lb.url);
    cleanups.push(() => modern.close(), () => legacy.close());
    const clients: [string, Caller][] = [
      ['v2-2026', (t, a) => call(modern.client, t, a) as never],
      ['v1-2025', (t, a) => call(legacy.client, t, a) as never],
    ];
    const ROUNDS = 20;
    const steady: Tally = { ms: [], errors: [], ids: [] };
    await Promise.all(clients.map(async ([who, c]) => {
      for (let n = 0; n < ROUNDS; n++) await round(c, who, n, steady);
    }));
    expect(steady.errors).toEqual([]);
    expect(steady.ids).toHaveLength(2 * ROUNDS);

    // both replicas answered, and each reads everything either one wrote
    const audits = replicas.map((r) => r.stderr().split('\n').filter((l) => l.includes('"audit":true')).length);
    for (const a of audits) expect(a).toBeGreaterThan(0);
    for (const r of replicas) {
      const direct = await connectHttp(r.url);
      for (const who of ['v2-2026', 'v1-2025']) {
        const s = (await call(direct.client, 'list_incidents', { target: `replicas-${who}`, limit: 100 })).structuredContent as Structured;
        expect(s.total).toBe(ROUNDS);
      }
      const one = (await call(direct.client, 'get_incident', { id: steady.ids[0]! })).structuredContent as Structured;
      expect(JSON.stringify(one)).toContain('seen by');
      await direct.close();
    }

    // kill one replica while both clients keep calling
    const after: Tally = { ms: [], errors: [], ids: [] };
    let killedAt = 0;
    const killer = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      killedAt = performance.now();
      await replicas[0]!.stop('SIGKILL');
    })();
    const late: Tally = { ms: [], errors: [], ids: [] };
    // rounds that start 2 s after the kill are "later calls": none of them may fail. Rounds go on
    // (for at most 30 s) until each client has made some, however fast the machine ran the others.
    const phaseEnd = performance.now() + 30_000;
    const isLate = () => killedAt > 0 && performance.now() - killedAt > 2000;
    await Promise.all(clients.map(async ([who, c]) => {
      let lateRounds = 0;
      for (let n = 0; n < ROUNDS || (lateRounds < 5 && performance.now() < phaseEnd); n++) {
        const tally = isLate() ? late : after;
        if (tally === late) lateRounds++;
        await round(c, `${who}-after`, n, tally);
      }
    }));
    await killer;
    expect(late.ms.length).toBeGreaterThan(0);
    expect(late.errors).toEqual([]);
    const survivor = await connectHttp(replicas[1]!.url);
    for (const id of [...steady.ids, ...after.ids, ...late.ids]) {
      const r = await call(survivor.client, 'get_incident', { id });
      expect(r.isError, id).toBeFalsy();
    }
    await survivor.close();

    const all = [...steady.ms, ...after.ms, ...late.ms];
    const errors = after.errors.length + late.errors.length;
    console.info(
      `replicas: ${all.length} calls (${steady.ms.length} steady, ${after.ms.length + late.ms.length} around the kill), ${errors} errors ` +
        `(${after.errors.length} within 2 s of the kill), p50 ${quantile(all, 0.5).toFixed(1)} ms, p99 ${quantile(all, 0.99).toFixed(1)} ms; ` +
        `audit lines per replica before the kill: ${audits.join(', ')}`,
    );
  }, 120_000);
});
