// A separate process that writes to a FileIncidentStore (from dist/) and prints each id
// once its create was acknowledged. Used by the multi-process and kill -9 tests.
//   node store-writer.mjs DIR COUNT [CONCURRENCY]   (COUNT 0 = forever)
import { FileIncidentStore } from '../../dist/incidents/file-store.js';
import { createLogger } from '../../dist/log.js';

const [dir, countArg, concArg] = process.argv.slice(2);
const count = Number(countArg);
const concurrency = Number(concArg ?? 1);
const store = await FileIncidentStore.open(dir, { logger: createLogger('warn'), lockStaleMs: 2000 });
let next = 0;
async function worker() {
  while (count === 0 || next < count) {
    const n = next++;
    const { incident: inc } = await store.create({
      title: `writer ${process.pid} #${n}`,
      description: 'written by store-writer',
      severity: 'medium',
      target: 'production',
    }, 'store-writer');
    process.stdout.write(`${inc.id}\n`);
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
await store.close();
