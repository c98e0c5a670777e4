// Operating the store from the command line: export/import (both stores), retention at
// start-up, and start-up failures of the PostgreSQL store.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCleanups } from '../helpers/cleanups.js';
import { freshDatabase } from '../helpers/postgres.js';
import { call, connectStdio, runServer } from '../helpers/server.js';

type Structured = Record<string, any>;
const { cleanups, dirFor } = useCleanups();

const DAY = 24 * 60 * 60 * 1000;
function incident(n: number, ageDays: number, status: string, extra: Record<string, unknown> = {}) {
  const at = new Date(Date.now() - ageDays * DAY).toISOString();
  return {
    id: `inc-${n.toString(16).padStart(16, '0')}`,
    title: `old ${n}`,
    description: 'imported',
    severity: 'medium',
    status,
    target: 'production',
    namespace: 'production',
    affected_resources: [],
    labels: {},
    created_at: at,
    updated_at: at,
    resolved_at: status === 'resolved' ? at : null,
    workflow_id: null,
    ...extra,
  };
}
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

describe('export and import', () => {
  it('round-trips every incident from the file store through PostgreSQL and back, idempotently', async () => {
    const dir = dirFor();
    const c = await connectStdio({ DATA_DIR: dir });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await call(c.client, 'create_incident', { title: `t${i}`, description: 'd', severity: 'low', target: 'staging', dedup_key: i === 4 ? 'k4' : undefined });
      ids.push((r.structuredContent as Structured).incident.id);
    }
    await call(c.client, 'update_incident', { id: ids[0], status: 'resolved', note: 'fixed' });
    await c.close();

    const out = join(dirFor(), 'backup.jsonl');
    const exp = await runServer(['export', out], { DATA_DIR: dir });
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stderr.trim()).toBe(`prom-incident-mcp: exported 5 incidents to ${out}`);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.id)).toEqual(ids); // oldest first
    const nowhere = await runServer(['export', '/nonexistent/dir/backup.jsonl'], { DATA_DIR: dir });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr.trim()).toMatch(/^prom-incident-mcp: cannot write \/nonexistent\/dir\/backup\.jsonl: ENOENT/);
    expect(nowhere.stderr).not.toMatch(/\n\s+at /);
    expect(lines[0].timeline.map((e: Structured) => e.event)).toEqual(['created', 'status', 'note']);

    const pg = { INCIDENT_STORE: 'postgres', DATABASE_URL: await freshDatabase() };
    const imp = await runServer(['import', out], pg);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stderr).toMatch(/imported 5 incidents from .*; 0 skipped/);
    const again = await runServer(['import', out], pg);
    expect(again.stderr).toMatch(/imported 0 incidents from .*; 5 skipped/);

    const back = join(dirFor(), 'back.jsonl');
    expect((await runServer(['export', back], pg)).code).toBe(0);
    expect(readFileSync(back, 'utf8')).toBe(readFileSync(out, 'utf8')); // same bytes: key order survives jsonb

    const fresh = dirFor();
    expect((await runServer(['import', back, '--data-dir', fresh], {})).code).toBe(0);
    const d = await connectStdio({ DATA_DIR: fresh });
    cleanups.push(() => d.close());
    const got = (await call(d.client, 'get_incident', { id: ids[0] })).structuredContent as Structured;
    expect(got.incident).toEqual(lines[0]);
  }, 60_000); // eight server processes, each a second or more on a busy machine

  it('names every bad line and imports nothing when any line is bad', async () => {
    const dir = dirFor();
    const file = join(dirFor(), 'bad.jsonl');
    const good = incident(1, 1, 'active');
    writeFileSync(
      file,
      [
        JSON.stringify(good),
        '{not json',
        '',
        JSON.stringify({ ...incident(2, 1, 'active'), severity: 'urgent' }),
        JSON.stringify({ ...incident(3, 1, 'active'), extra: 1 }),
        JSON.stringify(good),
        // PostgreSQL cannot store a NUL; the file store could, so both refuse it here
        JSON.stringify({ ...incident(4, 1, 'active'), timeline: [{ at: good.created_at, by: 'c', event: 'note', note: 'a\u0000b' }] }),
        JSON.stringify({ ...incident(5, 1, 'active'), resolved_at: good.created_at }),
      ].join('\n'),
    );
    const r = await runServer(['import', file], { DATA_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('6 bad line(s); nothing was imported');
    expect(r.stderr).toMatch(/line 7: timeline\[0\]\.note: must not contain NUL characters/);
    expect(r.stderr).toMatch(/line 8: resolved_at: must be null when status is "active"/);
    expect(r.stderr).toMatch(/line 2: not JSON/);
    expect(r.stderr).toMatch(/line 4: severity: must be one of "low", "medium", "high", "critical", got "urgent"/);
    expect(r.stderr).toMatch(/line 5: extra: unknown field/);
    expect(r.stderr).toMatch(/line 6: id inc-0000000000000001 already appears on line 1/);
    const exp = await runServer(['export'], { DATA_DIR: dir });
    expect(exp.code).toBe(1); // nothing was imported, so there is no store to export
    expect(exp.stderr).toContain(`there is no incident store in ${dir}`);
    expect(exp.stdout).toBe('');
    expect((await runServer(['import'], { DATA_DIR: dir })).code).toBe(2);
  });
});

