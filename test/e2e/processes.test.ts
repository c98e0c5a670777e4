// Start-up behaviour, two servers sharing DATA_DIR, and kill -9 of a server mid-write.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCleanups } from '../helpers/cleanups.js';
import { call, connectHttp, connectStdio, runServer, startHttpServer, type HttpServer } from '../helpers/server.js';

type Structured = Record<string, any>;
const { cleanups, dirFor } = useCleanups();

describe('start-up', () => {
  it('stops with exit code 2 and one line naming the variable and the rule', async () => {
    const r = await runServer([], { PORT: 'abc', DATA_DIR: dirFor() });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('prom-incident-mcp: PORT must be an integer 1-65535, got "abc"');
    expect(r.stdout).toBe('');
  });

  it('refuses a corrupt store with a clear message and leaves it alone', async () => {
    const dir = dirFor();
    writeFileSync(join(dir, 'incidents.journal'), 'not ours\n');
    const r = await runServer(['--transport', 'stdio'], { DATA_DIR: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/incidents\.journal is not a prom-incident-mcp journal file/);
    expect(r.stdout).toBe('');
  });

  it('prints help to stdout and exits 0', async () => {
    const r = await runServer(['--help'], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--transport stdio\|http/);
  });

  it('serves /healthz over HTTP, and a request naming a session it never opened as if it named none', async () => {
    const srv = await startHttpServer({ DATA_DIR: dirFor() });
    cleanups.push(() => srv.stop());
    const health = await fetch(srv.url.replace('/mcp', '/healthz'));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const stale = await fetch(srv.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'nope' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    // stateless: no session is looked up, so a client left with an old session id still gets answers
    expect(stale.status).toBe(200);
    expect(await stale.text()).toContain('create_incident');
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });
});

describe('shared DATA_DIR', () => {
  it('a stdio server and an HTTP server see each other\'s incidents', async () => {
    const dir = dirFor();
    const srv = await startHttpServer({ DATA_DIR: dir });
    cleanups.push(() => srv.stop());
    const viaHttp = await connectHttp(srv.url);
    cleanups.push(() => viaHttp.close());
    const viaStdio = await connectStdio({ DATA_DIR: dir });
    cleanups.push(() => viaStdio.close());

    const make = (c: typeof viaHttp, n: number) =>
      call(c.client, 'create_incident', { title: `t${n}`, description: 'd', severity: 'low', target: 'shared' });
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => make(viaHttp, i)),
      ...Array.from({ length: 20 }, (_, i) => make(viaStdio, 100 + i)),
    ]);
    for (const c of [viaHttp, viaStdio]) {
      const s = (await call(c.client, 'list_incidents', { target: 'shared', limit: 500 })).structuredContent as Structured;
      expect(s.total).toBe(40);
    }
  });
});

describe('kill -9', () => {
  it('every create the server acknowledged is there after a restart', async () => {
    const dir = dirFor();
    const srv: HttpServer = await startHttpServer({ DATA_DIR: dir });
    cleanups.push(() => srv.stop('SIGKILL'));
    const conns = await Promise.all([0, 1, 2, 3].map(() => connectHttp(srv.url)));
    const acked: string[] = [];
    let stop = false;
    const loops = conns.map(async (c, k) => {
      for (let n = 0; !stop; n++) {
        try {
          const args = { title: `k${k}-${n}`, description: 'd', severity: 'high', target: 'crash' };
          // a call in flight when the server dies would otherwise wait for the client's 60 s default
          const r = await call(c.client, 'create_incident', args, { timeout: 3000 });
          if (!r.isError) acked.push((r.structuredContent as Structured).incident.id);
        } catch {
          if (stop) return; // the server is gone
          // a slow answer on a loaded machine: keep writing until the kill
        }
      }
    });
    const deadline = Date.now() + 30_000;
    while (acked.length < 150) {
      if (Date.now() > deadline) throw new Error(`only ${acked.length} creates acknowledged in 30 s:\n${srv.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    srv.proc.kill('SIGKILL');
    stop = true;
    await Promise.all(loops);
    for (const c of conns) await c.close().catch(() => undefined);

    const again = await connectStdio({ DATA_DIR: dir });
    cleanups.push(() => again.close());
    const s = (await call(again.client, 'list_incidents', { target: 'crash', limit: 500 })).structuredContent as Structured;
    const stored = new Set(s.incidents.map((i: Structured) => i.id));
    expect(s.total).toBeGreaterThanOrEqual(acked.length);
    for (const id of acked) expect(stored.has(id), id).toBe(true);
  }, 60_000);
});
