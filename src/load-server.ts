// Loads serve.ts: from the sources when run by tsx or vitest, and in the built package from the
// bundle dist/server.cjs, through V8's code cache. Node 20 has no module compile cache, and
// compiling the bundle is about a third of a stdio launch; a cache written next to the bundle
// after a start lets later starts skip it. The build (tools/bundle.ts) writes the first one; a
// read-only install compiles each time, and V8 refuses a cache that does not fit (then it is
// written again).
import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

type Server = typeof import('./serve.js');

/** The bundle's content hash, defined by the build: V8 checks a cache only against the source's length. */
declare const BUNDLE_HASH: string | undefined;

/** Long enough for a start and its first requests to have compiled what they need. */
const CACHE_AFTER_MS = 1000;

export async function loadServer(): Promise<Server> {
  if (typeof BUNDLE_HASH === 'undefined') return import('./serve.js');
  return runBundle(fileURLToPath(new URL('./server.cjs', import.meta.url)), BUNDLE_HASH);
}

function runBundle(bundle: string, hash: string): Server {
  const cacheFile = `${bundle.slice(0, -'.cjs'.length)}.${hash}.${process.version}-${process.arch}.cache`;
  const cachedData = readCache(cacheFile);
  // The build keeps the bundle ASCII, so latin1 reads it without UTF-8 decoding (tens of ms).
  const script = new Script(Module.wrap(readFileSync(bundle, 'latin1')), { filename: bundle, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) setTimeout(() => writeCache(script, cacheFile), CACHE_AFTER_MS).unref();
  const module = { exports: {} as Server };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run(module.exports, createRequire(bundle), module, bundle, fileURLToPath(new URL('.', import.meta.url)));
  return module.exports;
}

function readCache(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Written whole or not at all: several servers may start at once from one install. */
function writeCache(script: Script, file: string): void {
  // pid alone is not unique: containers sharing one install are each pid 1
  const temp = `${file}.${process.pid}-${randomUUID()}.tmp`;
  try {
    writeFileSync(temp, script.createCachedData());
    renameSync(temp, file);
  } catch {
    rmSync(temp, { force: true });
  }
}
