// Text renderings of one incident and of an update, for get_incident, update_incident and the
// incident:// resources. The structured result carries everything; the text carries the key data.
import type { UpdateResult } from './lifecycle.js';
import { incidentLine } from './listing.js';
import { LIMITS, summarize, type Incident, type TimelineEntry } from './model.js';

/** Timeline entries shown in text; structuredContent has up to timeline_limit of them. */
export const TEXT_TIMELINE = 20;
/** Timeline entries get_incident returns unless asked for more (up to LIMITS.timelineMax, which is all of them). */
export const DEFAULT_TIMELINE_LIMIT = 50;

/** The incident with only its `limit` newest timeline entries, and how many older ones were left out. */
export function newestTimeline(inc: Incident, limit: number): { incident: Incident; omitted: number } {
  const omitted = Math.max(0, inc.timeline.length - limit);
  return omitted === 0 ? { incident: inc, omitted } : { incident: { ...inc, timeline: inc.timeline.slice(omitted) }, omitted };
}

export function describeChange(e: TimelineEntry): string {
  switch (e.event) {
    case 'created':
      return 'created';
    case 'status':
    case 'severity':
      return `${e.event} ${e.from} -> ${e.to}${e.note ? ` (${e.note})` : ''}`;
    case 'workflow':
      return e.to === null ? `workflow ${e.from} unlinked` : `workflow ${e.to} linked`;
    case 'labels': {
      const set = Object.entries(e.labels_set ?? {}).map(([k, v]) => `${k}=${v}`);
      const removed = (e.labels_removed ?? []).map((k) => `-${k}`);
      return `labels ${[...set, ...removed].join(', ')}`;
    }
    case 'note':
      return `note: ${e.note}`;
  }
}

export function timelineLine(e: TimelineEntry): string {
  return `${e.at.slice(0, 19)}Z ${e.by}: ${describeChange(e)}`;
}

/** `inc` as get_incident returns it: its timeline already cut to the newest entries, `omitted` older ones left out. */
export function renderIncident(inc: Incident, omitted = 0): string {
  const lines = [incidentLine(summarize(inc)), inc.description];
  const facts = [
    inc.namespace && `namespace ${inc.namespace}`,
    inc.affected_resources.length > 0 && `affects ${inc.affected_resources.join(', ')}`,
    Object.keys(inc.labels).length > 0 && `labels ${Object.entries(inc.labels).map(([k, v]) => `${k}=${v}`).join(', ')}`,
    inc.workflow_id && `workflow ${inc.workflow_id}`,
    inc.dedup_key && `dedup_key ${inc.dedup_key}`,
    inc.resolved_at && `resolved ${inc.resolved_at}`,
  ].filter(Boolean);
  if (facts.length > 0) lines.push(facts.join('; '));
  if (inc.evidence.length > 0) {
    lines.push(`Evidence (${inc.evidence.length}):`, ...inc.evidence.map((e) => `- ${e.kind}: ${e.summary}${e.query ? ` [${e.query}]` : ''}`));
  }
  const shown = inc.timeline.slice(-TEXT_TIMELINE);
  const total = inc.timeline.length + omitted;
  const parts = [String(total)];
  if (omitted > 0) parts.push(`${omitted} older left out of the result (raise timeline_limit, at most ${LIMITS.timelineMax}, for more)`);
  if (shown.length < total) parts.push(`last ${shown.length} shown`);
  lines.push(`Timeline (${parts.join('; ')}):`, ...shown.map(timelineLine));
  return lines.join('\n');
}

export function renderUpdate(r: UpdateResult): string {
  const inc = r.incident;
  if (r.changes.length === 0) return `Nothing changed; ${incidentLine(summarize(inc))}`;
  return [`Updated ${inc.id}: ${r.changes.map(describeChange).join('; ')}`, incidentLine(summarize(inc))].join('\n');
}
