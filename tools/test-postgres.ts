// A throwaway PostgreSQL server for tests and benchmarks: initdb into a temporary directory,
// pg_ctl start on 127.0.0.1 on a free port (password auth), stop and delete it afterwards.
// When the server binaries are missing it installs Debian's `postgresql` package if it runs as
// root, and otherwise says what to install. initdb refuses to run as root, so as root the
// cluster runs as the `postgres` system user that package creates.
//   npx tsx tools/test-postgres.ts      starts one, prints DATABASE_URL, stops on Ctrl-C
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './test-prometheus.js';

export interface TestPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  url: string;
  stop(): Promise<void>;
}

export interface TestPostgresOptions {
  /** durable commits (for benchmarks); tests run faster without */
  fsync?: boolean;
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
function run(bin: string, tool: string, args: string[]): void {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: tmpdir() });
  if (r.status !== 0) {
    throw new Error(`${tool} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error ?? '')).trim()}`);
  }
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
    if (!opts.fsync) settings.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        run(bin, 'pg_ctl', ['start', '-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', [`-p ${port}`, ...settings].join(' ')]);
        break;
      } catch (err) {
        if (attempt >= 2) throw err; // the port was taken in between; try another
      }
    }
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
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
