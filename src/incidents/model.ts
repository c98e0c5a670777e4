// The incident model (ADR-014): zod schemas are the one source for validation, the
// TypeScript types and the JSON Schema that MCP clients see.
import { z } from 'zod';
import { nodeCrypto } from '../builtins.js';
import { jsonObjectOrText, nameValueList, nullsAsAbsent } from '../schemas.js';

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export const STATUSES = ['active', 'resolved', 'cancelled'] as const;

export const Severity = z.enum(SEVERITIES);
export const Status = z.enum(STATUSES);
export type Severity = z.infer<typeof Severity>;
export type Status = z.infer<typeof Status>;

export const LIMITS = {
  title: 200,
  description: 2000,
  target: 100,
  affectedResources: 50,
  resourceName: 253,
  labels: 32,
  labelKey: 63,
  labelValue: 256,
  workflowId: 50,
  dedupKey: 200,
  note: 2000,
  /** who made a change: the MCP client's name, which the dispatcher cuts to this */
  by: 100,
  /**
   * Timeline entries per incident: past this, updates are refused (its whole history stays one
   * bounded record, and nothing is ever dropped), except the final resolve or cancel of an
   * active incident, which always lands.
   */
  timeline: 200,
  /**
   * The most entries a stored incident holds: earlier versions let status changes take a
   * timeline to 250, and a final close adds at most 5 (status, severity, labels, workflow, note).
   */
  timelineMax: 255,
  /** all evidence of one incident, as JSON */
  evidenceBytes: 32 * 1024,
  /** how deep an evidence item's data may nest (the data object is level 1): deeper input would exhaust the stack of whatever walks it */
  evidenceDepth: 32,
} as const;

/** Kubernetes namespace names: DNS-1123 labels. */
export const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1123 subdomains (at most 253 characters): what pod and deployment names must be. */
export const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const LABEL_KEY_RE = /^[A-Za-z0-9]([A-Za-z0-9_./-]*[A-Za-z0-9])?$/;
const ID_RE = /^inc-[0-9a-f]{8,32}$/;

// PostgreSQL cannot store NUL characters in text or jsonb, so no store accepts them.
export const NO_NUL = { error: 'must not contain NUL characters (\\u0000)' };
export const noNul = (s: string) => !s.includes('\u0000');
// Nor lone UTF-16 surrogates ("\ud800"): jsonb refuses them and text columns would turn them into U+FFFD,
// while the file store would keep them; refused everywhere, so both stores hold the same.
const WELL_FORMED = { error: 'must be valid Unicode (no lone surrogates)' };
const wellFormed = (s: string) => s.isWellFormed();
/** `s` cut to at most `max` UTF-16 units, never between the halves of a surrogate pair. */
export function cutUnits(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
/** `s` within `max` UTF-16 units, ending in … when it was cut (never between a surrogate pair). */
export const cutText = (s: string, max: number): string => (s.length > max ? `${cutUnits(s, max - 1)}…` : s);
/** `s` (by default any string) refused unless either store can hold it: no NUL, no lone surrogate. */
export const storable = (s: z.ZodString = z.string()) => s.refine(noNul, NO_NUL).refine(wellFormed, WELL_FORMED);
/**
 * Walks a JSON value without recursion, so no input can exhaust the stack: whether it nests
 * deeper than `maxDepth` (the value itself is level 1; the walk stops there), and whether any
 * string or key holds a NUL or is not well-formed Unicode.
 */
function scanJson(v: unknown, maxDepth: number): { tooDeep: boolean; nul: boolean; illFormed: boolean } {
  let nul = false;
  let illFormed = false;
  const str = (s: string) => {
    nul ||= !noNul(s);
    illFormed ||= !wellFormed(s);
  };
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (typeof x === 'string') {
      str(x);
      continue;
    }
    if (typeof x !== 'object' || x === null) continue;
    if (depth > maxDepth) return { tooDeep: true, nul, illFormed };
    if (Array.isArray(x)) {
      for (const item of x) stack.push([item, depth + 1]);
      continue;
    }
    for (const [k, item] of Object.entries(x)) {
      str(k);
      stack.push([item, depth + 1]);
    }
  }
  return { tooDeep: false, nul, illFormed };
}

