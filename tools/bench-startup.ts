// Start-up cost, as ratios to a bare `node -e 0` measured in the same run, interleaved so that
// machine noise hits every variant alike:
//   - `--version` and `--help` (every `npx` check, every shell completion);
//   - spawn until the MCP `initialize` is answered over stdio (every launch by a desktop or IDE
//     client), with no Prometheus configured, on a store an earlier start made (and, as a first
//     start, on a new one: creating its files costs about 15 ms more);
//   - spawn until `tools/list` is answered too: what a client waits for before it can call a tool;
//   - the same two for tools/minimal-sdk-server.mjs, one tool on the MCP SDK v2 and nothing else:
//     as installed, and bundled and code-cached the way ours is (the floor our choice of SDK sets).
// Every variant runs with the same environment, PATH alone (and the servers' DATA_DIR): what Node
// reads at start differs with it (NODE_EXTRA_CA_CERTS alone can add 50 ms), and a client passes
// its own anyway. The servers log at their default level, as a client's launch would.
//   npm run build && npx tsx tools/bench-startup.ts [--runs N]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CJS, OPENING, launcherOptions, warmCodeCache } from './bundle.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist/main.js');
const MINIMAL = join(ROOT, 'tools/minimal-sdk-server.mjs');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 15;
const ENV = { PATH: process.env.PATH ?? '' };

function timeExit(args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore', env: ENV });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** The client's first messages: initialize alone, or with initialized and tools/list. */
const opening = (thenList: boolean) =>
  OPENING.slice(0, thenList ? 3 : 1)
    .map((m) => `${JSON.stringify(m)}\n`)
    .join('');

/** The store every timed start of ours opens, made by the first. */
const STORE = mkdtempSync(join(tmpdir(), 'pim-bench-store-'));

/** ms from spawn until the answer to initialize (or, with `thenList`, to tools/list after it); `newStore`: on an empty DATA_DIR. */
function timeAnswer(thenList: boolean, main = MAIN, { newStore = false } = {}): Promise<number> {
  const data = newStore ? mkdtempSync(join(tmpdir(), 'pim-bench-startup-')) : STORE;
  const env = { ...ENV, DATA_DIR: data };
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [main], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdin.write(opening(thenList));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').length - 1 < (thenList ? 2 : 1)) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (!out.includes('"result"')) reject(new Error(`initialize failed: ${out}`));
      child.kill();
      child.once('exit', () => {
        if (newStore) rmSync(data, { recursive: true, force: true });
        resolve(ms);
      });
    });
    child.once('error', reject);
  });
}

/**
 * The minimal server bundled and run through src/load-server.ts as dist/ is: into a temporary
 * folder, with its code cache written by one start. Returns its launcher.
 */
async function bundleMinimal(dir: string): Promise<string> {
  const main = join(dir, 'main.cjs');
  await build({ ...CJS, entryPoints: [MINIMAL], outfile: join(dir, 'server.cjs') });
  await build({
    ...launcherOptions('minimal'),
    stdin: { contents: `import { loadServer } from './src/load-server.ts'; void loadServer();`, resolveDir: ROOT, loader: 'ts' },
    outfile: main,
  });
  if (!(await warmCodeCache(main, [dir]))) throw new Error('the minimal server wrote no code cache');
  return main;
}

const LABELS = {
  bare: 'node -e 0',
  initialize: 'spawn to initialize answered',
  firstInitialize: 'the same, first start (a new store)',
  toolsList: 'spawn to tools/list answered',
  minimalInitialize: 'minimal SDK v2 server as installed: initialize',
  minimalToolsList: 'minimal SDK v2 server as installed: tools/list',
  bundledInitialize: 'minimal SDK v2 server bundled and cached like ours: initialize',
  bundledToolsList: 'minimal SDK v2 server bundled and cached like ours: tools/list',
} as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pim-bench-minimal-'));
  const bundled = await bundleMinimal(dir);
  const samples: Record<keyof typeof LABELS | 'version' | 'help', number[]> = { bare: [], version: [], help: [], initialize: [], firstInitialize: [], toolsList: [], minimalInitialize: [], minimalToolsList: [], bundledInitialize: [], bundledToolsList: [] };
  timeExit(['-e', '0']); // warm the file cache for both
  timeExit([MAIN, '--version']);
  await timeAnswer(false); // makes the store
  for (let i = 0; i < runs; i++) {
    samples.bare.push(timeExit(['-e', '0']));
    samples.version.push(timeExit([MAIN, '--version']));
    samples.help.push(timeExit([MAIN, '--help']));
    samples.initialize.push(await timeAnswer(false));
    samples.firstInitialize.push(await timeAnswer(false, MAIN, { newStore: true }));
    samples.toolsList.push(await timeAnswer(true));
    samples.minimalInitialize.push(await timeAnswer(false, MINIMAL));
    samples.minimalToolsList.push(await timeAnswer(true, MINIMAL));
    samples.bundledInitialize.push(await timeAnswer(false, bundled));
    samples.bundledToolsList.push(await timeAnswer(true, bundled));
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(STORE, { recursive: true, force: true });
  const bare = median(samples.bare);
  const fastestBare = Math.min(...samples.bare);
  console.log(`node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)}; ${runs} interleaved runs`);
  // this machine's starts are bimodal (a bare node takes 65 or 85 ms): the fastest run shows the
  // work itself, the median what a launch usually waits
  console.log('| what | median ms | / bare node | fastest ms | / fastest bare node |');
  console.log('|---|---|---|---|---|');
  for (const [name, xs] of Object.entries(samples)) {
    const label = name in LABELS ? LABELS[name as keyof typeof LABELS] : `--${name}`;
    const fastest = Math.min(...xs);
    console.log(`| ${label} | ${median(xs).toFixed(0)} | ${(median(xs) / bare).toFixed(2)} | ${fastest.toFixed(0)} | ${(fastest / fastestBare).toFixed(2)} |`);
  }
}

await main();
