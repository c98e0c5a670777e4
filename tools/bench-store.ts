// Incident store benchmark: for the file store and PostgreSQL, the latency (p50, p99) of
// create, update, get and filtered lists at 1,000 and at 100,000 incidents, their ratio
// (cost growth), start-up load time, and the file store's memory at the large size.
// The two sizes are measured interleaved (one op on each, in turn) so machine noise hits both.
//   node --expose-gc --import tsx tools/bench-store.ts [--small N] [--large N] [--ops N] [--only file|postgres]
// PostgreSQL: a throwaway server with fsync on (tools/test-postgres.ts), or BENCH_DATABASE_URL.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { FileIncidentStore } from '../src/incidents/file-store.js';
import { journalLine } from '../src/incidents/journal-format.js';
import type { Incident, Severity, Status } from '../src/incidents/model.js';
import { PostgresIncidentStore } from '../src/incidents/pg-store.js';
import type { IncidentStore, ListQuery } from '../src/incidents/store.js';
import { createLogger } from '../src/log.js';
import { startTestPostgres, type TestPostgres } from './test-postgres.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
};
const SMALL = arg('small', 1_000);
const LARGE = arg('large', 100_000);
const OPS = arg('ops', 300);
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const logger = createLogger('silent');
const gc = (globalThis as { gc?: () => void }).gc;

// ---- synthetic incidents -------------------------------------------------------------------

const SEVERITIES: Severity[] = ['low', 'medium', 'high', 'critical'];
const NAMESPACES = Array.from({ length: 20 }, (_, i) => `ns-${i}`);

function synthetic(n: number, total: number): Incident {
  const created = Date.now() - 60 * 86_400_000 + Math.floor((n * 60 * 86_400_000) / total);
  const at = new Date(created).toISOString();
  const status: Status = n % 10 < 6 ? 'active' : n % 10 < 9 ? 'resolved' : 'cancelled';
  const closed = new Date(created + 3_600_000).toISOString();
  const ns = NAMESPACES[n % NAMESPACES.length]!;
  const timeline: Incident['timeline'] = [{ at, by: 'bench', event: 'created' }];
  if (status !== 'active') timeline.push({ at: closed, by: 'bench', event: 'status', from: 'active', to: status });
  return {
    id: `inc-${randomBytes(8).toString('hex')}`,
    title: `High CPU usage in deployment api-${n % 97}`,
    description: `CPU above 80% for 30 minutes on api-${n % 97} in ${ns}; p95 latency rose to 2.1 s and error rate to 1.4%.`,
    severity: SEVERITIES[n % 4]!,
    status,
    target: ns,
    namespace: ns,
    affected_resources: [`deployment/api-${n % 97}`],
    labels: { team: `team-${n % 7}`, alert: 'HighCPU' },
    created_at: at,
    updated_at: status === 'active' ? at : closed,
    resolved_at: status === 'resolved' ? closed : null,
    workflow_id: null,
    dedup_key: null,
    evidence: n % 3 === 0 ? [{ kind: 'promql', summary: 'CPU 0.93 cores', query: `sum(rate(container_cpu_usage_seconds_total{namespace="${ns}"}[5m]))` }] : [],
    timeline,
  };
}

async function fill(store: IncidentStore, total: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < total; i += 5_000) {
    const batch = Array.from({ length: Math.min(5_000, total - i) }, (_, k) => synthetic(i + k, total));
    await store.importMany(batch);
    ids.push(...batch.map((b) => b.id));
  }
  return ids;
}

// ---- measuring -----------------------------------------------------------------------------

interface Target {
  store: IncidentStore;
  ids: string[];
  samples: Map<string, number[]>;
}

const LISTS: Record<string, ListQuery> = {
  'list status+severity': { status: 'active', severity: 'high', limit: 50 },
  'list namespace+label': { namespace: 'ns-3', labels: { team: 'team-2' }, limit: 50 },
};

async function timed(t: Target, op: string, fn: () => Promise<unknown>): Promise<void> {
  const start = performance.now();
  await fn();
  const ms = performance.now() - start;
  let s = t.samples.get(op);
  if (!s) t.samples.set(op, (s = []));
  s.push(ms);
}

