// A throwaway PostgreSQL server for tests and benchmarks: initdb into a temporary directory,
// pg_ctl start on 127.0.0.1 on a free port (password auth), stop and delete it afterwards.
// When the server binaries are missing it installs Debian's `postgresql` package if it runs as
// root, and otherwise says what to install. initdb refuses to run as root, so as root the
// cluster runs as the `postgres` system user that package creates.
//   npx tsx tools/test-postgres.ts      starts one, prints DATABASE_URL, stops on Ctrl-C
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './test-prometheus.js';

export interface TestPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  url: string;
  /** kill -9 of the postmaster, as a crash does; its backends end when they notice */
  crash(): void;
  /** starts it again on the same port after crash(), once the old backends are gone */
  start(): Promise<void>;
  /** `pg_ctl restart -m fast`: every session is ended (SQLSTATE 57P01), then it starts again */
  restartFast(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestPostgresOptions {
  /** durable commits (for benchmarks); tests run faster without */
  fsync?: boolean;
  /**
   * Acknowledged commits survive crash() (synchronous_commit stays on: a commit is in the
   * kernel's WAL before it is acknowledged; fsync can stay off, the machine does not crash).
   */
  crashSafe?: boolean;
}

const INSTALL_HINT =
  'PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them, e.g. `sudo apt-get install postgresql` ' +
  '(Debian/Ubuntu) or `brew install postgresql` (macOS), or set TEST_DATABASE_URL to a postgres:// URL of a server ' +
  'where the tests may create databases.';

const isRoot = () => process.getuid?.() === 0;

function findBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  return which.status === 0 && path ? path.replace(/\/initdb$/, '') : null;
}

function ensureInstalled(): string {
  let bin = findBinDir();
  if (bin) return bin;
  if (!isRoot() || spawnSync('sh', ['-c', 'command -v apt-get']).status !== 0) throw new Error(INSTALL_HINT);
  process.stderr.write('test-postgres: installing the Debian package postgresql...\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql'], { stdio: 'inherit', env });
  bin = findBinDir();
  if (!bin) throw new Error(INSTALL_HINT);
  return bin;
}

/** Runs a PostgreSQL binary, as the postgres user when we are root. */
function command(bin: string, tool: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
}

const failure = (tool: string, code: unknown, output: string) => new Error(`${tool} failed (exit ${String(code)}): ${output.trim()}`);

function run(bin: string, tool: string, args: string[]): void {
  const [cmd, argv] = command(bin, tool, args);
  const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: tmpdir() });
  if (r.status !== 0) throw failure(tool, r.status ?? r.signal, r.stderr || r.stdout || String(r.error ?? ''));
}

/** run() without blocking the event loop, for faults injected while a test drives load. */
function runAsync(bin: string, tool: string, args: string[]): Promise<void> {
  const [cmd, argv] = command(bin, tool, args);
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { cwd: tmpdir() }, (err, stdout, stderr) => (err ? reject(failure(tool, err.code, stderr || stdout || err.message)) : resolve()));
  });
}

export async function startTestPostgres(opts: TestPostgresOptions = {}): Promise<TestPostgres> {
  const bin = ensureInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'pim-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (isRoot()) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, id('-u'), id('-g'));
    chownSync(pwfile, id('-u'), id('-g'));
  }
  chmodSync(dir, 0o700);
  try {
    run(bin, 'initdb', ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-locale', '--no-sync']);
    const settings = ['-c listen_addresses=127.0.0.1', `-k ${dir}`, '-c max_connections=200'];
    if (!opts.fsync) settings.push('-c fsync=off', '-c full_page_writes=off');
    if (!opts.fsync && !opts.crashSafe) settings.push('-c synchronous_commit=off');
    const log = join(dir, 'server.log');
    const startArgs = (port: number) => ['start', '-D', data, '-l', log, '-w', '-t', '60', '-o', [`-p ${port}`, ...settings].join(' ')];
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        run(bin, 'pg_ctl', startArgs(port));
        break;
      } catch (err) {
        if (attempt >= 2) throw err; // the port was taken in between; try another
      }
    }
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      crash() {
        process.kill(Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGKILL');
      },
      async start() {
        // refused while the old backends still hold the shared memory; they go within a second or two
        const deadline = Date.now() + 30_000;
        for (;;) {
          try {
            return await runAsync(bin, 'pg_ctl', startArgs(port));
          } catch (err) {
            if (Date.now() > deadline) throw err;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      },
      restartFast: () => runAsync(bin, 'pg_ctl', ['restart', '-D', data, '-l', log, '-m', 'fast', '-w', '-t', '60']),
      async stop() {
        try {
          run(bin, 'pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const pg = await startTestPostgres({ fsync: true });
  process.stdout.write(`DATABASE_URL=${pg.url}\n(Ctrl-C stops it and deletes its data)\n`);
  const stop = () => void pg.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  setInterval(() => undefined, 1 << 30);
}
