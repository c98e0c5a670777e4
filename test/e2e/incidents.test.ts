// The incident tools through a real MCP client, over stdio and over streamable HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connectHttp, connectStdio, startHttpServer, tempDir, text, type Connected, type HttpServer } from '../helpers/server.js';

type Structured = Record<string, any>;

for (const transport of ['stdio', 'http'] as const) {
  describe(`incident tools over ${transport}`, () => {
    const dir = tempDir();
    let http: HttpServer | undefined;
    let conn: Connected;

    const connect = async (): Promise<Connected> => {
      if (transport === 'stdio') return connectStdio({ DATA_DIR: dir.path });
      http ??= await startHttpServer({ DATA_DIR: dir.path });
      return connectHttp(http.url);
    };

    beforeAll(async () => {
      conn = await connect();
    });
    afterAll(async () => {
      await conn?.close();
      await http?.stop();
      dir.cleanup();
    });

    it('lists the incident tools with schemas and honest annotations', async () => {
      const { tools } = await conn.client.listTools();
      const byName = new Map(tools.map((t) => [t.name, t]));
      const create = byName.get('create_incident')!;
      const list = byName.get('list_incidents')!;
      expect(create.inputSchema.required).toEqual(expect.arrayContaining(['title', 'description', 'severity', 'target']));
      expect(create.outputSchema).toBeDefined();
      expect(create.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false });
      expect(list.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
      expect(list.description).toMatch(/Example:/);
    });

    it('creates incidents and lists them back with filters, newest first', async () => {
      const made: Structured[] = [];
      const specs = [
        { title: 'Disk almost full', severity: 'medium', target: 'staging', labels: { team: 'storage' } },
        { title: 'High CPU usage in production', severity: 'high', target: 'production', labels: { team: 'platform' } },
        { title: 'Payments down', severity: 'critical', target: 'production', affected_resources: ['deployment/payment-service'] },
      ];
      for (const s of specs) {
        const r = await call(conn.client, 'create_incident', { description: `${s.title}: details`, ...s });
        expect(r.isError, text(r)).toBeFalsy();
        expect(text(r)).toContain((r.structuredContent as Structured).incident.id);
        made.push((r.structuredContent as Structured).incident);
      }
      expect(made[2]).toMatchObject({ status: 'active', namespace: 'production', affected_resources: ['deployment/payment-service'] });

      const all = await call(conn.client, 'list_incidents', {});
      const s = all.structuredContent as Structured;
      expect(s.total).toBe(3);
      expect(s.incidents.map((i: Structured) => i.title)).toEqual(['Payments down', 'High CPU usage in production', 'Disk almost full']);
      expect(text(all)).toMatch(/^3 active incidents match/);

      const prodHigh = (await call(conn.client, 'list_incidents', { namespace: 'production', severity: 'high' })).structuredContent as Structured;
      expect(prodHigh.total).toBe(1);
      expect(text(await call(conn.client, 'list_incidents', { namespace: 'production', severity: 'high' }))).toMatch(
        /^1 active incident, severity high, namespace production matches; showing 1/,
      );
      expect(prodHigh.incidents[0].id).toBe(made[1]!.id);

      const byLabel = (await call(conn.client, 'list_incidents', { labels: { team: 'storage' }, status: 'all', severity: 'all' }))
        .structuredContent as Structured;
      expect(byLabel.incidents.map((i: Structured) => i.id)).toEqual([made[0]!.id]);

      const none = await call(conn.client, 'list_incidents', { status: 'resolved' });
      expect((none.structuredContent as Structured).total).toBe(0);
      expect(text(none)).toBe('No resolved incidents match.');

      const future = (await call(conn.client, 'list_incidents', { since: 'now+1h' })).structuredContent as Structured;
      expect(future.total).toBe(0);
      const recent = (await call(conn.client, 'list_incidents', { since: '1h', until: 'now+1m' })).structuredContent as Structured;
      expect(recent.total).toBe(3);
    });

    it('pages with limit and cursor, and cuts long descriptions', async () => {
      for (let i = 0; i < 4; i++) {
        await call(conn.client, 'create_incident', { title: `paged ${i}`, description: 'x'.repeat(1500), severity: 'low', target: 'paging' });
      }
      const first = (await call(conn.client, 'list_incidents', { target: 'paging', limit: 3 })).structuredContent as Structured;
      expect(first.total).toBe(4);
      expect(first.incidents.map((i: Structured) => i.title)).toEqual(['paged 3', 'paged 2', 'paged 1']);
      expect(first.incidents[0].description.length).toBeLessThanOrEqual(200);
      expect(first.incidents[0].description_truncated).toBe(true);
      const second = (await call(conn.client, 'list_incidents', { target: 'paging', limit: 3, cursor: first.next_cursor }))
        .structuredContent as Structured;
      expect(second.incidents.map((i: Structured) => i.title)).toEqual(['paged 0']);
      expect(second.next_cursor).toBeNull();
      const byOffset = (await call(conn.client, 'list_incidents', { target: 'paging', limit: 2, offset: 2 })).structuredContent as Structured;
      expect(byOffset.incidents.map((i: Structured) => i.title)).toEqual(['paged 1', 'paged 0']);
    });

    it('trims the target filter as create_incident trims the target it stores', async () => {
      const made = (await call(conn.client, 'create_incident', { title: 'spaced', description: 'd', severity: 'low', target: '  spaced-out  ' }))
        .structuredContent as Structured;
      expect(made.incident.target).toBe('spaced-out');
      const found = (await call(conn.client, 'list_incidents', { target: ' spaced-out ' })).structuredContent as Structured;
      expect(found.incidents.map((i: Structured) => i.id)).toEqual([made.incident.id]);
      expect(found.filters.target).toBe('spaced-out');
      // a namespace is a name, not text: both tools refuse spaces around it rather than match nothing
      for (const [tool, args] of [
        ['list_incidents', {}],
        ['create_incident', { title: 't', description: 'd', severity: 'low', target: 't' }],
      ] as const) {
        const r = await call(conn.client, tool, { ...args, namespace: ' spaced-out ' });
        expect(r.isError).toBe(true);
        expect(text(r)).toMatch(/namespace: must be a Kubernetes namespace name/);
      }
    });

    it('answers bad input with a tool error naming the field and the rule', async () => {
      const cases: [string, Record<string, unknown>, RegExp[]][] = [
        ['list_incidents', { severity: 'urgent' }, [/severity: must be one of "low", "medium", "high", "critical", "all", got "urgent"/]],
        ['list_incidents', { limit: 10000 }, [/limit: must be at most 500, got 10000/]],
        ['list_incidents', { limit: 2.5 }, [/limit: must be an integer/]],
        ['list_incidents', { since: 'yesterday' }, [/since: must be RFC 3339/]],
        ['list_incidents', { since: '1h', until: '2h' }, [/since: must be earlier than until/]],
        ['list_incidents', { cursor: 'bogus' }, [/cursor: is not a cursor/]],
        ['list_incidents', { namespace: 'Prod"}' }, [/namespace: must be a Kubernetes namespace name/]],
        ['list_incidents', { sevrity: 'high' }, [/sevrity: unknown field/, /Known fields: status, severity/]],
        ['list_incidents', { target: 'a\u0000b' }, [/target: must not contain NUL characters/]],
        ['list_incidents', { target: '   ' }, [/target: must not be empty/]],
        ['list_incidents', { labels: { team: 'x\u0000' } }, [/labels\.team: must not contain NUL characters/]],
        [
          'create_incident',
          { title: 'x'.repeat(5000), description: 'd', severity: 'high', target: 't' },
          [/title: must be at most 200 characters, got 5000 characters/],
        ],
        ['create_incident', { title: 't', description: 'd', severity: 'sev1', target: 't' }, [/severity: must be one of "low", "medium", "high", "critical"/]],
        ['create_incident', { title: '   ', description: 'd', severity: 'low' }, [/title: must not be empty/, /target: is required/]],
        ['create_incident', { title: 't', description: 'd', severity: 'low', target: 't', labels: { 'bad key!': 'v' } }, [/labels.*label keys are/]],
        ['no_such_tool', {}, [/Unknown tool "no_such_tool"\. Available tools: .*\bcreate_incident\b/, /\blist_incidents\b/]],
      ];
      for (const [tool, args, patterns] of cases) {
        const r = await call(conn.client, tool, args);
        expect(r.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
        for (const p of patterns) expect(text(r)).toMatch(p);
        expect(text(r)).not.toMatch(/\n\s+at /); // no stack trace
      }
      // nothing already stored was lost
      const after = (await call(conn.client, 'list_incidents', { status: 'all', limit: 500 })).structuredContent as Structured;
      expect(after.total).toBe(8);
    });

    it('keeps incidents across a restart of the server', async () => {
      const before = (await call(conn.client, 'list_incidents', { status: 'all', limit: 500 })).structuredContent as Structured;
      await conn.close();
      if (http) {
        await http.stop();
        http = undefined;
      }
      conn = await connect();
      const after = (await call(conn.client, 'list_incidents', { status: 'all', limit: 500 })).structuredContent as Structured;
      expect(after.incidents).toEqual(before.incidents);
    });

    it('takes labels as "name=value" strings and evidence data as JSON text, forms every client can declare', async () => {
      const made = await call(conn.client, 'create_incident', {
        title: 'Queue backlog',
        description: 'orders queue growing',
        severity: 'medium',
        target: 'shop',
        labels: ['team=orders', 'url=https://x/?a=b'],
        evidence: [{ kind: 'promql', summary: 'backlog 12k', query: null, data: '{"backlog":12000,"by":{"queue":"orders"}}' }],
        workflow_id: null,
      });
      expect(made.isError, text(made)).toBeFalsy();
      const id = (made.structuredContent as Structured).incident.id as string;
      expect((made.structuredContent as Structured).incident.labels).toEqual({ team: 'orders', url: 'https://x/?a=b' });
      const got = (await call(conn.client, 'get_incident', { id })).structuredContent as Structured;
      expect(got.incident.evidence).toEqual([{ kind: 'promql', summary: 'backlog 12k', data: { backlog: 12000, by: { queue: 'orders' } } }]);

      const up = await call(conn.client, 'update_incident', { id, labels: ['team=fulfilment'], note: null });
      expect((up.structuredContent as Structured).incident.labels).toEqual({ team: 'fulfilment', url: 'https://x/?a=b' });
      const found = (await call(conn.client, 'list_incidents', { labels: ['team=fulfilment'], status: 'all' })).structuredContent as Structured;
      expect(found.incidents.map((i: Structured) => i.id)).toEqual([id]);

      const cases: [Record<string, unknown>, RegExp][] = [
        [{ labels: ['team'] }, /labels\[0\]: must be "name=value", got "team"/],
        [{ labels: ['a=1', 'a=2'] }, /labels\[1\]: gives "a" a second time, got "a=2"/],
        [{ labels: ['bad key!=v'] }, /labels.*label keys are/],
        [{ labels: { team: 5 } }, /labels\.team: must be a string/],
        [{ evidence: [{ kind: 'other', summary: 's', data: '[1,2]' }] }, /evidence\[0\]\.data: must be the text of a JSON object/],
        [{ evidence: [{ kind: 'other', summary: 's', data: 7 }] }, /evidence\[0\]\.data: must be a JSON object, or its text/],
      ];
      for (const [args, pattern] of cases) {
        const r = await call(conn.client, 'create_incident', { title: 't', description: 'd', severity: 'low', target: 't', ...args });
        expect(r.isError, JSON.stringify(args)).toBe(true);
        expect(text(r)).toMatch(pattern);
      }
    });
  });
}
