// The build: bundles the server (src/serve.ts and all it loads) into dist/server.cjs, the packages
// only some calls need into dist/vendor/, and the command line front (src/main.ts) into
// dist/main.js; writes the bundled packages' licences, and warms the code cache main.js runs the
// others through (src/load-server.ts) with one start.
//   npm run build   (= npx tsx tools/bundle.ts)
// Why a bundle: Node 20 spends a stdio launch mostly resolving, reading and compiling ~150 ES
// modules (tools/bench-startup.ts prints the ratios). One CommonJS file is read once and, with
// V8's code cache, not compiled again; `--version` and `--help` read only main.js. pg stays
// outside (a dependency of the package): it is loaded only for PostgreSQL.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const SERVER = join(DIST, 'server.cjs');
/** Defined in both bundles: import.meta.url (see BUNDLE_URL), and the version, so a start need not read package.json. */
const BUNDLE_DEFINES = {
  'import.meta.url': 'bundle_url',
  PACKAGE_VERSION: JSON.stringify((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version),
};
/** import.meta.url in a CommonJS bundle (load-server.ts finds server.cjs from it), injected after "use strict". */
export const BUNDLE_URL = join(ROOT, 'tools/bundle-url.mjs');
/** Loaded from node_modules at run time, so they stay dependencies of the package. */
const EXTERNAL = ['pg', 'pg-native'];

/**
 * zod's messages in English only. zod exports its 40-odd locales as one namespace; reached through
 * the server's dynamic imports, the bundler cannot drop the unused ones, and each start would read
 * and run 250 KB that nothing here uses (no code of ours or of the SDK calls z.locales).
 */
const englishOnlyZod: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: dirname(args.path),
    }));
  },
};

/**
 * Packages that only some calls need, each bundled on its own into dist/vendor/, which server.cjs
 * requires when first needed (src/load-server.ts runs them through the code cache too): undici for
 * Prometheus, prom-client for /metrics, the PromQL parser for Thanos routing. A stdio start then
 * reads and deserialises 900 KB less. Only packages that share no module with the server qualify:
 * a second copy of a shared one would be a second, different instance.
 */
const VENDORED = ['undici', 'prom-client', '@prometheus-io/lezer-promql'];
const vendorFile = (name: string) => `vendor/${name.replace('/', '+')}.cjs`;