async function oneRound(t: Target, i: number): Promise<void> {
  const pick = () => t.ids[Math.floor(Math.random() * t.ids.length)]!;
  await timed(t, 'create', async () => {
    const { incident } = await t.store.create({ title: `bench ${i}`, description: 'created by bench-store', severity: 'high', target: 'ns-1' }, 'bench');
    t.ids.push(incident.id);
  });
  await timed(t, 'update (note)', () => t.store.update(pick(), { note: `note ${i}` }, 'bench'));
  await timed(t, 'get', () => t.store.get(pick()));
  for (const [name, q] of Object.entries(LISTS)) await timed(t, name, () => t.store.list(q));
}

/** Runs OPS rounds on each target, interleaved, with the order flipped every round. */
async function measure(targets: Target[]): Promise<void> {
  for (let i = 0; i < 20; i++) for (const t of targets) await oneRound(t, -i); // warm-up
  for (const t of targets) t.samples.clear();
  for (let i = 0; i < OPS; i++) for (const t of i % 2 ? [...targets].reverse() : targets) await oneRound(t, i);
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (x: number) => (x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));

function report(backend: string, small: Target, large: Target, extra: string[]): string[] {
  const rows = [`${backend}: latency in ms over ${OPS} ops each (p50 / p99); ratio = p50 at ${LARGE} / p50 at ${SMALL}`];
  rows.push(`  ${'op'.padEnd(22)} ${`${SMALL}: p50`.padStart(11)} ${'p99'.padStart(8)} ${`${LARGE}: p50`.padStart(13)} ${'p99'.padStart(8)} ${'ratio'.padStart(7)}`);
  for (const op of small.samples.keys()) {
    const a = small.samples.get(op)!;
    const b = large.samples.get(op)!;
    const ratio = pct(b, 50) / pct(a, 50);
    rows.push(
      `  ${op.padEnd(22)} ${ms(pct(a, 50)).padStart(11)} ${ms(pct(a, 99)).padStart(8)} ${ms(pct(b, 50)).padStart(13)} ${ms(pct(b, 99)).padStart(8)} ${ratio.toFixed(2).padStart(7)}`,
    );
  }
  return [...rows, ...extra.map((e) => `  ${e}`)];
}

/** Opens the store three times and reports the median time (the machine may be busy). */
async function timeOpen<T extends IncidentStore>(open: () => Promise<T>): Promise<{ store: T; ms: number }> {
  const times: number[] = [];
  for (let i = 0; ; i++) {
    const start = performance.now();
    const store = await open();
    times.push(performance.now() - start);
    if (i === 2) return { store, ms: pct(times, 50) };
    await store.close();
  }
}

// ---- the backends --------------------------------------------------------------------------

/**
 * Start-up as a server does it: in a new process, median of three opens, and the memory the
 * loaded store holds (heap after a GC, and the snapshot buffer outside the heap).
 */
function startupInFreshProcess(dir: string): { ms: number; heap: number; external: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--open', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`start-up measurement failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; heap: number; external: number };
}

async function openMode(dir: string): Promise<void> {
  const times: number[] = [];
  let result = { heap: 0, external: 0 };
  for (let i = 0; i < 3; i++) {
    gc?.();
    const before = process.memoryUsage();
    const start = performance.now();
    const store = await FileIncidentStore.open(dir, { logger });
    times.push(performance.now() - start);
    gc?.();
    const after = process.memoryUsage();
    // the first open only: a closed store's memory may not all be collected before the next
    if (i === 0) result = { heap: after.heapUsed - before.heapUsed, external: after.external - before.external };
    await store.close();
  }
  process.stdout.write(`${JSON.stringify({ ms: pct(times, 50), ...result })}\n`);
}

