import { describe, expect, it } from 'vitest';
import { exportLine, parseImport } from '../../src/incidents/backup.js';
import { applyUpdate } from '../../src/incidents/lifecycle.js';
import { buildIncident, type Incident } from '../../src/incidents/model.js';

const inc = buildIncident({ title: 't', description: 'd', severity: 'high', target: 'production' }, 'inc-00000000000000a1', new Date('2026-03-01T10:00:00Z'), 'c');

describe('import lines', () => {
  it('reads its own export back exactly', () => {
    const { incidents, errors } = parseImport(exportLine(inc) + '\n' + exportLine({ ...inc, id: 'inc-00000000000000a2' }));
    expect(errors).toEqual([]);
    expect(incidents).toEqual([inc, { ...inc, id: 'inc-00000000000000a2' }]);
  });

  it('normalises timestamps to UTC milliseconds and fills what first-version lines lack', () => {
    const { timeline: _t, evidence: _e, dedup_key: _d, ...v1 } = inc;
    const line = JSON.stringify({ ...v1, created_at: '2026-03-01T12:00:00+02:00', updated_at: '2026-03-01T10:00:00.5Z' });
    const { incidents, errors } = parseImport(line);
    expect(errors).toEqual([]);
    expect(incidents[0]).toMatchObject({
      created_at: '2026-03-01T10:00:00.000Z',
      updated_at: '2026-03-01T10:00:00.500Z',
      timeline: [],
      evidence: [],
      dedup_key: null,
    });
  });

  it('refuses times in the future, which would push every later creation time after them', () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const { incidents, errors } = parseImport(`${exportLine(inc).trim()}\n${exportLine({ ...inc, id: 'inc-00000000000000a3', created_at: future, updated_at: future })}`);
    expect(incidents).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^line 2: .*created_at.*is in the future/);
  });

  it('reports each bad line with its number and the rule it broke', () => {
    const lines = [
      exportLine(inc).trim(),
      '[]',
      JSON.stringify({ ...inc, id: 'inc-00000000000000a3', title: '' }),
      JSON.stringify({ ...inc, id: 'nope' }),
      JSON.stringify({ ...inc, id: 'inc-00000000000000a4', timeline: [{ at: 'yesterday', by: 'x', event: 'note' }] }),
    ];
    const { incidents, errors } = parseImport(lines.join('\n'));
    expect(incidents).toHaveLength(1);
    expect(errors).toEqual([
      'line 2: not a JSON object',
      expect.stringMatching(/^line 3: title: must not be empty/),
      expect.stringMatching(/^line 4: id: must look like "inc-"/),
      expect.stringMatching(/^line 5: timeline\[0\]\.at: must be a valid datetime/),
    ]);
  });

  it('reads back every kind of timeline entry the tools write', () => {
    let x: Incident = inc;
    const steps = [
      { labels: { team: 'platform' }, remove_labels: ['none'], workflow_id: 'wf-1', severity: 'low' as const, note: 'looking' },
      { remove_labels: ['team'], workflow_id: null },
      { status: 'resolved' as const, note: 'fixed' },
    ];
    for (const [i, patch] of steps.entries()) x = applyUpdate(x, patch, 'claude-code', new Date(Date.parse(inc.created_at) + (i + 1) * 1000), () => undefined).incident;
    const reopened = { ...applyUpdate(x, { status: 'active' }, 'c', new Date(Date.parse(x.updated_at)), () => undefined).incident, id: 'inc-00000000000000b2' };
    const { incidents, errors } = parseImport(exportLine(x) + exportLine(reopened));
    expect(errors).toEqual([]);
    expect(incidents).toEqual([x, reopened]);
    expect(x.timeline.map((e) => e.event)).toEqual(['created', 'severity', 'labels', 'workflow', 'note', 'labels', 'workflow', 'status', 'note']);
  });

  it('holds timeline entries to the rules the tools apply, so both stores take what it accepts', () => {
    const entry = (over: Record<string, unknown>) => ({ at: inc.created_at, by: 'c', event: 'note', note: 'n', ...over });
    const bad: [Record<string, unknown>, RegExp][] = [
      [entry({ note: 'a\u0000b' }), /timeline\[1\]\.note: must not contain NUL/],
      [entry({ note: 'x'.repeat(2001) }), /timeline\[1\]\.note: must be at most 2000 characters, got 2001 characters/],
      [entry({ by: 'x'.repeat(101) }), /timeline\[1\]\.by: must be at most 100 characters/],
      [entry({ by: '' }), /timeline\[1\]\.by: must not be empty/],
      [entry({ by: 'a\u0000' }), /timeline\[1\]\.by: must not contain NUL/],
      [entry({ event: 'labels', note: undefined, labels_set: { team: 'a\u0000' } }), /timeline\[1\]\.labels_set\.team: must not contain NUL/],
      [entry({ event: 'labels', note: undefined, labels_removed: ['bad key'] }), /timeline\[1\]\.labels_removed\[0\]: label keys are/],
      [entry({ event: 'status', note: undefined, from: 'active', to: 'x'.repeat(51) }), /timeline\[1\]\.to: must be at most 50 characters/],
      [entry({ color: 'red' }), /timeline\[1\]\.color: unknown field/],
    ];
    for (const [e, rule] of bad) {
      const { incidents, errors } = parseImport(JSON.stringify({ ...inc, timeline: [...inc.timeline, e] }));
      expect(incidents, JSON.stringify(e).slice(0, 80)).toEqual([]);
      expect(errors, JSON.stringify(e).slice(0, 80)).toEqual([expect.stringMatching(rule)]);
    }
  });

  it('takes timelines up to the 255 entries a store can hold (250 from earlier versions plus a final close), no more', () => {
    const notes = (n: number) => Array.from({ length: n }, (_, i) => ({ at: inc.created_at, by: 'c', event: 'note' as const, note: `n${i}` }));
    const ok = { ...inc, timeline: [...inc.timeline, ...notes(254)] };
    expect(parseImport(exportLine(ok))).toEqual({ incidents: [ok], errors: [] });
    const over = { ...inc, timeline: [...inc.timeline, ...notes(255)] };
    expect(parseImport(exportLine(over)).errors).toEqual(['line 1: timeline: must have at most 255 items, got 256 items']);
  });

  it('refuses evidence data nested past 32 levels with the line and the field, as create_incident does', () => {
    // deeper than JSON.stringify can go, as a file edited by hand could be
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const evidence = `[{"kind":"other","summary":"s","data":{"x":[1]}},{"kind":"other","summary":"s","data":{"x":${deep}}}]`;
    const line = JSON.stringify({ ...inc, evidence: [] }).replace('"evidence":[]', `"evidence":${evidence}`);
    expect(parseImport(line).errors).toEqual(['line 1: evidence[1].data: must nest at most 32 levels']);
  });

  it('refuses a resolved_at that does not go with the status: only resolved incidents have one', () => {
    const at = inc.created_at;
    const lines = [
      JSON.stringify({ ...inc, resolved_at: at }),
      JSON.stringify({ ...inc, id: 'inc-00000000000000c2', status: 'cancelled', resolved_at: at }),
      JSON.stringify({ ...inc, id: 'inc-00000000000000c3', status: 'resolved' }),
      JSON.stringify({ ...inc, id: 'inc-00000000000000c4', status: 'resolved', resolved_at: at }),
      JSON.stringify({ ...inc, id: 'inc-00000000000000c5', status: 'cancelled' }),
    ];
    const { incidents, errors } = parseImport(lines.join('\n'));
    expect(incidents.map((i) => i.id)).toEqual(['inc-00000000000000c4', 'inc-00000000000000c5']);
    expect(errors).toEqual([
      `line 1: resolved_at: must be null when status is "active" (only resolved incidents have one), got "${at}"`,
      `line 2: resolved_at: must be null when status is "cancelled" (only resolved incidents have one), got "${at}"`,
      'line 3: resolved_at: must be set when status is "resolved"',
    ]);
  });
});
