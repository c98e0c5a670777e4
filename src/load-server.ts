// Loads serve.ts: from the sources when run by tsx or vitest, and in the built package from the
// bundle dist/server.cjs, and the packages in dist/vendor/ when first required, through V8's
// code cache. Node 20 has no module compile cache, and compiling the bundle is about a third of a
// stdio launch; a cache written after a start lets later starts skip it. It lives next to the
// file it is for (the build writes the first ones there), or, for an install this user cannot
// write (`sudo npm install -g`), in the user's cache folder. V8 refuses a cache that does not
// fit; it is then written again.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { nodeCrypto } from './builtins.js';

type Server = typeof import('./serve.js');

/** The bundle's content hash, defined by the build: V8 checks a cache only against the source's length. */
declare const BUNDLE_HASH: string | undefined;

/** Long enough for a start and its first requests to have compiled what they need. */
const CACHE_AFTER_MS = 1000;

export async function loadServer(): Promise<Server> {
  if (typeof BUNDLE_HASH === 'undefined') return import('./serve.js');
  return runCached(fileURLToPath(new URL('./server.cjs', import.meta.url)), BUNDLE_HASH) as Server;
}

/** Runs one CommonJS file of the build through its code cache, and returns its exports. */
function runCached(file: string, hash: string): unknown {
  const name = `${basename(file, '.cjs')}.${hash}.${process.version}-${process.arch}.cache`;
  const places = [dirname(file), userCacheDir()].filter((d): d is string => d !== undefined).map((d) => join(d, name));
  const cachedData = firstReadable(places);
  // The build keeps its files ASCII, so latin1 reads them without UTF-8 decoding (tens of ms).
  const script = new Script(Module.wrap(readFileSync(file, 'latin1')), { filename: file, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) setTimeout(() => writeCache(script, places), CACHE_AFTER_MS).unref();
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run(module.exports, requireFrom(file, hash), module, file, dirname(file));
  return module.exports;
}

/** The build's vendored packages (dist/vendor/), each run once, when first required. */
const vendored = new Map<string, unknown>();

/** `require` for a file of the build: Node's, but the vendored packages go through the code cache. */
function requireFrom(file: string, hash: string): NodeJS.Require {
  const plain = createRequire(file);
  const require = (id: string): unknown => {
    if (!id.startsWith('./vendor/')) return plain(id);
    const path = join(dirname(file), id);
    if (!vendored.has(path)) vendored.set(path, runCached(path, hash));
    return vendored.get(path);
  };
  return Object.assign(require, plain);
}

/** This user's cache folder for the server, as Node's own compile cache and most tools place theirs. */
function userCacheDir(): string | undefined {
  const env = process.env;
  try {
    const root = env.XDG_CACHE_HOME || (process.platform === 'win32' ? env.LOCALAPPDATA : undefined) || join(homedir(), '.cache');
    return join(root, 'prom-incident-mcp');
  } catch {
    return undefined; // no home directory
  }
}

function firstReadable(files: string[]): Buffer | undefined {
  for (const file of files) {
    try {
      return readFileSync(file);
    } catch {
      // not there, or not ours to read: the next place
    }
  }
  return undefined;
}

/** Into the first place that takes it, whole or not at all: several servers may start at once. */
function writeCache(script: Script, places: string[]): void {
  const data = script.createCachedData();
  for (const file of places) {
    // pid alone is not unique: containers sharing one install are each pid 1
    const temp = `${file}.${process.pid}-${nodeCrypto().randomUUID()}.tmp`;
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(temp, data);
      renameSync(temp, file);
      pruneStale(file);
      return;
    } catch {
      rmSync(temp, { force: true });
    }
  }
}

/** A cache nobody has written for this long is taken to belong to a Node or a build no longer run. */
const STALE_AFTER_MS = 30 * 24 * 3600 * 1000;

/**
 * Removes the caches of the same file for other builds or Node versions that were written long
 * ago, and temporary files a crash left. Recent ones stay: the user's cache folder may serve
 * several installs and Node versions at once, and each would otherwise keep writing its own again.
 */
function pruneStale(written: string): void {
  const dir = dirname(written);
  const base = basename(written).slice(0, basename(written).indexOf('.') + 1);
  const oldest = Date.now() - STALE_AFTER_MS;
  try {
    for (const name of readdirSync(dir)) {
      const file = join(dir, name);
      if (file === written || !name.startsWith(base) || !/\.cache(\..+\.tmp)?$/.test(name)) continue;
      if (statSync(file).mtimeMs < oldest) rmSync(file, { force: true });
    }
  } catch {
    // another process pruned it first, or the folder is not ours to list: nothing is lost
  }
}
