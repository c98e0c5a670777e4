// The timeline limit's rules, on incidents built directly (the store contract covers storing them).
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors.js';
import { renderUpdate } from '../../src/incidents/detail.js';
import { applyUpdate } from '../../src/incidents/lifecycle.js';
import { buildIncident, type Incident, type TimelineEntry } from '../../src/incidents/model.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const none = () => undefined;

/** An incident whose timeline is "created" followed by `entries`. */
function withTimeline(status: Incident['status'], entries: TimelineEntry[]): Incident {
  const inc = buildIncident({ title: 't', description: 'd', severity: 'high', target: 'production' }, 'inc-00000000000000aa', T0, 'c');
  return { ...inc, status, resolved_at: status === 'resolved' ? inc.created_at : null, timeline: [...inc.timeline, ...entries] };
}
const note = (n: number): TimelineEntry => ({ at: T0.toISOString(), by: 'c', event: 'note', note: `n${n}` });
const flip = (n: number): TimelineEntry => ({ at: T0.toISOString(), by: 'c', event: 'status', from: 'x', to: `s${n}` });

describe('the timeline limit', () => {
  it('refuses notes and other changes at 200 entries, naming the way out', () => {
    const full = withTimeline('active', Array.from({ length: 199 }, (_, i) => note(i)));
    expect(() => applyUpdate(full, { note: 'more' }, 'c', T0, none)).toThrow(ConflictError);
    expect(() => applyUpdate(full, { workflow_id: 'wf-1' }, 'c', T0, none)).toThrow(/already has 200 timeline entries.*can be resolved or cancelled/);
    // a status value it already has is no status change, so its note is refused too
    expect(() => applyUpdate(full, { status: 'active', note: 'still' }, 'c', T0, none)).toThrow(/200 timeline entries/);
  });

  it('records a status change beyond 200, with what came with it, without dropping anything up to 250', () => {
    const full = withTimeline('active', Array.from({ length: 246 }, (_, i) => note(i)));
    const r = applyUpdate(full, { status: 'resolved', severity: 'low', note: 'fixed' }, 'c', T0, none);
    expect(r.incident.timeline).toHaveLength(250);
    expect(r.incident.timeline.slice(0, 247)).toEqual(full.timeline);
    expect(r.changes[0]).not.toHaveProperty('note');
  });

  it('drops the oldest notes and other changes first, then the oldest status changes, never "created"', () => {
    const mixed = withTimeline('active', [flip(0), note(0), ...Array.from({ length: 247 }, (_, i) => flip(i + 1))]);
    expect(mixed.timeline).toHaveLength(250);
    const r = applyUpdate(mixed, { status: 'cancelled', severity: 'low', note: 'gone' }, 'c', T0, none);
    expect(r.incident.timeline).toHaveLength(250);
    expect(r.incident.timeline.slice(0, 3).map((e) => e.to ?? e.event)).toEqual(['created', 's2', 's3']);
    expect(r.incident.timeline.some((e) => e.event === 'note' && e.note !== 'gone')).toBe(false);
    expect(r.changes[0]!.note).toBe('3 oldest timeline entries were dropped to keep at most 250');
    expect(renderUpdate(r)).toContain('status active -> cancelled (3 oldest timeline entries were dropped to keep at most 250)');
  });
});