const vendored: Plugin = {
  name: 'vendored',
  setup(b) {
    const names = new RegExp(`^(${VENDORED.map((n) => n.replace(/[/.]/g, '\\$&')).join('|')})$`);
    // a stand-in module that requires the file: an external import() would stay an import(),
    // which a vm.Script cannot run
    b.onResolve({ filter: names }, (args) => ({ path: args.path, namespace: 'vendored' }));
    b.onLoad({ filter: /.*/, namespace: 'vendored' }, (args) => ({ contents: `module.exports = require('./${vendorFile(args.path)}');` }));
    b.onResolve({ filter: /^\.\/vendor\// }, (args) => ({ path: args.path, external: true }));
  },
};

/** What every CommonJS file of the server is built with (and tools/bench-startup.ts's minimal server). */
export const CJS = {
  bundle: true,
  platform: 'node',
  target: 'node20.18',
  format: 'cjs',
  // ASCII lets the launcher read the files as latin1; names are kept so stack traces stay readable.
  charset: 'ascii',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
} as const;

function checkAscii(file: string): void {
  const wide = readFileSync(file).findIndex((byte) => byte > 0x7f);
  if (wide >= 0) throw new Error(`${relative(ROOT, file)} is not ASCII at offset ${wide}`);
}

/** Every tool's tools/list entry, from the sources, for src/mcp/dispatcher.ts's TOOL_ENTRIES. */
async function toolEntries(): Promise<string> {
  const { TOOLS } = await import('../src/tools/index.js');
  const { toolEntry } = await import('../src/mcp/dispatcher.js');
  return JSON.stringify(Object.fromEntries(TOOLS.map((t) => [t.name, toolEntry(t)])));
}

async function bundleServer(): Promise<Metafile> {
  const result = await build({
    ...CJS,
    entryPoints: [join(ROOT, 'src/serve.ts')],
    outfile: SERVER,
    external: EXTERNAL,
    plugins: [englishOnlyZod, vendored],
    define: { ...BUNDLE_DEFINES, TOOL_ENTRIES: await toolEntries() },
    inject: [BUNDLE_URL],
  });
  checkAscii(SERVER);
  return result.metafile;
}

async function bundleVendored(name: string): Promise<Metafile> {
  const outfile = join(DIST, vendorFile(name));
  const result = await build({
    ...CJS,
    stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: ROOT, sourcefile: `${name}.cjs` },
    outfile,
  });
  checkAscii(outfile);
  return result.metafile;
}

/**
 * How a launcher is built, one that runs a bundle through src/load-server.ts: ours (dist/main.js)
 * and tools/bench-startup.ts's for its minimal server. `hash` names the build its caches are for.
 */
export function launcherOptions(hash: string): BuildOptions & { metafile: true } {
  return {
    bundle: true,
    platform: 'node',
    target: 'node20.18',
    // CommonJS, as dist/package.json declares: an ES module entry costs Node 20 its ESM loader
    // (about 12 ms of every start, `--version` included)
    format: 'cjs',
    // with the hash defined, load-server.ts's import of the sources is dead code, left out
    define: { BUNDLE_HASH: JSON.stringify(hash), ...BUNDLE_DEFINES },
    inject: [BUNDLE_URL],
    minifySyntax: true,
    metafile: true,
    logLevel: 'warning',
  };
}

async function bundleFront(hash: string): Promise<Metafile> {
  const outfile = join(DIST, 'main.js');
  const result = await build({ ...launcherOptions(hash), entryPoints: [join(ROOT, 'src/main.ts')], outfile });
  chmodSync(outfile, 0o755);
  return result.metafile;
}

/** The package directory under node_modules that holds a bundled input file (esbuild's paths use /), if any. */
function packageDirOf(input: string): string | undefined {
  const name = nameIn(input);
  return name === undefined ? undefined : join(ROOT, input.slice(0, input.lastIndexOf('node_modules/')), 'node_modules', name);
}

interface Licensed {
  header: string;
  /** where its licence file is, when installed */
  dir: string | undefined;
}

const packageJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };

/** The package's name in a path through node_modules (the last one: pnpm nests them). */
function nameIn(path: string): string | undefined {
  const at = path.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const parts = path.slice(at + 'node_modules/'.length).split('/');
  return parts[0]!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Where npm installed a package, looked up from `from` as Node resolves it. */
function installedDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', name, 'package.json'))) return join(dir, 'node_modules', name);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Packages that a bundled package's own build put inside its files (@modelcontextprotocol/server
 * carries ajv and what ajv uses): named by the sources of those files' source maps.
 */
function packagesInside(inputs: string[], bundled: Set<string>): Licensed[] {
  const found = new Map<string, Licensed>();
  for (const input of inputs) {
    const parentDir = packageDirOf(input);
    const map = join(ROOT, `${input}.map`);
    if (parentDir === undefined || !existsSync(map)) continue;
    const parent = packageJson(parentDir);
    const sources = (JSON.parse(readFileSync(map, 'utf8')) as { sources?: string[] }).sources ?? [];
    for (const name of new Set(sources.map(nameIn))) {
      if (name === undefined || name === parent.name || bundled.has(name) || found.has(name)) continue;
      const dir = installedDir(name, parentDir);
      const license = dir ? packageJson(dir).license : undefined;
      found.set(name, { header: `${name} (${license ?? 'see below'}), inside ${parent.name} ${parent.version}`, dir });
    }
  }
  return [...found.values()];
}

function section({ header, dir }: Licensed): string {
  const file = dir && readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
  const text = dir && file ? readFileSync(join(dir, file), 'utf8').trim() : `(no licence file${dir ? '' : ' installed here'})`;
  return `${header}\n\n${text}\n`;
}

/** MIT, ISC, BSD and Apache all ask that their notice travel with copies of the code. */
function writeLicences(metas: Metafile[]): number {
  const inputs = metas.flatMap((m) => Object.keys(m.inputs));
  const dirs = [...new Set(inputs.map(packageDirOf).filter((d): d is string => d !== undefined))].sort();
  const top: Licensed[] = dirs.map((dir) => {
    const pkg = packageJson(dir);
    return { header: `${pkg.name} ${pkg.version} (${pkg.license ?? 'see below'})`, dir };
  });
  const inside = packagesInside(inputs, new Set(dirs.map((d) => packageJson(d).name)));
  const head = 'dist/main.js, dist/server.cjs and dist/vendor/ include the following packages, each under its own licence.\n';
  writeFileSync(join(DIST, 'THIRD_PARTY_LICENSES.txt'), [head, ...[...top, ...inside].map(section)].join(`\n${'-'.repeat(72)}\n\n`));
  return top.length + inside.length;
}

/** What a client sends first: initialize, then (once answered) initialized and tools/list. */
export const OPENING = [
  { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'build', version: '1' } } },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  { jsonrpc: '2.0', id: 2, method: 'tools/list' },
];

