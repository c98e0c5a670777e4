#!/usr/bin/env node
// The installed entry point (dist/main.js): runs the bundled server, dist/server.cjs, through V8's
// code cache. Node 20 has no module compile cache, and compiling the bundle is about a third of
// a stdio launch; a cache written next to the bundle after a start lets later starts skip it.
// The build (tools/bundle.ts) writes the first one. A read-only install just compiles each time.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/** The bundle's content hash, set by the build: V8 checks a cache only against the source's length. */
declare const BUNDLE_HASH: string;

/** Long enough for a start and its first requests to have compiled what they need. */
const CACHE_AFTER_MS = 1000;

const bundle = fileURLToPath(new URL('./server.cjs', import.meta.url));
const cacheFile = `${bundle.slice(0, -'.cjs'.length)}.${BUNDLE_HASH}.${process.version}-${process.arch}.cache`;

function readCache(): Buffer | undefined {
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

/** Written whole or not at all: several servers may start at once from one install. */
function writeCache(script: Script): void {
  const temp = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, script.createCachedData());
    renameSync(temp, cacheFile);
  } catch {
    rmSync(temp, { force: true });
  }
}

const cachedData = readCache();
// The build keeps the bundle ASCII, so latin1 reads it without UTF-8 decoding (tens of ms).
const script = new Script(Module.wrap(readFileSync(bundle, 'latin1')), { filename: bundle, cachedData });
if (cachedData === undefined || script.cachedDataRejected) setTimeout(() => writeCache(script), CACHE_AFTER_MS).unref();
const module = { exports: {} };
const run = script.runInThisContext() as (...args: unknown[]) => void;
run(module.exports, createRequire(bundle), module, bundle, fileURLToPath(new URL('.', import.meta.url)));
