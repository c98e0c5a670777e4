// Changes to an existing incident: validated status transitions, severity, labels, workflow
// link and notes. Pure, so both stores apply exactly the same rules inside their own
// transaction, and every change becomes a timeline entry saying who made it.
import { z } from 'zod';
import { ConflictError, InputError } from '../errors.js';
import { LIMITS, LabelKey, LabelsInput, Severity, Status, clearableText, text, type Incident, type TimelineEntry } from './model.js';

export const IncidentUpdate = z.strictObject({
  status: Status.optional().describe('"resolved", "cancelled", or "active" to reopen'),
  severity: Severity.optional(),
  labels: LabelsInput.optional().describe('added or changed, "name=value" items'),
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
  const closes = cur.status === 'active' && next.status !== 'active';
  checkRoom(cur, changes, closes);
  next.timeline = [...cur.timeline, ...changes];
  next.updated_at = at;
  return { incident: next, changes };
}

/**
 * Nothing is ever dropped from a timeline, so once it holds LIMITS.timeline entries an
 * incident takes no more changes, except the one that closes it: an active incident must
 * always be resolvable (by Alertmanager too). A closed one that is full cannot be reopened,
 * so that exception applies once and the record stays bounded (LIMITS.timelineMax).
 */
function checkRoom(cur: Incident, changes: TimelineEntry[], closes: boolean): void {
  const has = cur.timeline.length;
  if (closes || has + changes.length <= LIMITS.timeline) return;
  const followUp = `open a follow-up incident (create_incident) that names ${cur.id}`;
  const full =
    has >= LIMITS.timeline
      ? `it has ${has} timeline entries, the most one incident keeps (${LIMITS.timeline})`
      : `it has ${has} timeline entries and this update would add ${changes.length}, past the most one incident keeps (${LIMITS.timeline})`;
  if (changes.some((c) => c.event === 'status')) {
    throw new ConflictError(`cannot reopen ${cur.id}: ${full}; nothing was changed. Instead, ${followUp}`);
  }
  const close = cur.status === 'active' ? `; ${cur.id} itself can still be resolved or cancelled` : '';
  throw new ConflictError(`${cur.id} takes no more notes or changes: ${full}; nothing was changed. For further notes, ${followUp}${close}`);
}

export function notFoundMessage(id: string): string {
  return `incident ${id} does not exist (closed incidents are removed after INCIDENT_RETENTION_DAYS); list_incidents with status "all" shows what is stored`;
}