/** Appends `n` update records (a note on a random incident) to the journal, as writers would. */
function appendUpdates(dir: string, ids: string[], n: number): void {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(Math.random() * ids.length);
    const inc = { ...synthetic(k, ids.length), id: ids[k]! };
    const note = { at: new Date().toISOString(), by: 'bench', event: 'note' as const, note: `n${i}` };
    lines.push(journalLine({ op: 'put', incident: { ...inc, timeline: [...inc.timeline, note] } }, 2));
  }
  appendFileSync(join(dir, 'incidents.journal'), lines.join(''));
}

async function benchFile(): Promise<string[]> {
  const dirs = [SMALL, LARGE].map(() => mkdtempSync(join(tmpdir(), 'pim-bench-')));
  try {
    const extra: string[] = [];
    const targets: Target[] = [];
    for (const [k, size] of [SMALL, LARGE].entries()) {
      const dir = dirs[k]!;
      const first = await FileIncidentStore.open(dir, { logger });
      const ids = await fill(first, size);
      await first.compact();
      await first.close();
      const fromSnapshot = startupInFreshProcess(dir);
      // Compaction runs once the journal holds 10,000 records: the most start-up replays.
      const journalRecords = 10_000;
      appendUpdates(dir, ids, journalRecords);
      const withJournal = startupInFreshProcess(dir);
      const store = await FileIncidentStore.open(dir, { logger });
      const compactStart = performance.now();
      await store.compact();
      const compactMs = performance.now() - compactStart;
      const mb = (x: number) => (x / 2 ** 20).toFixed(0);
      extra.push(
        `start-up load at ${size}: ${fromSnapshot.ms.toFixed(0)} ms from the snapshot; ${withJournal.ms.toFixed(0)} ms with ${journalRecords} journal records on top; ` +
          `compaction ${compactMs.toFixed(0)} ms (writers not blocked); memory after load ${mb(fromSnapshot.heap)} MB heap + ${mb(fromSnapshot.external)} MB snapshot buffer`,
      );
      targets.push({ store, ids, samples: new Map() });
    }
    await measure(targets);
    for (const t of targets) await t.store.close();
    const ratio = pct(targets[1]!.samples.get('create')!, 50) / pct(targets[0]!.samples.get('create')!, 50);
    extra.push(`target: create at ${LARGE} within 1.5x of ${SMALL}: ${ratio.toFixed(2)}x, ${ratio <= 1.5 ? 'met' : 'NOT met'}`);
    return report('file store', targets[0]!, targets[1]!, extra);
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

async function benchPostgres(): Promise<string[]> {
  let server: TestPostgres | undefined;
  const base = process.env.BENCH_DATABASE_URL ?? (server = await startTestPostgres({ fsync: true })).url;
  try {
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    const extra: string[] = [];
    const targets: Target[] = [];
    for (const size of [SMALL, LARGE]) {
      const name = `pim_bench_${randomBytes(4).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(base);
      url.pathname = `/${name}`;
      const first = await PostgresIncidentStore.open(url.href, { logger });
      const ids = await fill(first, size);
      await first.close();
      const c = new pg.Client({ connectionString: url.href });
      await c.connect();
      await c.query('VACUUM ANALYZE incidents'); // what autovacuum does after a bulk load
      await c.end();
      const opened = await timeOpen(() => PostgresIncidentStore.open(url.href, { logger }));
      extra.push(`start-up at ${size}: ${opened.ms.toFixed(0)} ms (connect + schema check; nothing is loaded)`);
      targets.push({ store: opened.store, ids, samples: new Map() });
    }
    await measure(targets);
    for (const t of targets) await t.store.close();
    await admin.end();
    return report(`PostgreSQL${server ? ' (throwaway server, fsync on)' : ''}`, targets[0]!, targets[1]!, extra);
  } finally {
    await server?.stop();
  }
}

if (process.argv.includes('--open')) {
  await openMode(process.argv[process.argv.indexOf('--open') + 1]!);
  process.exit(0);
}
const started = performance.now();
const out: string[] = [];
if (only !== 'postgres') out.push(...(await benchFile()), '');
if (only !== 'file') out.push(...(await benchPostgres()), '');
out.push(`node ${process.version}, ${OPS} ops per measurement, total ${((performance.now() - started) / 1000).toFixed(0)} s`);
process.stdout.write(`${out.join('\n')}\n`);
