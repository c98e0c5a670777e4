// Changes to an existing incident: validated status transitions, severity, labels, workflow
// link and notes. Pure, so both stores apply exactly the same rules inside their own
// transaction, and every change becomes a timeline entry saying who made it.
import { z } from 'zod';
import { ConflictError, InputError } from '../errors.js';
import { LIMITS, LabelKey, Labels, Severity, Status, clearableText, text, type Incident, type TimelineEntry } from './model.js';

export const IncidentUpdate = z.strictObject({
  status: Status.optional().describe('"resolved", "cancelled", or "active" to reopen'),
  severity: Severity.optional(),
  labels: Labels.optional().describe('added or changed'),
  remove_labels: z.array(LabelKey).max(LIMITS.labels).optional(),
  // "" rather than null unlinks: nullable types are anyOf, which some tool-calling dialects lack
  workflow_id: clearableText(LIMITS.workflowId).optional().describe('"" unlinks'),
  note: text(LIMITS.note).optional(),
});
export type IncidentUpdate = z.infer<typeof IncidentUpdate>;

export interface UpdateResult {
  incident: Incident;
  /** the timeline entries this update added; empty when it changed nothing */
  changes: TimelineEntry[];
}

/** Finds the active incident holding a dedup key, if any. */
export type DedupLookup = (key: string) => string | undefined;

function checkTransition(cur: Incident, to: Incident['status'], activeWithKey: DedupLookup): void {
  if (cur.status !== 'active' && to !== 'active') {
    throw new ConflictError(`${cur.id} is ${cur.status}; reopen it (status "active") before marking it ${to}`);
  }
  if (to === 'active' && cur.dedup_key !== null) {
    const other = activeWithKey(cur.dedup_key);
    if (other !== undefined && other !== cur.id) {
      throw new ConflictError(
        `cannot reopen ${cur.id}: ${other} is active with the same dedup_key ${JSON.stringify(cur.dedup_key)}; update that one instead`,
      );
    }
  }
}

/**
 * Applies an update to `cur` and returns the new incident and the timeline entries added.
 * Setting a field to the value it has is not a change, so a retried call records nothing twice
 * (except a note, which is always added).
 */
export function applyUpdate(cur: Incident, patch: IncidentUpdate, by: string, now: Date, activeWithKey: DedupLookup): UpdateResult {
  const given = Object.values(patch).some((v) => v !== undefined);
  if (!given) throw new InputError('(arguments)', 'give at least one of status, severity, labels, remove_labels, workflow_id, note');
  for (const k of patch.remove_labels ?? []) {
    if (patch.labels?.[k] !== undefined) throw new InputError('remove_labels', `must not name ${JSON.stringify(k)}, which labels sets`);
  }
  const at = new Date(Math.max(now.getTime(), Date.parse(cur.updated_at))).toISOString();
  const changes: TimelineEntry[] = [];
  const next: Incident = { ...cur };

  if (patch.status !== undefined && patch.status !== cur.status) {
    checkTransition(cur, patch.status, activeWithKey);
    next.status = patch.status;
    next.resolved_at = patch.status === 'resolved' ? at : null;
    changes.push({ at, by, event: 'status', from: cur.status, to: patch.status });
  }
  if (patch.severity !== undefined && patch.severity !== cur.severity) {
    next.severity = patch.severity;
    changes.push({ at, by, event: 'severity', from: cur.severity, to: patch.severity });
  }
  if (patch.labels !== undefined || patch.remove_labels !== undefined) {
    const labels = { ...cur.labels };
    const set: Record<string, string> = {};
    const removed: string[] = [];
    for (const [k, v] of Object.entries(patch.labels ?? {})) {
      if (labels[k] !== v) set[k] = labels[k] = v;
    }
    for (const k of patch.remove_labels ?? []) {
      if (Object.hasOwn(labels, k)) {
        delete labels[k];
        removed.push(k);
      }
    }
    if (Object.keys(labels).length > LIMITS.labels) {
      throw new InputError('labels', `the incident would have ${Object.keys(labels).length} labels; at most ${LIMITS.labels}`);
    }
    if (Object.keys(set).length > 0 || removed.length > 0) {
      next.labels = labels;
      const entry: TimelineEntry = { at, by, event: 'labels' };
      if (Object.keys(set).length > 0) entry.labels_set = set;
      if (removed.length > 0) entry.labels_removed = removed;
      changes.push(entry);
    }
  }
  if (patch.workflow_id !== undefined && patch.workflow_id !== cur.workflow_id) {
    next.workflow_id = patch.workflow_id;
    changes.push({ at, by, event: 'workflow', from: cur.workflow_id, to: patch.workflow_id });
  }
  if (patch.note !== undefined) changes.push({ at, by, event: 'note', note: patch.note });

  if (changes.length === 0) return { incident: cur, changes };
  next.timeline = extendTimeline(cur, changes);
  next.updated_at = at;
  return { incident: next, changes };
}

/**
 * The timeline with `changes` added. Without a status change it holds at most
 * LIMITS.timeline entries. A status change always goes in, with what came with it: up to
 * LIMITS.timelineMax entries, then the oldest notes and other changes (else the oldest
 * status changes; never "created") are dropped, and its entry's note says how many.
 */
function extendTimeline(cur: Incident, changes: TimelineEntry[]): TimelineEntry[] {
  const status = changes.find((c) => c.event === 'status');
  const over = cur.timeline.length + changes.length - (status ? LIMITS.timelineMax : LIMITS.timeline);
  if (over <= 0) return [...cur.timeline, ...changes];
  if (!status) {
    throw new ConflictError(
      `${cur.id} already has ${cur.timeline.length} timeline entries, the most one incident keeps for notes and other changes ` +
        `(${LIMITS.timeline}); status changes are still recorded, so it can be resolved or cancelled. ` +
        'Record further notes in a new incident that names this one',
    );
  }
  status.note = `${over} oldest timeline ${over === 1 ? 'entry was' : 'entries were'} dropped to keep at most ${LIMITS.timelineMax}`;
  const rank = (e: TimelineEntry) => (e.event === 'created' ? 2 : e.event === 'status' ? 1 : 0);
  const drop = new Set<number>();
  for (const r of [0, 1]) {
    for (let i = 0; i < cur.timeline.length && drop.size < over; i++) if (rank(cur.timeline[i]!) === r) drop.add(i);
  }
  return [...cur.timeline.filter((_, i) => !drop.has(i)), ...changes];
}

export function notFoundMessage(id: string): string {
  return `incident ${id} does not exist (closed incidents are removed after INCIDENT_RETENTION_DAYS); list_incidents with status "all" shows what is stored`;
}