/**
 * One start of `main` as a client makes it, until the launcher has written a code cache in each
 * of `cacheDirs` (or gave up): whether it did.
 */
export async function warmCodeCache(main = join(DIST, 'main.js'), cacheDirs = [DIST, join(DIST, 'vendor')]): Promise<boolean> {
  const data = mkdtempSync(join(tmpdir(), 'pim-build-'));
  const child = spawn(process.execPath, [main], {
    // none of the builder's settings (MCP_TRANSPORT=http would never end); SystemRoot for Windows
    // a Prometheus nobody listens at: the client loads undici at start, so its cache is written too
    env: { PATH: process.env.PATH ?? '', SystemRoot: process.env.SystemRoot ?? '', DATA_DIR: data, LOG_LEVEL: 'error', PROMETHEUS_URL: 'http://127.0.0.1:9' },
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  // a server that dies at once (a bad build) must end the wait, not leave it pending
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin.write(OPENING.map((m) => `${JSON.stringify(m)}\n`).join(''));
  const written = () => cacheDirs.every((dir) => readdirSync(dir).some((f) => f.endsWith('.cache')));
  for (let waited = 0; waited < 10_000 && !written() && child.exitCode === null; waited += 100) await new Promise((r) => setTimeout(r, 100));
  child.stdin.end();
  await exited;
  rmSync(data, { recursive: true, force: true });
  return written();
}

async function main(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true });
  const server = await bundleServer();
  const vendor = await Promise.all(VENDORED.map(bundleVendored));
  // the package is "type": "module"; this makes dist/main.js the CommonJS file it is built as
  writeFileSync(join(DIST, 'package.json'), '{ "type": "commonjs" }\n');
  // one hash for the server and its vendored parts: a cache is only good for the build that wrote it
  const hash = createHash('sha256');
  for (const file of [SERVER, ...VENDORED.map((n) => join(DIST, vendorFile(n)))]) hash.update(readFileSync(file));
  const buildHash = hash.digest('hex').slice(0, 16);
  const front = await bundleFront(buildHash);
  const serverInputs = new Set(Object.keys(server.inputs));
  const shared = Object.keys(front.inputs).filter((f) => !f.startsWith('src/') && !serverInputs.has(f));
  if (shared.length > 0) throw new Error(`dist/main.js bundles what it should load from server.cjs: ${shared.join(', ')}`);
  const licensed = writeLicences([server, front, ...vendor]);
  const cached = await warmCodeCache();
  const size = (f: string) => `${(readFileSync(join(DIST, f)).length / 1024).toFixed(0)} KiB`;
  const files = readdirSync(DIST, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.includes('.'))
    .map((f) => `${f} ${size(f)}`);
  process.stderr.write(`built ${relative(ROOT, DIST)}${sep}: ${files.join(', ')}; ${licensed} bundled packages; code cache ${cached ? 'warm' : 'NOT written'}\n`);
  if (!existsSync(join(DIST, 'main.js')) || !cached) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
