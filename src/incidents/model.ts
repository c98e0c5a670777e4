// The incident model (ADR-014): zod schemas are the one source for validation, the
// TypeScript types and the JSON Schema that MCP clients see.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

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
} as const;

/** Kubernetes namespace names: DNS-1123 labels. */
export const NAMESPACE_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY_RE = /^[A-Za-z0-9]([A-Za-z0-9_./-]*[A-Za-z0-9])?$/;
const ID_RE = /^inc-[0-9a-f]{8,32}$/;

/** Text fields are trimmed; blank text counts as missing. */
const text = (max: number) => z.string().trim().min(1).max(max);

export const IncidentId = z.string().regex(ID_RE, { error: 'must look like "inc-" followed by hex digits' });
export const Namespace = z
  .string()
  .max(63)
  .regex(NAMESPACE_RE, { error: 'must be a Kubernetes namespace name (lowercase letters, digits and "-", 1-63 chars)' });
export const Labels = z
  .record(
    z.string().max(LIMITS.labelKey).regex(LABEL_KEY_RE, {
      error: `label keys are letters, digits, "_", ".", "-", "/" (1-${LIMITS.labelKey} chars, alphanumeric at both ends)`,
    }),
    z.string().max(LIMITS.labelValue),
  )
  .refine((l) => Object.keys(l).length <= LIMITS.labels, { error: `at most ${LIMITS.labels} labels` });
export const AffectedResources = z.array(text(LIMITS.resourceName)).max(LIMITS.affectedResources);
export const Timestamp = z.iso.datetime({ offset: true });

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
});
export type Incident = z.infer<typeof Incident>;

/** What a caller supplies to create an incident. */
export const NewIncident = z.strictObject({
  title: text(LIMITS.title),
  description: text(LIMITS.description).describe('what was observed, impact'),
  severity: Severity,
  target: text(LIMITS.target).describe('namespace or resource'),
  namespace: Namespace.optional().describe('default: target, if it is a namespace name'),
  affected_resources: AffectedResources.optional().describe('e.g. ["deployment/api"]'),
  labels: Labels.optional(),
  workflow_id: text(LIMITS.workflowId).optional(),
});
export type NewIncident = z.infer<typeof NewIncident>;

export function newIncidentId(): string {
  return `inc-${randomBytes(8).toString('hex')}`;
}

/** Builds a stored incident from validated input. */
export function buildIncident(input: NewIncident, id: string, now: Date): Incident {
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
  };
}
