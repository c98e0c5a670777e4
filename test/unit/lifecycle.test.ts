// The timeline limit's rules, on incidents built directly (the store contract covers storing them).
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors.js';
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
  it('refuses notes and other changes at 200 entries, changing nothing and naming the way out', () => {
    const full = withTimeline('active', Array.from({ length: 199 }, (_, i) => note(i)));
    expect(() => applyUpdate(full, { note: 'more' }, 'c', T0, none)).toThrow(ConflictError);
    expect(() => applyUpdate(full, { workflow_id: 'wf-1' }, 'c', T0, none)).toThrow(
      `inc-00000000000000aa takes no more notes or changes: it has 200 timeline entries, the most one incident keeps (200); nothing was changed. ` +
        'For further notes, open a follow-up incident (create_incident) that names inc-00000000000000aa; inc-00000000000000aa itself can still be resolved or cancelled',
    );
    // a status value it already has is no status change, so its note is refused too
    expect(() => applyUpdate(full, { status: 'active', note: 'still' }, 'c', T0, none)).toThrow(/200 timeline entries/);
    // an update that would cross the limit is refused whole
    const almost = withTimeline('active', Array.from({ length: 198 }, (_, i) => note(i)));
    expect(() => applyUpdate(almost, { severity: 'low', note: 'x' }, 'c', T0, none)).toThrow(/has 199 timeline entries and this update would add 2, past the most one incident keeps \(200\)/);
    expect(applyUpdate(almost, { note: 'last' }, 'c', T0, none).incident.timeline).toHaveLength(200);
  });

  it('always takes the final resolve or cancel of an active incident, with what came with it, dropping nothing', () => {
    const full = withTimeline('active', Array.from({ length: 199 }, (_, i) => note(i)));
    for (const status of ['resolved', 'cancelled'] as const) {
      const r = applyUpdate(full, { status, severity: 'low', labels: { a: 'b' }, workflow_id: 'wf-1', note: 'fixed' }, 'c', T0, none);
      expect(r.incident.status).toBe(status);
      expect(r.incident.timeline).toHaveLength(205);
      expect(r.incident.timeline.slice(0, 200)).toEqual(full.timeline);
      expect(r.changes.map((c) => c.event)).toEqual(['status', 'severity', 'labels', 'workflow', 'note']);
      expect(r.changes[0]).not.toHaveProperty('note');
    }
    // also one an earlier version let grow to 250 by status changes
    const old = withTimeline('active', Array.from({ length: 249 }, (_, i) => flip(i)));
    expect(applyUpdate(old, { status: 'resolved', note: 'done' }, 'c', T0, none).incident.timeline).toHaveLength(252);
  });

  it('refuses to reopen a full incident, and anything else once it is closed, so a timeline never passes 255', () => {
    const closed = applyUpdate(withTimeline('active', Array.from({ length: 199 }, (_, i) => note(i))), { status: 'resolved', note: 'fixed' }, 'c', T0, none).incident;
    expect(() => applyUpdate(closed, { status: 'active' }, 'c', T0, none)).toThrow(
      'cannot reopen inc-00000000000000aa: it has 202 timeline entries, the most one incident keeps (200); nothing was changed. ' +
        'Instead, open a follow-up incident (create_incident) that names inc-00000000000000aa',
    );
    expect(() => applyUpdate(closed, { note: 'post-mortem' }, 'c', T0, none)).toThrow(/takes no more notes or changes: it has 202 timeline entries.*names inc-00000000000000aa$/);
    // a reopen that would cross the limit is refused too: flipping the status cannot grow a timeline past it
    const nearly = withTimeline('resolved', Array.from({ length: 198 }, (_, i) => note(i)));
    expect(applyUpdate(nearly, { status: 'active' }, 'c', T0, none).incident.timeline).toHaveLength(200);
    expect(() => applyUpdate(nearly, { status: 'active', note: 'again' }, 'c', T0, none)).toThrow(/cannot reopen .*: it has 199 timeline entries and this update would add 2/);
  });
});
