import { describe, expect, it } from 'vitest';
import { exportLine, parseImport } from '../../src/incidents/backup.js';
import { buildIncident } from '../../src/incidents/model.js';

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
});
