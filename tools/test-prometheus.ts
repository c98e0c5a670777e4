// A real Prometheus loaded with the fixture cluster, for tests and benchmarks.
// Installs Debian's `prometheus` package (which ships promtool) when missing, writes the
// fixture as OpenMetrics, backfills it with promtool and starts Prometheus on 127.0.0.1.
//
//   npx tsx tools/test-prometheus.ts      # start it, print the URL, stop on Ctrl-C
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeOpenMetrics } from './fixture/openmetrics.js';
import { makeWorld } from './fixture/world.js';

export interface FixturePrometheus {
  url: string;
  /** epoch ms the fixture world was generated for; makeWorld(fixtureNow) rebuilds it */
  fixtureNow: number;
  series: number;
  samples: number;
  stop(): Promise<void>;
}

function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Makes sure prometheus and promtool exist, installing Debian's package when we can. */
export function ensurePrometheusInstalled(log: (s: string) => void = () => {}): void {
  if (onPath('prometheus') && onPath('promtool')) return;
  const root = process.getuid?.() === 0;
  if (!root || !onPath('apt-get')) {
    throw new Error(
      'The tests need a real Prometheus: install the Debian/Ubuntu package "prometheus" (it includes promtool), ' +
        'e.g. `sudo apt-get install -y prometheus`, or put prometheus and promtool on PATH.',
    );
  }
  log('installing the Debian package prometheus (apt-get)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'prometheus'], { stdio: 'ignore', env });
  // The package's service is not wanted: tests run their own server. Stop only the service,
  // never another run's test server.
  try {
    execFileSync('sh', ['-c', 'systemctl stop prometheus 2>/dev/null || service prometheus stop 2>/dev/null || true'], { stdio: 'ignore' });
  } catch {
    /* no systemd here */
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function countOpenMetrics(text: string): { series: number; samples: number } {
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const key = (l: string) => (l.includes('}') ? l.slice(0, l.lastIndexOf('}') + 1) : l.split(' ')[0]!);
  return { series: new Set(lines.map(key)).size, samples: lines.length };
}

/** Waits until the Prometheus at url is ready and is ours (serves tsdbPath), not another run's on a reused port. */
async function waitReady(url: string, proc: ChildProcess, tsdbPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited with code ${proc.exitCode}`);
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) {
        const flags = (await (await fetch(`${url}/api/v1/status/flags`)).json()) as { data?: Record<string, string> };
        if (flags.data?.['storage.tsdb.path'] !== tsdbPath) throw new Error(`another Prometheus answers on ${url}`);
        return;
      }
    } catch (err) {
      if ((err as Error).message.startsWith('another')) throw err;
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`prometheus at ${url} was not ready within ${timeoutMs} ms`);
}

/**
 * `openMetrics`: a small world of a test's own, as OpenMetrics text (ending in "# EOF"),
 * instead of the fixture cluster.
 */
export async function startFixturePrometheus(opts: { log?: (s: string) => void; now?: number; openMetrics?: string } = {}): Promise<FixturePrometheus> {
  const log = opts.log ?? (() => {});
  ensurePrometheusInstalled(log);
  const dir = mkdtempSync(join(tmpdir(), 'pim-prometheus-'));
  const fixtureNow = opts.now ?? Date.now();
  const om = join(dir, 'fixture.om');
  const started = performance.now();
  const { series, samples } =
    opts.openMetrics === undefined ? await writeOpenMetrics(makeWorld(fixtureNow), om) : (writeFileSync(om, opts.openMetrics), countOpenMetrics(opts.openMetrics));
  // One pass per block: large blocks make the backfill ~15x faster than the 2h default.
  execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=240h', '-q', om, join(dir, 'tsdb')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  rmSync(om);
  log(`fixture: ${series} series, ${samples} samples backfilled in ${Math.round(performance.now() - started)} ms`);

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Prometheus scrapes itself so the metadata API has something to show.
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 5s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`,
  );
  const proc = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      '--storage.tsdb.retention.time=3650d',
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitReady(url, proc, join(dir, 'tsdb'), 30_000);
  } catch (err) {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  log(`prometheus ready at ${url}`);
  return {
    url,
    fixtureNow,
    series,
    samples,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = await startFixturePrometheus({ log: (s) => console.error(s) });
  console.log(env.url);
  const stop = () => void env.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