/** Text fields are trimmed; blank text counts as missing. */
export const text = (max: number) => storable(z.string().trim().min(1).max(max));
/** Text where "" means "none" (null): how an update clears a field without a nullable type. */
export const clearableText = (max: number) => storable(z.string().trim().max(max)).transform((s) => (s === '' ? null : s));

export const IncidentId = z.string().regex(ID_RE, { error: 'must look like "inc-" followed by hex digits' });
// A refine rather than .regex: the rule stays out of tools/list (agents know namespace names)
// and the error message states it.
export const Namespace = z
  .string()
  .max(63)
  .refine((s) => NAMESPACE_RE.test(s), { error: 'must be a Kubernetes namespace name (lowercase letters, digits and "-", 1-63 chars)' });
/** A pod's or a deployment's name (`kind` names which in the rule). */
export const objectName = (kind: string) =>
  z
    .string()
    .max(253)
    .refine((s) => s.length <= 253 && SUBDOMAIN_RE.test(s), {
      error: `must be a Kubernetes ${kind} name (lowercase letters, digits, "-" and ".", at most 253 characters)`,
    });
export const LabelKey = z.string().max(LIMITS.labelKey).regex(LABEL_KEY_RE, {
  error: `label keys are letters, digits, "_", ".", "-", "/" (1-${LIMITS.labelKey} chars, alphanumeric at both ends)`,
});
export const Labels = z
  .record(LabelKey, storable().max(LIMITS.labelValue))
  .refine((l) => Object.keys(l).length <= LIMITS.labels, { error: `at most ${LIMITS.labels} labels` });
/** Labels as tools take them: "name=value" strings, or the map itself. */
export const LabelsInput = nameValueList(Labels, LIMITS.labels);
export const AffectedResources = z.array(text(LIMITS.resourceName)).max(LIMITS.affectedResources);
export const Timestamp = z.iso.datetime({ offset: true });

export const EVIDENCE_KINDS = ['promql', 'features', 'anomaly', 'other'] as const;

/** Any JSON object, as stored (tools also take its text: EvidenceInput). */
const JsonObject = z
  .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), { error: 'must be a JSON object' })
  .meta({ type: 'object' });

/** One piece of what justified an incident: a query, a feature vector, a detector's result. */
export const EvidenceItem = z.strictObject({
  kind: z.enum(EVIDENCE_KINDS),
  // Sizes are bounded by the evidence's total (LIMITS.evidenceBytes) rather than per field.
  summary: storable(z.string().trim().min(1)),
  query: storable(z.string().trim().min(1)).optional(),
  data: JsonObject.optional(),
});
export type EvidenceItem = z.infer<typeof EvidenceItem>;
/** An evidence item as callers send it: data may also be its JSON text, and null means not given. */
const EvidenceInput = nullsAsAbsent(EvidenceItem.extend({ data: jsonObjectOrText.optional().describe('JSON object, as text') }));

export const Evidence = z
  .array(EvidenceInput)
  .check((ctx) => {
    // Depth first: the size below is measured by JSON.stringify, which recurses.
    let tooDeep = false;
    let nul = false;
    let illFormed = false;
    ctx.value.forEach((item, i) => {
      const scan = scanJson(item, LIMITS.evidenceDepth + 1);
      nul ||= scan.nul;
      illFormed ||= scan.illFormed;
      if (!scan.tooDeep) return;
      tooDeep = true;
      // only data may nest; anything else this deep already failed its own type
      if (typeof item?.data === 'object' && scanJson(item.data, LIMITS.evidenceDepth).tooDeep) {
        ctx.issues.push({ code: 'custom', path: [i, 'data'], message: `must nest at most ${LIMITS.evidenceDepth} levels`, input: undefined });
      }
    });
    if (tooDeep) return;
    if (nul) ctx.issues.push({ code: 'custom', message: NO_NUL.error, input: undefined });
    if (illFormed) ctx.issues.push({ code: 'custom', message: WELL_FORMED.error, input: undefined });
    const bytes = Buffer.byteLength(JSON.stringify(ctx.value));
    if (bytes > LIMITS.evidenceBytes) {
      ctx.issues.push({
        code: 'custom',
        message: `must be at most ${LIMITS.evidenceBytes} bytes as JSON, got ${bytes} bytes; keep summaries and trim raw data`,
        input: undefined,
      });
    }
  });

