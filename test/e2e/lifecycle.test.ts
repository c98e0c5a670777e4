// The incident lifecycle through a real MCP client, on both stores and both transports:
// get/update tools, dedup, evidence, the timeline's "who", and incident:// resources.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../helpers/postgres.js';
import { MCP_POST_HEADERS, call, connectHttp, connectVia, rawRequest, startHttpServer, tempDir, text, type Connected } from '../helpers/server.js';

type Structured = Record<string, any>;
const CASES = [
  ['file', 'stdio'],
  ['file', 'http'],
  ['postgres', 'stdio'],
  ['postgres', 'http'],
] as const;

for (const [backend, transport] of CASES) {
  describe(`incident lifecycle on ${backend} over ${transport}`, () => {
    const dir = tempDir();
    let conn: Connected;
    const clientName = transport === 'stdio' ? 'vitest' : 'vitest-http';

    beforeAll(async () => {
      const env: Record<string, string> =
        backend === 'file' ? { DATA_DIR: dir.path } : { INCIDENT_STORE: 'postgres', DATABASE_URL: await freshDatabase(), DATA_DIR: dir.path };
      conn = await connectVia(transport, env);
    });
    afterAll(async () => {
      await conn?.close();
      dir.cleanup();
    });

    const create = async (args: Record<string, unknown>) => {
      const r = await call(conn.client, 'create_incident', { description: 'd', severity: 'high', target: 'production', ...args });
      expect(r.isError, text(r)).toBeFalsy();
      return r.structuredContent as Structured;
    };

    it('lists get_incident and update_incident with honest annotations, each entry within budget', async () => {
      const { tools } = await conn.client.listTools();
      const byName = new Map(tools.map((t) => [t.name, t]));
      expect(byName.get('get_incident')!.annotations).toMatchObject({ readOnlyHint: true, idempotentHint: true });
      expect(byName.get('update_incident')!.annotations).toMatchObject({ readOnlyHint: false, idempotentHint: false });
      for (const name of ['create_incident', 'list_incidents', 'get_incident', 'update_incident']) {
        const t = byName.get(name)!;
        expect(JSON.stringify(t).length, name).toBeLessThanOrEqual(1600);
        expect(t.description, name).toMatch(/Example:/);
      }
    });

    it('deduplicates by dedup_key and keeps evidence, shown in full only by get_incident', async () => {
      const evidence = [
        { kind: 'promql', summary: 'p95 latency 2.3s', query: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))', data: { value: 2.3 } },
        { kind: 'anomaly', summary: 'z-score 4.2 on request rate', data: { score: 4.2 } },
      ];
      const first = await create({ title: 'Slow API', dedup_key: 'SlowAPI/production', evidence });
      expect(first.deduplicated).toBe(false);
      expect(first.incident).toMatchObject({ evidence_count: 2, timeline_count: 1, dedup_key: 'SlowAPI/production' });
      expect(first.incident).not.toHaveProperty('evidence');
      const again = await call(conn.client, 'create_incident', { title: 'Slow API (retry)', description: 'd', severity: 'low', target: 'production', dedup_key: 'SlowAPI/production' });
      expect((again.structuredContent as Structured).deduplicated).toBe(true);
      expect((again.structuredContent as Structured).incident.id).toBe(first.incident.id);
      expect(text(again)).toMatch(/^Already recorded as inc-[0-9a-f]+ .*nothing new was created/);

      const got = await call(conn.client, 'get_incident', { id: first.incident.id });
      expect(got.isError, text(got)).toBeFalsy();
      const inc = (got.structuredContent as Structured).incident;
      expect(inc.evidence).toEqual(evidence);
      expect(inc.timeline).toEqual([{ at: inc.created_at, by: clientName, event: 'created' }]);
      expect(text(got)).toContain('Evidence (2):');
      expect(text(got)).toContain(`${clientName}: created`);

      const list = (await call(conn.client, 'list_incidents', { dedup_key: undefined, limit: 5 })).structuredContent as Structured;
      expect(list.incidents[0]).toMatchObject({ id: first.incident.id, evidence_count: 2, timeline_count: 1 });
      expect(list.incidents[0]).not.toHaveProperty('timeline');
    });

    it('resolves with a note, refuses an invalid transition, reopens, and records who did each', async () => {
      const { incident } = await create({ title: 'Pods crash-looping' });
      const resolved = await call(conn.client, 'update_incident', { id: incident.id, status: 'resolved', note: 'rolled back to v41' });
      expect(resolved.isError, text(resolved)).toBeFalsy();
      expect(text(resolved)).toMatch(/^Updated inc-[0-9a-f]+: status active -> resolved; note: rolled back to v41/);
      const s = resolved.structuredContent as Structured;
      expect(s.incident).toMatchObject({ status: 'resolved', timeline_count: 3 });
      expect(s.incident.resolved_at).toEqual(s.changes[0].at);
      expect(s.changes.map((c: Structured) => c.by)).toEqual([clientName, clientName]);

      const bad = await call(conn.client, 'update_incident', { id: incident.id, status: 'cancelled' });
      expect(bad.isError).toBe(true);
      expect(text(bad)).toMatch(/^Not allowed: inc-[0-9a-f]+ is resolved; reopen it \(status "active"\) before marking it cancelled/);

      const reopened = await call(conn.client, 'update_incident', { id: incident.id, status: 'active', severity: 'critical', labels: { team: 'payments' }, workflow_id: 'wf-17' });
      expect((reopened.structuredContent as Structured).incident).toMatchObject({ status: 'active', resolved_at: null, severity: 'critical', labels: { team: 'payments' }, workflow_id: 'wf-17' });

      const full = (await call(conn.client, 'get_incident', { id: incident.id })).structuredContent as Structured;
      expect(full.incident.timeline.map((e: Structured) => `${e.by} ${e.event}`)).toEqual([
        `${clientName} created`,
        `${clientName} status`,
        `${clientName} note`,
        `${clientName} status`,
        `${clientName} severity`,
        `${clientName} labels`,
        `${clientName} workflow`,
      ]);
      const unlinked = await call(conn.client, 'update_incident', { id: incident.id, workflow_id: '' });
      expect((unlinked.structuredContent as Structured).incident.workflow_id).toBeNull();
      expect(text(unlinked)).toMatch(/workflow wf-17 unlinked/);
      const resolvedList = (await call(conn.client, 'list_incidents', { status: 'active', severity: 'critical' })).structuredContent as Structured;
      expect(resolvedList.incidents.map((i: Structured) => i.id)).toEqual([incident.id]);
    });

    it('answers bad updates and lookups with tool errors that say what to do', async () => {
      const { incident } = await create({ title: 'x' });
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['update_incident', { id: incident.id }, /give at least one of status, severity/],
        ['update_incident', { id: incident.id, status: 'done' }, /status: must be one of "active", "resolved", "cancelled", got "done"/],
        ['update_incident', { id: incident.id, note: '' }, /note: must not be empty/],
        ['update_incident', { id: 'inc-0000000000000000', note: 'n' }, /^Not found: incident inc-0000000000000000 does not exist/],
        ['update_incident', { id: 'INC-1', note: 'n' }, /id: must look like "inc-" followed by hex digits/],
        ['get_incident', { id: 'inc-00000000000000ff' }, /^Not found: incident inc-00000000000000ff does not exist/],
        ['create_incident', { title: 't', description: 'd', severity: 'low', target: 't', evidence: [{ kind: 'promql', summary: 's', data: { blob: 'x'.repeat(40_000) } }] }, /evidence: must be at most 32768 bytes as JSON, got \d+ bytes/],
        ['create_incident', { title: 't', description: 'd', severity: 'low', target: 't', evidence: [{ kind: 'log', summary: 's' }] }, /evidence\[0\]\.kind: must be one of "promql", "features", "anomaly", "other"/],
        ['create_incident', { title: 't', description: 'd', severity: 'low', target: 't', evidence: [{ kind: 'promql', summary: 's', data: [0.93] }] }, /evidence\[0\]\.data: must be a JSON object/],
        // PostgreSQL cannot store NUL; neither store accepts it, with the same message
        ['create_incident', { title: 'a\u0000b', description: 'd', severity: 'low', target: 't' }, /title: must not contain NUL characters/],
        ['create_incident', { title: 't', description: 'd', severity: 'low', target: 't', evidence: [{ kind: 'other', summary: 's', data: { k: ['x\u0000'] } }] }, /evidence: must not contain NUL characters/],
        ['update_incident', { id: incident.id, labels: { team: '\u0000' } }, /labels\.team: must not contain NUL characters/],
        // nor lone surrogates (jsonb refuses them), anywhere text is stored or matched
        ['create_incident', { title: 'a\ud800', description: 'd', severity: 'low', target: 't' }, /^Invalid arguments for create_incident:\n- title: must be valid Unicode \(no lone surrogates\), got "a\\ud800"$/],
        ['create_incident', { title: 't', description: 'd', severity: 'low', target: 't', affected_resources: ['pod/\udc00'] }, /affected_resources\[0\]: must be valid Unicode \(no lone surrogates\)/],
        ['create_incident', { title: 't', description: 'd', severity: 'low', target: 't', labels: { team: '\ud83d' } }, /labels\.team: must be valid Unicode \(no lone surrogates\)/],
        ['create_incident', { title: 't', description: 'd', severity: 'low', target: 't', evidence: [{ kind: 'other', summary: 's', data: { k: [{ v: '\ud800' }] } }] }, /evidence: must be valid Unicode \(no lone surrogates\)/],
        ['update_incident', { id: incident.id, note: 'fixed \udfff' }, /note: must be valid Unicode \(no lone surrogates\)/],
        ['list_incidents', { labels: { team: '\ud800' } }, /labels\.team: must be valid Unicode \(no lone surrogates\)/],
        ['list_incidents', { labels: { '\ud800': 'x' } }, /labels\["\\ud800"\]: key "\\ud800" is not allowed: must be valid Unicode \(no lone surrogates\)/],
        ['list_incidents', { target: 'prod\ud800' }, /target: must be valid Unicode \(no lone surrogates\)/],
      ];
      for (const [tool, args, pattern] of cases) {
        const r = await call(conn.client, tool, args);
        expect(r.isError, `${tool} ${JSON.stringify(args).slice(0, 80)}`).toBe(true);
        expect(text(r)).toMatch(pattern);
        expect(text(r)).not.toMatch(/\n\s+at /);
      }
      expect(((await call(conn.client, 'get_incident', { id: incident.id })).structuredContent as Structured).incident).toMatchObject({ title: 'x', timeline: [{ event: 'created' }] });
    });

    it('bounds what get_incident and list_incidents return, and says what it left out', async () => {
      const { incident } = await create({ title: 'Busy' });
      for (let i = 1; i < 60; i++) await call(conn.client, 'update_incident', { id: incident.id, note: `note ${i}` });
      const got = await call(conn.client, 'get_incident', { id: incident.id });
      const s = got.structuredContent as Structured;
      expect(s.timeline_omitted).toBe(10);
      expect(s.incident.timeline).toHaveLength(50);
      expect(s.incident.timeline[0].note).toBe('note 10');
      expect(s.incident.timeline[49].note).toBe('note 59');
      expect(text(got)).toContain('Timeline (60; 10 older left out of the result (raise timeline_limit, at most 255, for more); last 20 shown):');
      const all = (await call(conn.client, 'get_incident', { id: incident.id, timeline_limit: 255 })).structuredContent as Structured;
      expect(all.timeline_omitted).toBe(0);
      expect(all.incident.timeline.map((e: Structured) => e.event)).toEqual(['created', ...Array(59).fill('note')]);
      const none = (await call(conn.client, 'get_incident', { id: incident.id, timeline_limit: 0 })).structuredContent as Structured;
      expect(none).toMatchObject({ timeline_omitted: 60, incident: { id: incident.id, timeline: [] } });
      // the resource is read on purpose, and whole
      const read = await conn.client.readResource({ uri: `incident://${incident.id}` });
      expect(JSON.parse((read.contents[0] as { text: string }).text).timeline).toHaveLength(60);
      const bad = await call(conn.client, 'get_incident', { id: incident.id, timeline_limit: 256 });
      expect(text(bad)).toMatch(/timeline_limit: must be at most 255, got 256/);

      // the largest labels and affected_resources an incident may have: the list form shows what fits and counts the rest
      const labels = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${String(i).padStart(2, '0')}${'k'.repeat(60)}`, 'v'.repeat(256)]));
      const resources = Array.from({ length: 50 }, (_, i) => `pod/${String(i).padStart(2, '0')}${'r'.repeat(247)}`);
      const big = await create({ title: 'x'.repeat(200), description: 'd'.repeat(2000), target: 't'.repeat(100), labels, affected_resources: resources, dedup_key: 'k'.repeat(200), workflow_id: 'w'.repeat(50) });
      const list = await call(conn.client, 'list_incidents', { limit: 2 });
      const [item, small] = (list.structuredContent as Structured).incidents;
      expect(item.id).toBe(big.incident.id);
      // 63 + 256 characters per label: 3 fit in 1,000; 253 per resource: 1 fits in 500
      expect(Object.keys(item.labels)).toEqual(Object.keys(labels).slice(0, 3));
      expect(item).toMatchObject({ labels_omitted: 29, affected_resources: resources.slice(0, 1), affected_resources_omitted: 49, description_truncated: true });
      expect(JSON.stringify(item).length).toBeLessThan(3000);
      expect(small).toMatchObject({ id: incident.id, labels_omitted: 0, affected_resources_omitted: 0 });
      expect(text(list)).toContain('1 item shows only some labels or affected_resources (see labels_omitted, affected_resources_omitted); get_incident has them all.');
      const whole = (await call(conn.client, 'get_incident', { id: big.incident.id })).structuredContent as Structured;
      expect(whole.incident).toMatchObject({ labels, affected_resources: resources });
    });

    it('offers incidents as incident:// resources', async () => {
      const { incident } = await create({ title: 'Resource me' });
      const { resourceTemplates } = await conn.client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('incident://{id}');
      const { resources } = await conn.client.listResources();
      expect(resources[0]).toMatchObject({ uri: `incident://${incident.id}`, name: incident.id, title: 'Resource me', mimeType: 'application/json' });
      const read = await conn.client.readResource({ uri: `incident://${incident.id}` });
      const body = JSON.parse((read.contents[0] as { text: string }).text);
      expect(body).toMatchObject({ id: incident.id, title: 'Resource me', timeline: [{ event: 'created', by: clientName }] });
      await expect(conn.client.readResource({ uri: 'incident://inc-00000000000000aa' })).rejects.toThrow(/Resource not found/);
      await expect(conn.client.readResource({ uri: 'incident://nonsense' })).rejects.toThrow(/Resource not found/);
    });
  });
}

