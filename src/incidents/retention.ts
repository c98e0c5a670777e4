// INCIDENT_RETENTION_DAYS: resolved and cancelled incidents last changed longer ago than that are
// removed at start-up and then hourly; active ones never. 0 keeps everything.
import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { IncidentStore } from './store.js';

export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Removes what is past retention now; logs the counts. */
export async function applyRetention(store: IncidentStore, days: number, log: Logger, now = Date.now()): Promise<number> {
  if (days <= 0) return 0;
  const cutoff = now - days * DAY_MS;
  const removed = await store.purgeClosed(cutoff);
  const total = removed.resolved + removed.cancelled;
  if (total > 0) {
    log.info({ ...removed, total, retentionDays: days, closedBefore: new Date(cutoff).toISOString() }, 'removed incidents past retention');
  } else {
    log.debug({ retentionDays: days }, 'no incidents past retention');
  }
  return total;
}

/** Runs retention once now (awaited) and then on an unref'd timer; returns a stop function. */
export async function startRetention(
  store: IncidentStore,
  days: number,
  log: Logger,
  intervalMs = RETENTION_INTERVAL_MS,
): Promise<() => void> {
  if (days <= 0) {
    log.info('INCIDENT_RETENTION_DAYS is 0: incidents are kept forever');
    return () => undefined;
  }
  // Housekeeping: a failed run is logged and retried at the next interval, never fatal.
  const run = () =>
    applyRetention(store, days, log).catch((err: unknown) =>
      log.error({ err: messageOf(err) }, 'retention run failed; will retry at the next interval'),
    );
  await run();
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void run().finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
