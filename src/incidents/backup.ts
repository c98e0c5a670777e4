// Export and import of incidents as JSON lines (one incident per line, oldest first), for
// backups and moving between stores. Import validates every line before anything is written.
import { z } from 'zod';
import { describeIssue } from '../zod-issues.js';
import {
  AffectedResources,
  Evidence,
  Incident,
  LIMITS,
  LabelKey,
  Labels,
  Namespace,
  TimelineEntry,
  text,
} from './model.js';

/** How far ahead of this machine's clock an imported time may be (clock skew between hosts). */
export const FUTURE_SLACK_MS = 5 * 60_000;

/**
 * RFC 3339 in, the stores' own form out (UTC, milliseconds), so ordering and cursors agree.
 * Not in the future: creation times only grow, so one far-future incident would push every
 * later one after it.
 */
const Instant = Incident.shape.created_at
  .refine((s) => Date.parse(s) <= Date.now() + FUTURE_SLACK_MS, { error: 'is in the future (more than 5 minutes ahead of this server\'s clock)' })
  .transform((s) => new Date(s).toISOString());

/**
 * A timeline entry with the rules of what create and update_incident put into one: NUL-free
 * text (PostgreSQL refuses NUL), the note and label limits, and no fields this server does not
 * know (they would be dropped silently).
 */
const ImportedTimelineEntry = z.strictObject({
  ...TimelineEntry.shape,
  at: Instant,
  by: text(LIMITS.by),
  // a status, a severity or a workflow id
  from: text(LIMITS.workflowId).nullable().optional(),
  to: text(LIMITS.workflowId).nullable().optional(),
  labels_set: Labels.optional(),
  labels_removed: z.array(LabelKey).max(LIMITS.labels).optional(),
  note: text(LIMITS.note).optional(),
});

/** One exported line: the incident model with the limits create_incident enforces. */
export const ImportedIncident = z.strictObject({
  ...Incident.shape,
  title: text(LIMITS.title),
  description: text(LIMITS.description),
  target: text(LIMITS.target),
  namespace: Namespace.nullable(),
  affected_resources: AffectedResources,
  labels: Labels,
  created_at: Instant,
  updated_at: Instant,
  resolved_at: Instant.nullable(),
  workflow_id: text(LIMITS.workflowId).nullable(),
  // absent in exports of the first version
  dedup_key: text(LIMITS.dedupKey).nullable().default(null),
  evidence: Evidence.default([]),
  timeline: z.array(ImportedTimelineEntry).max(LIMITS.timelineMax).default([]),
}).check((ctx) => {
  // as update_incident leaves them: only a resolved incident has a resolved_at
  const { status, resolved_at } = ctx.value;
  if ((status === 'resolved') === (resolved_at !== null)) return;
  ctx.issues.push({
    code: 'custom',
    path: ['resolved_at'],
    message: status === 'resolved' ? 'must be set when status is "resolved"' : `must be null when status is "${status}" (only resolved incidents have one)`,
    input: resolved_at ?? undefined,
  });
});

export interface ParsedImport {
  incidents: Incident[];
  /** "line N: problem", in line order */
  errors: string[];
}

/** Parses and validates JSON lines; blank lines are ignored. */
export function parseImport(content: string): ParsedImport {
  const incidents: Incident[] = [];
  const errors: string[] = [];
  const seen = new Map<string, number>();
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const n = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      errors.push(`line ${n}: not JSON (${(err as Error).message})`);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      errors.push(`line ${n}: not a JSON object`);
      continue;
    }
    const parsed = ImportedIncident.safeParse(value, { reportInput: true });
    if (!parsed.success) {
      errors.push(`line ${n}: ${parsed.error.issues.slice(0, 3).map(describeIssue).join('; ')}`);
      continue;
    }
    const first = seen.get(parsed.data.id);
    if (first !== undefined) {
      errors.push(`line ${n}: id ${parsed.data.id} already appears on line ${first}`);
      continue;
    }
    seen.set(parsed.data.id, n);
    incidents.push(parsed.data);
  }
  return { incidents, errors };
}

export function exportLine(inc: Incident): string {
  return `${JSON.stringify(inc)}\n`;
}