describe('two replicas behind one PostgreSQL database', () => {
  it('share incidents, deduplicate across replicas and keep every note', async () => {
    const env = { INCIDENT_STORE: 'postgres', DATABASE_URL: await freshDatabase() };
    const servers = await Promise.all([startHttpServer(env), startHttpServer(env)]);
    const conns = await Promise.all(servers.map((s) => connectHttp(s.url)));
    try {
      const args = { title: 'Disk pressure', description: 'd', severity: 'high', target: 'production', dedup_key: 'DiskPressure/production' };
      const made = await Promise.all(Array.from({ length: 16 }, (_, i) => call(conns[i % 2]!.client, 'create_incident', args)));
      const ids = new Set(made.map((r) => (r.structuredContent as Structured).incident.id));
      expect(ids.size).toBe(1);
      expect(made.filter((r) => !(r.structuredContent as Structured).deduplicated)).toHaveLength(1);
      const [id] = [...ids];
      const notes = await Promise.all(Array.from({ length: 16 }, (_, i) => call(conns[i % 2]!.client, 'update_incident', { id, note: `note ${i}` })));
      for (const n of notes) expect(n.isError, text(n)).toBeFalsy();
      for (const c of conns) {
        const inc = ((await call(c.client, 'get_incident', { id })).structuredContent as Structured).incident;
        expect(inc.timeline.filter((e: Structured) => e.event === 'note').map((e: Structured) => e.note).sort()).toEqual(
          Array.from({ length: 16 }, (_, i) => `note ${i}`).sort(),
        );
      }
    } finally {
      for (const c of conns) await c.close();
      for (const s of servers) await s.stop();
    }
  });
});

