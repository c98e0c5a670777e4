// PostgreSQL going away under load: a crash (kill -9 of the postmaster) and a routine
// `pg_ctl restart -m fast`, while the real server takes concurrent creates, updates and
// lists through the SDK's Client. The server must stay up, answer every call with a result or
// a clear tool error, lose nothing it acknowledged, and work again once PostgreSQL is back.
// Each case runs its own PostgreSQL: the shared one must not be killed under other tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPostgres, type TestPostgres } from '../../tools/test-postgres.js';
import { call, connectHttp, startHttpServer, text, type Connected, type HttpServer } from '../helpers/server.js';

const WORKERS = 6;
/** per worker; with the time limits below this bounds the load however the server behaves */
const MAX_ROUNDS = 300;
const LOAD_LIMIT_MS = 60_000;

type Outcome = { tool: string; ok: true } | { tool: string; ok: false; message: string; thrown: boolean };

interface Load {
  outcomes: Outcome[];
  /** id -> the note an acknowledged update added (null: no update acknowledged yet) */
  acknowledged: Map<string, string | null>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (s: HttpServer) => s.proc.exitCode === null && s.proc.signalCode === null;

/** Workers that create, note and list in a loop until stopped; every call's outcome is kept. */
function startLoad(client: Connected['client']): Load {
  const outcomes: Outcome[] = [];
  const acknowledged = new Map<string, string | null>();
  let stopped = false;
  const until = Date.now() + LOAD_LIMIT_MS;
  const attempt = async (tool: string, args: Record<string, unknown>) => {
    try {
      const r = await call(client, tool, args, { timeout: 45_000 });
      outcomes.push(r.isError ? { tool, ok: false, message: text(r), thrown: false } : { tool, ok: true });
      return r.isError ? null : (r.structuredContent as Record<string, any>);
    } catch (err) {
      outcomes.push({ tool, ok: false, message: (err as Error).message, thrown: true });
      return null;
    }
  };
  const worker = async (w: number) => {
    for (let i = 0; i < MAX_ROUNDS && !stopped && Date.now() < until; i++) {
      const created = await attempt('create_incident', { title: `load ${w}-${i}`, description: 'd', severity: 'low', target: 'production' });
      const id = created?.incident.id as string | undefined;
      if (id) {
        acknowledged.set(id, null);
        const note = `note ${w}-${i}`;
        if (await attempt('update_incident', { id, note })) acknowledged.set(id, note);
      }
      await attempt('list_incidents', { limit: 5 });
    }
  };
  const done = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  return {
    outcomes,
    acknowledged,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** Waits (bounded) until `count` more calls of the load have succeeded, or the server died. */
async function successes(load: Load, server: HttpServer, count: number, limitMs: number): Promise<void> {
  const target = load.outcomes.filter((o) => o.ok).length + count;
  const until = Date.now() + limitMs;
  while (load.outcomes.filter((o) => o.ok).length < target && Date.now() < until && alive(server)) await sleep(50);
}

async function readyz(server: HttpServer): Promise<{ status: number; body: string }> {
  const r = await fetch(server.url.replace(/\/mcp$/, '/readyz')).catch(() => null);
  return r ? { status: r.status, body: await r.text() } : { status: 0, body: 'no answer' };
}

const FAULTS = {
  'kill -9 of the postmaster': async (pg: TestPostgres, load: Load, server: HttpServer) => {
    pg.crash();
    // while it is down: calls fail cleanly, and /readyz says the store is not ready
    await sleep(1000);
    expect(alive(server), server.stderr()).toBe(true);
    let ready = await readyz(server);
    for (let i = 0; i < 50 && ready.status === 200; i++) ready = await sleep(100).then(() => readyz(server));
    expect(ready.status, ready.body).toBe(503);
    expect(ready.body).toMatch(/store: PostgreSQL is unreachable/);
    expect(load.outcomes.some((o) => !o.ok)).toBe(true);
    await pg.start();
  },
  'pg_ctl restart -m fast': (pg: TestPostgres) => pg.restartFast(),
};

for (const [fault, inject] of Object.entries(FAULTS)) {
  describe(`PostgreSQL going away under load: ${fault}`, () => {
    let pg: TestPostgres;
    let server: HttpServer;
    let conn: Connected;

    beforeAll(async () => {
      pg = await startTestPostgres({ crashSafe: true });
      server = await startHttpServer({ INCIDENT_STORE: 'postgres', DATABASE_URL: pg.url, LOG_LEVEL: 'warn' });
      conn = await connectHttp(server.url);
    });
    afterAll(async () => {
      await conn?.close().catch(() => undefined);
      await server?.stop('SIGKILL');
      await pg?.stop().catch(() => undefined); // it fails when a failed test left PostgreSQL down
    });

    it('stays up, answers every call with a result or a clear tool error, loses nothing acknowledged', { timeout: 150_000 }, async () => {
      const load = startLoad(conn.client);
      await successes(load, server, 30, 20_000);
      await inject(pg, load, server);
      // back: calls succeed again without a restart of the server
      await successes(load, server, 30, 30_000);
      await load.stop();

      expect(alive(server), server.stderr()).toBe(true);
      expect(server.stderr()).not.toMatch(/Unhandled 'error' event/);
      const failed = load.outcomes.filter((o) => !o.ok);
      const ok = load.outcomes.length - failed.length;
      process.stderr.write(`pg fault "${fault}": ${load.outcomes.length} calls, ${ok} ok, ${failed.length} tool errors, ${load.acknowledged.size} acknowledged creates\n`);
      for (const f of failed) {
        expect(f.thrown, f.message).toBe(false);
        expect(f.message).not.toMatch(/Internal error/);
        expect(f.message).toMatch(/PostgreSQL/);
        // a write that failed says whether it was saved
        if (f.tool !== 'list_incidents') expect(f.message).toMatch(/the change was not saved|whether the change was saved is unknown/);
      }

      // nothing acknowledged lost: every acknowledged create, with its acknowledged note
      for (const [id, note] of load.acknowledged) {
        const got = await call(conn.client, 'get_incident', { id });
        expect(got.isError, `${id}: ${text(got)}`).toBeFalsy();
        const timeline = (got.structuredContent as Record<string, any>).incident.timeline as { note?: string }[];
        if (note !== null) expect(timeline.map((e) => e.note), id).toContain(note);
      }
      const after = await call(conn.client, 'create_incident', { title: 'after', description: 'd', severity: 'low', target: 'production' });
      expect(after.isError, text(after)).toBeFalsy();
      // /readyz caches its answer for 2 s
      let ready = await readyz(server);
      for (let i = 0; i < 50 && ready.status !== 200; i++) ready = await sleep(100).then(() => readyz(server));
      expect(ready.status, ready.body).toBe(200);
    });
  });
}
