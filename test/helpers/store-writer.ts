// A separate process that writes to an incident store (src/, run by tsx) and prints each write
// once it was acknowledged. Used by the multi-process, concurrency and kill -9 tests.
//   spawnStoreWriter([STORE, COUNT, CONCURRENCY?, SHARED_IDS?])   (COUNT 0 = forever)
// STORE is a DATA_DIR, or postgres://... . For each incident it creates it prints "<id>". With
// SHARED_IDS (comma-separated), it then also resolves its own incident with a note and adds
// a note to one of the shared incidents, printing "resolved <id>" and "note <id> <text>".
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openStore } from '../../src/incidents/open-store.js';
import { createLogger } from '../../src/log.js';

/** The writer as a child process: the tests read its stdout and may kill it. */
export function spawnStoreWriter(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], { stdio: 'pipe' });
}

async function write(spec: string, count: number, concurrency: number, shared: string[]): Promise<void> {
  const postgres = spec.startsWith('postgres');
  const store = await openStore(
    { incidentStore: postgres ? 'postgres' : 'file', databaseUrl: postgres ? spec : null, dataDir: postgres ? '/nonexistent' : spec },
    createLogger('warn'),
  );
  const by = `writer-${process.pid}`;
  let next = 0;
  async function worker(): Promise<void> {
    while (count === 0 || next < count) {
      const n = next++;
      const { incident: inc } = await store.create(
        { title: `writer ${process.pid} #${n}`, description: 'written by store-writer', severity: 'medium', target: 'production' },
        by,
      );
      process.stdout.write(`${inc.id}\n`);
      if (shared.length === 0) continue;
      await store.update(inc.id, { status: 'resolved', note: `done ${n}` }, by);
      process.stdout.write(`resolved ${inc.id}\n`);
      const target = shared[n % shared.length]!;
      const note = `${by}#${n}`;
      await store.update(target, { note }, by);
      process.stdout.write(`note ${target} ${note}\n`);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  await store.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [spec, count, concurrency, shared] = process.argv.slice(2);
  await write(spec!, Number(count), Number(concurrency ?? 1), shared ? shared.split(',') : []);
}