export const TIMELINE_EVENTS = ['created', 'status', 'severity', 'labels', 'workflow', 'note'] as const;

/** One change in an incident's history: when, by whom (the MCP client's name), what. */
export const TimelineEntry = z.object({
  at: Timestamp,
  by: z.string(),
  event: z.enum(TIMELINE_EVENTS),
  from: z.string().nullable().optional(),
  to: z.string().nullable().optional(),
  labels_set: z.record(z.string(), z.string()).optional(),
  labels_removed: z.array(z.string()).optional(),
  note: z.string().optional(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

export const Incident = z.object({
  id: IncidentId,
  title: z.string(),
  description: z.string(),
  severity: Severity,
  status: Status,
  target: z.string().describe('Namespace or resource the incident is about'),
  namespace: z.string().nullable().describe('Kubernetes namespace, when known'),
  affected_resources: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
  created_at: Timestamp,
  updated_at: Timestamp,
  resolved_at: Timestamp.nullable(),
  workflow_id: z.string().nullable(),
  dedup_key: z.string().nullable(),
  evidence: z.array(EvidenceItem),
  timeline: z.array(TimelineEntry),
});
export type Incident = z.infer<typeof Incident>;

/** An incident without its timeline and evidence bodies, for listings. */
export const IncidentSummary = Incident.omit({ timeline: true, evidence: true }).extend({
  timeline_count: z.number().int(),
  evidence_count: z.number().int(),
});
export type IncidentSummary = z.infer<typeof IncidentSummary>;

export function summarize(inc: Incident): IncidentSummary {
  const { timeline, evidence, ...rest } = inc;
  return { ...rest, timeline_count: timeline.length, evidence_count: evidence.length };
}

/** What a caller supplies to create an incident. */
export const NewIncident = z.strictObject({
  title: text(LIMITS.title),
  description: text(LIMITS.description),
  severity: Severity,
  target: text(LIMITS.target).describe('namespace or resource'),
  namespace: Namespace.optional(),
  affected_resources: AffectedResources.optional().describe('e.g. ["deployment/api"]'),
  labels: LabelsInput.optional().describe('"name=value" items, e.g. ["team=payments"]'),
  workflow_id: text(LIMITS.workflowId).optional(),
  dedup_key: text(LIMITS.dedupKey).optional(),
  evidence: Evidence.optional().describe(`max ${LIMITS.evidenceBytes / 1024} KB`),
});
export type NewIncident = z.infer<typeof NewIncident>;

export function newIncidentId(): string {
  return `inc-${nodeCrypto().randomBytes(8).toString('hex')}`;
}

/** Builds a stored incident from validated input; `by` is who created it. */
export function buildIncident(input: NewIncident, id: string, now: Date, by: string): Incident {
  const ts = now.toISOString();
  return {
    id,
    title: input.title,
    description: input.description,
    severity: input.severity,
    status: 'active',
    target: input.target,
    namespace: input.namespace ?? (NAMESPACE_RE.test(input.target) ? input.target : null),
    affected_resources: input.affected_resources ?? [],
    labels: input.labels ?? {},
    created_at: ts,
    updated_at: ts,
    resolved_at: null,
    workflow_id: input.workflow_id ?? null,
    dedup_key: input.dedup_key ?? null,
    evidence: input.evidence ?? [],
    timeline: [{ at: ts, by, event: 'created' }],
  };
}

/** Fills fields that incidents stored by older versions lack. */
export function upgradeStored(inc: Incident): Incident {
  if (inc.timeline !== undefined) return inc;
  return { ...inc, dedup_key: inc.dedup_key ?? null, evidence: inc.evidence ?? [], timeline: [] };
}