describe('retention', () => {
  for (const backend of ['file', 'postgres'] as const) {
    it(`removes closed incidents past INCIDENT_RETENTION_DAYS at start-up on ${backend}, never active ones`, async () => {
      const env: Record<string, string> =
        backend === 'file' ? { DATA_DIR: dirFor() } : { INCIDENT_STORE: 'postgres', DATABASE_URL: await freshDatabase() };
      const file = join(dirFor(), 'old.jsonl');
      writeFileSync(
        file,
        jsonl([
          incident(1, 400, 'active'),
          incident(2, 40, 'resolved'),
          incident(3, 40, 'cancelled'),
          incident(4, 10, 'resolved'),
          incident(5, 40, 'cancelled', { updated_at: new Date(Date.now() - 5 * DAY).toISOString() }),
        ]),
      );
      expect((await runServer(['import', file], env)).code).toBe(0);
      const run = await runServer(['--transport', 'stdio'], { ...env, INCIDENT_RETENTION_DAYS: '30', LOG_LEVEL: 'info' });
      expect(run.code, run.stderr).toBe(0);
      const log = run.stderr.split('\n').find((l) => l.includes('removed incidents past retention'));
      expect(JSON.parse(log!)).toMatchObject({ resolved: 1, cancelled: 1, total: 2, retentionDays: 30 });
      const left = (await runServer(['export'], env)).stdout.trim().split('\n').map((l) => JSON.parse(l).title);
      expect(left).toEqual(['old 1', 'old 5', 'old 4']); // oldest first
    });
  }

  it('keeps everything with INCIDENT_RETENTION_DAYS=0', async () => {
    const env = { DATA_DIR: dirFor() };
    const file = join(dirFor(), 'old.jsonl');
    writeFileSync(file, jsonl([incident(2, 4000, 'resolved')]));
    await runServer(['import', file], env);
    await runServer(['--transport', 'stdio'], { ...env, INCIDENT_RETENTION_DAYS: '0' });
    expect((await runServer(['export'], env)).stdout).toContain('"old 2"');
  });
});

describe('PostgreSQL start-up', () => {
  it('exits 1 with one line when the database is unreachable, without showing the password', async () => {
    const r = await runServer(['--transport', 'stdio'], { INCIDENT_STORE: 'postgres', DATABASE_URL: 'postgres://app:s3cret@127.0.0.1:1/incidents' }, 20_000);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^prom-incident-mcp: cannot use the PostgreSQL database at postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/incidents: .*ECONNREFUSED/);
    expect(r.stderr).not.toContain('s3cret');
  });

  it('exits 1 naming the database when it does not exist or the password is wrong', async () => {
    const url = new URL(await freshDatabase());
    url.pathname = '/no_such_db';
    const r = await runServer(['--transport', 'stdio'], { INCIDENT_STORE: 'postgres', DATABASE_URL: url.href });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/database "no_such_db" does not exist/);
    url.password = 'wrong';
    url.pathname = '/postgres';
    const w = await runServer(['--transport', 'stdio'], { INCIDENT_STORE: 'postgres', DATABASE_URL: url.href });
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/password authentication failed/);
  });

  it('exits 2 on a DATABASE_URL that is not a postgres URL, or none with INCIDENT_STORE=postgres', async () => {
    const bad = await runServer([], { INCIDENT_STORE: 'postgres', DATABASE_URL: 'mysql://root:pw@db/x' });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('prom-incident-mcp: DATABASE_URL must be a postgres:// or postgresql:// URL, got "mysql://root:***@db/x"');
    const none = await runServer([], { INCIDENT_STORE: 'postgres' });
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toBe('prom-incident-mcp: DATABASE_URL must be set when INCIDENT_STORE is "postgres"');
    const store = await runServer([], { INCIDENT_STORE: 'sqlite' });
    expect(store.stderr.trim()).toBe('prom-incident-mcp: INCIDENT_STORE must be "file" or "postgres", got "sqlite"');
  });
});
