// Start-up cost, as ratios to a bare `node -e 0` measured in the same run, interleaved so that
// machine noise hits every variant alike:
//   - `--version` and `--help` (every `npx` check, every shell completion);
//   - spawn until the MCP `initialize` is answered over stdio (every launch by a desktop or IDE
//     client), with no Prometheus configured and a fresh DATA_DIR;
//   - spawn until `tools/list` is answered too: what a client waits for before it can call a tool;
//   - the same two for tools/minimal-sdk-server.mjs, one tool on the MCP SDK v2 and nothing else:
//     the floor our choice of SDK sets.
//   npm run build && npx tsx tools/bench-startup.ts [--runs N]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist/main.js');
const MINIMAL = join(ROOT, 'tools/minimal-sdk-server.mjs');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 15;

function timeExit(args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const INITIALIZE = `${JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench-startup', version: '1' } },
})}\n`;
const LIST_TOOLS = [{ jsonrpc: '2.0', method: 'notifications/initialized' }, { jsonrpc: '2.0', id: 2, method: 'tools/list' }]
  .map((m) => `${JSON.stringify(m)}\n`)
  .join('');

/** ms from spawn until the answer to initialize (or, with `thenList`, to tools/list after it). */
function timeAnswer(thenList: boolean, main = MAIN): Promise<number> {
  const data = mkdtempSync(join(tmpdir(), 'pim-bench-startup-'));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', DATA_DIR: data, LOG_LEVEL: 'warn' };
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [main], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdin.write(thenList ? INITIALIZE + LIST_TOOLS : INITIALIZE);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').length - 1 < (thenList ? 2 : 1)) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (!out.includes('"result"')) reject(new Error(`initialize failed: ${out}`));
      child.kill();
      child.once('exit', () => {
        rmSync(data, { recursive: true, force: true });
        resolve(ms);
      });
    });
    child.once('error', reject);
  });
}

const LABELS: Record<string, string> = {
  bare: 'node -e 0',
  initialize: 'spawn to initialize answered',
  toolsList: 'spawn to tools/list answered',
  minimalInitialize: 'minimal SDK v2 server: spawn to initialize answered',
  minimalToolsList: 'minimal SDK v2 server: spawn to tools/list answered',
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const samples = { bare: [] as number[], version: [] as number[], help: [] as number[], initialize: [] as number[], toolsList: [] as number[], minimalInitialize: [] as number[], minimalToolsList: [] as number[] };
  timeExit(['-e', '0']); // warm the file cache for both
  timeExit([MAIN, '--version']);
  for (let i = 0; i < runs; i++) {
    samples.bare.push(timeExit(['-e', '0']));
    samples.version.push(timeExit([MAIN, '--version']));
    samples.help.push(timeExit([MAIN, '--help']));
    samples.initialize.push(await timeAnswer(false));
    samples.toolsList.push(await timeAnswer(true));
    samples.minimalInitialize.push(await timeAnswer(false, MINIMAL));
    samples.minimalToolsList.push(await timeAnswer(true, MINIMAL));
  }
  const bare = median(samples.bare);
  console.log(`node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)}; median of ${runs} interleaved runs`);
  console.log('| what | median ms | / bare node |');
  console.log('|---|---|---|');
  for (const [name, xs] of Object.entries(samples)) {
    const label = LABELS[name] ?? `--${name}`;
    console.log(`| ${label} | ${median(xs).toFixed(0)} | ${(median(xs) / bare).toFixed(2)} |`);
  }
}

await main();
