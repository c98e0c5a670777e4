import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileIncidentStore } from '../../src/incidents/file-store.js';
import { startRetention } from '../../src/incidents/retention.js';
import { createLogger } from '../../src/log.js';
import { tempDir } from '../helpers/server.js';

const DAY = 24 * 60 * 60 * 1000;
const logger = createLogger('silent');
const input = { title: 't', description: 'd', severity: 'low' as const, target: 'production' };
let dir: { path: string; cleanup(): void };
afterEach(() => dir?.cleanup());

describe('retention schedule', () => {
  it('removes what is past retention at start, then on each interval, until stopped', async () => {
    dir = tempDir('pim-ret-');
    const twoMonthsAgo = Date.now() - 60 * DAY; // the store's clock: everything is closed then
    const store = await FileIncidentStore.open(dir.path, { logger, now: () => new Date(twoMonthsAgo) });
    const first = (await store.create(input, 't')).incident;
    await store.update(first.id, { status: 'resolved' }, 't');
    const kept = (await store.create(input, 't')).incident;

    const info = vi.spyOn(logger, 'info');
    const stop = await startRetention(store, 30, logger, 20);
    expect(await store.get(first.id)).toBeNull(); // already at start-up, before it returned
    expect(info).toHaveBeenCalledWith(expect.objectContaining({ resolved: 1, cancelled: 0, total: 1, retentionDays: 30 }), 'removed incidents past retention');

    await store.update(kept.id, { status: 'cancelled' }, 't');
    await vi.waitFor(async () => expect(await store.get(kept.id)).toBeNull(), { timeout: 5000, interval: 10 });

    stop();
    const later = (await store.create(input, 't')).incident;
    await store.update(later.id, { status: 'resolved' }, 't');
    await new Promise((r) => setTimeout(r, 100)); // several intervals: nothing runs any more
    expect(await store.get(later.id)).not.toBeNull();
    await store.close();
  });

  it('does nothing with 0 days', async () => {
    dir = tempDir('pim-ret-');
    const store = await FileIncidentStore.open(dir.path, { logger, now: () => new Date(Date.now() - 9999 * DAY) });
    const inc = (await store.create(input, 't')).incident;
    await store.update(inc.id, { status: 'resolved' }, 't');
    const stop = await startRetention(store, 0, logger, 10);
    expect(await store.get(inc.id)).not.toBeNull();
    stop();
    await store.close();
  });
});