/** {"x": [[...[1]...]]}: an object `levels` deep (the object itself is level 1). */
function nested(levels: number): Record<string, unknown> {
  let v: unknown = 1;
  for (let i = 1; i < levels; i++) v = [v];
  return { x: v };
}

for (const transport of ['stdio', 'http'] as const) {
  describe(`input nested too deep to walk, over ${transport}`, () => {
    const dir = tempDir();
    let conn: Connected;
    let metricsUrl = '';
    let mcpUrl = '';
    beforeAll(async () => {
      const env = { DATA_DIR: dir.path, LOG_LEVEL: 'info' };
      if (transport === 'stdio') conn = await connectVia('stdio', env);
      else {
        const srv = await startHttpServer(env);
        mcpUrl = srv.url;
        metricsUrl = srv.url.replace(/\/mcp$/, '/metrics');
        const c = await connectHttp(srv.url);
        conn = {
          ...c,
          stderr: srv.stderr,
          close: async () => {
            await c.close();
            await srv.stop();
          },
        };
      }
    });
    afterAll(async () => {
      await conn?.close();
      dir.cleanup();
    });
    const incident = (data: Record<string, unknown>) => ({ title: 'deep', description: 'd', severity: 'low', target: 't', evidence: [{ kind: 'other', summary: 's', data }] });

    it('refuses evidence data past 32 levels with a tool error that is audited and counted; 32 levels are fine', async () => {
      const deep = await call(conn.client, 'create_incident', incident(nested(2000)));
      expect(deep.isError).toBe(true);
      expect(text(deep)).toBe('Invalid arguments for create_incident:\n- evidence[0].data: must nest at most 32 levels');
      const over = await call(conn.client, 'create_incident', incident(nested(33)));
      expect(text(over)).toMatch(/evidence\[0\]\.data: must nest at most 32 levels/);
      const ok = await call(conn.client, 'create_incident', incident(nested(32)));
      expect(ok.isError, text(ok)).toBeFalsy();
      const list = (await call(conn.client, 'list_incidents', { status: 'all' })).structuredContent as Structured;
      expect(list.total).toBe(1);

      const audit = conn
        .stderr()
        .split('\n')
        .filter((l) => l.includes('"audit":true'))
        .map((l) => JSON.parse(l));
      expect(audit.map((a) => `${a.tool} ${a.outcome}`)).toEqual(['create_incident invalid_input', 'create_incident invalid_input', 'create_incident ok']);
      if (transport === 'http') {
        const m = await (await fetch(metricsUrl)).text();
        expect(m).toContain('prom_incident_mcp_tool_calls_total{tool="create_incident",outcome="invalid_input"} 2');
      }
    });

    it.runIf(transport === 'http')('refuses a value nested deeper than the SDK walks as invalid params, and names the field of one it walks (sent raw)', async () => {
      // a 2025-era request needs no initialize first: the endpoint is stateless
      const headers = { ...MCP_POST_HEADERS, 'mcp-protocol-version': '2025-06-18' };
      const depth = 100_000;
      const args = `{"series":[{"labels":{"x":${'['.repeat(depth)}${']'.repeat(depth)}},"values":[]}]}`;
      const body = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"detect_anomaly","arguments":${args}}}`;
      const res = await rawRequest(mcpUrl, { headers, body });
      // deeper than the SDK's own message checks can walk: refused before them, as invalid params
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toEqual({
        jsonrpc: '2.0',
        error: { code: -32602, message: 'Invalid params: the request nests more than 2048 levels deep; send flatter arguments' },
        id: 2,
      });
      // within what the SDK walks, the tool itself names the field
      const shallow = body.replace(`${'['.repeat(depth)}${']'.repeat(depth)}`, `${'['.repeat(2000)}${']'.repeat(2000)}`);
      const ok = await rawRequest(mcpUrl, { headers, body: shallow });
      const msg = JSON.parse(ok.body.startsWith('{') ? ok.body : ok.body.split('\n').find((l) => l.startsWith('data: '))!.slice(6));
      expect(msg.result.isError).toBe(true);
      expect(msg.result.content[0].text).toMatch(/^Invalid arguments for detect_anomaly:\n- series\[0\]\.labels\.x: must be a string, got \[/);
    });
  });
}
