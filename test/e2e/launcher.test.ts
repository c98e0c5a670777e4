// dist/main.js runs the bundle through V8's code cache (src/load-server.ts): it writes the cache after
// a start, the next start uses it, a cache it cannot use never stops a start, and an install the
// user cannot write keeps its cache in the user's cache folder.
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { INITIALIZE, ROOT, serverEnv, tempDir } from '../helpers/server.js';

const dirs: { cleanup(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

/** A copy of the built package without any code cache: dist/ and the package.json it reads. */
function install(): string {
  const root = tempDir('pim-launcher-');
  dirs.push(root);
  cpSync(join(ROOT, 'dist'), join(root.path, 'dist'), { recursive: true, filter: (f) => !f.endsWith('.cache') });
  cpSync(join(ROOT, 'package.json'), join(root.path, 'package.json'));
  return root.path;
}

const cacheFiles = (root: string, dir = 'dist') => readdirSync(join(root, dir)).filter((f) => f.endsWith('.cache'));

/** Another user, who may read the install but not write it, with a cache folder of their own. */
interface User {
  uid: number;
  cacheHome: string;
}

/** Starts the server, returns its answer to initialize, and keeps it running `stayMs` longer. */
async function start(root: string, stayMs: number, user?: User, extraEnv: Record<string, string> = {}): Promise<{ result?: { serverInfo?: { name?: string } } }> {
  const data = tempDir();
  dirs.push(data);
  if (user) chownSync(data.path, user.uid, user.uid);
  const env = serverEnv({ DATA_DIR: data.path, ...(user ? { XDG_CACHE_HOME: user.cacheHome, HOME: user.cacheHome } : {}), ...extraEnv });
  const as = user ? { uid: user.uid, gid: user.uid } : {};
  const child = spawn(process.execPath, [join(root, 'dist/main.js')], { env, stdio: ['pipe', 'pipe', 'ignore'], ...as });
  child.stdin.write(`${INITIALIZE}\n`);
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code} before answering`)));
  });
  await new Promise((r) => setTimeout(r, stayMs));
  child.stdin.end();
  await new Promise((r) => child.once('exit', r));
  return JSON.parse(line) as { result?: { serverInfo?: { name?: string } } };
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms && !check(); waited += 100) await new Promise((r) => setTimeout(r, 100));
  return check();
}

describe('the launcher and its code cache', () => {
  it('writes the cache after a start, and the next start uses it rather than writing it again', async () => {
    const root = install();
    expect(cacheFiles(root)).toEqual([]);
    expect((await start(root, 2000)).result?.serverInfo?.name).toBe('prom-incident-mcp');
    expect(await until(() => cacheFiles(root).length === 1, 5000)).toBe(true);
    const [file] = cacheFiles(root);
    const written = statSync(join(root, 'dist', file!)).mtimeMs;
    // a rejected cache would be written again one second after the start
    expect((await start(root, 2000)).result?.serverInfo?.name).toBe('prom-incident-mcp');
    expect(cacheFiles(root)).toEqual([file]);
    expect(statSync(join(root, 'dist', file!)).mtimeMs).toBe(written);
  });

  it('loads a vendored package only when it is needed, through a cache of its own', async () => {
    const root = install();
    // no Prometheus: nothing loads undici (dist/vendor/undici.cjs), so nothing caches it
    await start(root, 1500);
    expect(await until(() => cacheFiles(root).length === 1, 5000)).toBe(true);
    expect(cacheFiles(root, 'dist/vendor')).toEqual([]);
    // with one, the client loads it after start-up, and it gets its cache
    await start(root, 1500, undefined, { PROMETHEUS_URL: 'http://127.0.0.1:9' });
    expect(await until(() => cacheFiles(root, 'dist/vendor').length === 1, 5000)).toBe(true);
    expect(cacheFiles(root, 'dist/vendor')[0]).toMatch(/^undici\.[0-9a-f]{16}\.v[\d.]+-\w+\.cache$/);
  });

  it('removes caches of other builds and Node versions written long ago, and keeps recent ones', async () => {
    const root = install();
    const dist = join(root, 'dist');
    const longAgo = new Date(Date.now() - 40 * 24 * 3600 * 1000);
    const old = ['server.0000000000000000.v20.18.0-x64.cache', 'server.0000000000000000.v20.18.0-x64.cache.1-x.tmp', 'undici.0000000000000000.v20.18.0-x64.cache'];
    for (const f of old) {
      writeFileSync(join(dist, f), 'stale');
      utimesSync(join(dist, f), longAgo, longAgo);
    }
    writeFileSync(join(dist, 'server.1111111111111111.v22.0.0-x64.cache'), 'another install, still in use');
    await start(root, 1500);
    // the one just written, the recent one of another Node, and undici's old one: that waits for undici's
    expect(await until(() => cacheFiles(root).length === 3, 5000)).toBe(true);
    expect(cacheFiles(root)).toContain('server.1111111111111111.v22.0.0-x64.cache');
    expect(readdirSync(dist).filter((f) => f.includes('0000000000000000'))).toEqual(['undici.0000000000000000.v20.18.0-x64.cache']);
  });

  it('starts from a damaged cache and replaces it', async () => {
    const root = install();
    await start(root, 2000);
    expect(await until(() => cacheFiles(root).length === 1, 5000)).toBe(true);
    const path = join(root, 'dist', cacheFiles(root)[0]!);
    writeFileSync(path, Buffer.alloc(4096, 0x5a));
    expect((await start(root, 2000)).result?.serverInfo?.name).toBe('prom-incident-mcp');
    expect(await until(() => readFileSync(path)[0] !== 0x5a, 5000)).toBe(true);
  });

  // `sudo npm install -g`: the install belongs to root; another user runs it
  it.skipIf(process.getuid?.() !== 0)("keeps the cache in the user's cache folder when the install is not the user's to write", async () => {
    const root = install();
    chmodSync(root, 0o755); // readable by all, writable by root alone, as a global install is
    const home = tempDir('pim-cache-home-');
    dirs.push(home);
    const user = { uid: 65534, cacheHome: home.path };
    chownSync(home.path, user.uid, user.uid);
    expect((await start(root, 2000, user)).result?.serverInfo?.name).toBe('prom-incident-mcp');
    const cached = () => (existsSync(join(home.path, 'prom-incident-mcp')) ? readdirSync(join(home.path, 'prom-incident-mcp')) : []);
    expect(await until(() => cached().some((f) => f.endsWith('.cache')), 5000)).toBe(true);
    expect(cacheFiles(root)).toEqual([]);
    const [file] = cached().filter((f) => f.endsWith('.cache'));
    const written = statSync(join(home.path, 'prom-incident-mcp', file!)).mtimeMs;
    // the next start reads it there rather than writing it again
    expect((await start(root, 2000, user)).result?.serverInfo?.name).toBe('prom-incident-mcp');
    expect(statSync(join(home.path, 'prom-incident-mcp', file!)).mtimeMs).toBe(written);
  });
});
