// A separate process that writes to an incident store (from dist/) and prints each write once
// it was acknowledged. Used by the multi-process, concurrency and kill -9 tests.
//   node store-writer.mjs STORE COUNT [CONCURRENCY] [SHARED_IDS]   (COUNT 0 = forever)
// STORE is a DATA_DIR, or postgres://... . For each incident it creates it prints "<id>". With
// SHARED_IDS (comma-separated), it then also resolves its own incident with a note and adds
// a note to one of the shared incidents, printing "resolved <id>" and "note <id> <text>".
import { openStore } from '../../dist/incidents/open-store.js';
import { createLogger } from '../../dist/log.js';

const [spec, countArg, concArg, sharedArg] = process.argv.slice(2);
const count = Number(countArg);
const concurrency = Number(concArg ?? 1);
const shared = sharedArg ? sharedArg.split(',') : [];
const postgres = spec.startsWith('postgres');
const store = await openStore(
  { incidentStore: postgres ? 'postgres' : 'file', databaseUrl: postgres ? spec : null, dataDir: postgres ? '/nonexistent' : spec },
  createLogger('warn'),
);
const by = `writer-${process.pid}`;
let next = 0;
async function worker() {
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
    const target = shared[n % shared.length];
    const note = `${by}#${n}`;
    await store.update(target, { note }, by);
    process.stdout.write(`note ${target} ${note}\n`);
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
await store.close();
