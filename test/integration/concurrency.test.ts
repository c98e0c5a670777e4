// Several processes creating and updating at once, on each store: nothing acknowledged is
// lost, including notes that different processes add to the same incidents at the same time.
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/incidents/open-store.js';
import type { IncidentStore } from '../../src/incidents/store.js';
import { createLogger } from '../../src/log.js';
import { freshDatabase } from '../helpers/postgres.js';
import { useCleanups } from '../helpers/cleanups.js';
import { spawnStoreWriter } from '../helpers/store-writer.js';

const WRITERS = 3;
const PER_WRITER = 40;

function runWriter(spec: string, shared: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const p = spawnStoreWriter([spec, String(PER_WRITER), '4', shared.join(',')]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`writer exited ${code}: ${err}`))));
  });
}

const { cleanups, dirFor } = useCleanups();

for (const backend of ['file', 'postgres'] as const) {
  describe(`concurrent writers on ${backend}`, () => {
    it(`${WRITERS} processes creating, resolving and annotating shared incidents lose nothing`, async () => {
      const spec = backend === 'file' ? dirFor() : await freshDatabase();
      const open = () =>
        openStore(
          { incidentStore: backend, databaseUrl: backend === 'postgres' ? spec : null, dataDir: spec },
          createLogger('silent'),
        );
      const store: IncidentStore = await open();
      cleanups.push(() => store.close());
      const shared: string[] = [];
      for (let i = 0; i < 3; i++) {
        shared.push((await store.create({ title: `shared ${i}`, description: 'd', severity: 'high', target: 'production' }, 'test')).incident.id);
      }

      const outputs = await Promise.all(Array.from({ length: WRITERS }, () => runWriter(spec, shared)));
      const lines = outputs.flat();
      const created = lines.filter((l) => l.startsWith('inc-'));
      const resolved = lines.filter((l) => l.startsWith('resolved ')).map((l) => l.split(' ')[1]!);
      const notes = lines.filter((l) => l.startsWith('note ')).map((l) => l.split(' ') as [string, string, string]);
      expect(created).toHaveLength(WRITERS * PER_WRITER);
      expect(resolved).toHaveLength(WRITERS * PER_WRITER);

      const check = await open(); // a fresh view, as a restarted replica would have
      cleanups.push(() => check.close());
      expect(await check.stats()).toEqual({ total: 3 + WRITERS * PER_WRITER, byStatus: { active: 3, resolved: WRITERS * PER_WRITER, cancelled: 0 } });
      for (const id of resolved) {
        const inc = (await check.get(id))!;
        expect(inc.status, id).toBe('resolved');
        expect(inc.timeline.map((e) => e.event)).toEqual(['created', 'status', 'note']);
      }
      for (const id of shared) {
        const got = (await check.get(id))!.timeline.filter((e) => e.event === 'note').map((e) => e.note);
        const want = notes.filter(([, target]) => target === id).map(([, , note]) => note);
        expect(got.sort()).toEqual(want.sort());
      }
      // creation order is one strict order across all processes
      const page = await check.list({ limit: 500 });
      const times = page.incidents.map((i) => Date.parse(i.created_at));
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThan(times[i - 1]!);
    }, 120_000);
  });
}
