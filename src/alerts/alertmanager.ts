// Alertmanager's webhook (payload version 4) turned into incidents: one incident per alert,
// found again by its fingerprint, so a repeating notification updates the incident it opened
// and a resolved one resolves it. Alertmanager retries on 5xx, so every step is idempotent.
import { z } from 'zod';
import { LABEL_KEY_RE, NAMESPACE_RE, NewIncident, type Incident, type Severity } from '../incidents/model.js';
import type { IncidentStore } from '../incidents/store.js';

const Alert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).max(64),
});
export type Alert = z.infer<typeof Alert>;

/** Unknown fields are allowed: Alertmanager may add some in later versions. */
export const WebhookPayload = z.object({
  version: z.string(),
  status: z.string(),
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().optional(),
  externalURL: z.string().optional(),
  alerts: z.array(Alert).max(1000),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

export const FINGERPRINT_LABEL = 'alert_fingerprint';
const dedupKey = (fingerprint: string) => `alertmanager/${fingerprint}`;
const BY = 'alertmanager';

/** Kubernetes alert severities (kube-prometheus: critical, warning, info, none) onto ours. */
export function severityOf(label: string | undefined): Severity {
  switch ((label ?? '').toLowerCase()) {
    case 'critical':
    case 'page':
    case 'emergency':
      return 'critical';
    case 'error':
    case 'high':
    case 'major':
      return 'high';
    case 'info':
    case 'low':
    case 'none':
      return 'low';
    default:
      return 'medium';
  }
}

const RESOURCE_LABELS = ['pod', 'deployment', 'statefulset', 'daemonset', 'job_name', 'node', 'persistentvolumeclaim', 'service', 'horizontalpodautoscaler'];
const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const clean = (s: string) => s.replace(/\0/g, '');

/** The incident an alert opens. */
export function incidentFrom(alert: Alert, payload: WebhookPayload): NewIncident {
  const l = alert.labels;
  const a = alert.annotations;
  const name = l.alertname || 'alert';
  const summary = a.summary ?? a.message ?? '';
  const description = [
    a.description ?? a.message ?? summary ?? '',
    `Alert ${name} firing since ${alert.startsAt}.`,
    a.runbook_url ? `Runbook: ${a.runbook_url}` : '',
    alert.generatorURL ? `Source: ${alert.generatorURL}` : '',
  ]
    .filter(Boolean)
    .join('\n');
  // Our labels: where it came from first, then the alert's own, within the limit of 32.
  const labels: Record<string, string> = { source: 'alertmanager', [FINGERPRINT_LABEL]: alert.fingerprint, alertname: cut(clean(name), 256) };
  for (const [k, v] of Object.entries(l).sort(([x], [y]) => (x < y ? -1 : 1))) {
    if (Object.keys(labels).length >= 32) break;
    if (k in labels || !LABEL_KEY_RE.test(k) || k.length > 63) continue;
    labels[k] = cut(clean(v), 256);
  }
  const namespace = l.namespace && NAMESPACE_RE.test(l.namespace) ? l.namespace : undefined;
  // A target that is not a namespace names its kind, so no namespace is read into it.
  const where = l.namespace ?? (l.node ? `node/${l.node}` : l.instance ? `instance/${l.instance}` : l.job ? `job/${l.job}` : 'cluster/all');
  const target = cut(clean(where), 100) || 'cluster/all';
  const resources = RESOURCE_LABELS.filter((k) => l[k]).map((k) => cut(clean(`${k === 'job_name' ? 'job' : k}/${l[k]}`), 253));
  return NewIncident.parse({
    title: cut(clean(summary ? `${name}: ${summary}` : name), 200),
    description: cut(clean(description), 2000),
    severity: severityOf(l.severity),
    target,
    ...(namespace ? { namespace } : {}),
    affected_resources: resources,
    labels,
    dedup_key: dedupKey(alert.fingerprint),
    evidence: [
      {
        kind: 'other',
        summary: cut(clean(`Alertmanager notification (receiver ${payload.receiver ?? '?'})`), 200),
        // bounded and cleaned, so large or odd annotations never keep an alert from its incident
        data: {
          fingerprint: alert.fingerprint,
          startsAt: alert.startsAt,
          generatorURL: cut(clean(alert.generatorURL ?? ''), 2000),
          annotations: Object.fromEntries(
            Object.entries(a)
              .slice(0, 20)
              .map(([k, v]) => [cut(clean(k), 100), cut(clean(v), 1000)]),
          ),
          groupKey: cut(clean(payload.groupKey ?? ''), 500),
        },
      },
    ],
  });
}

export interface AlertOutcome {
  fingerprint: string;
  alertname: string;
  action: 'created' | 'updated' | 'unchanged' | 'resolved' | 'not_found' | 'invalid';
  incident: string | null;
  /** why an alert could not become an incident */
  error?: string;
}

/** The active incident this alert opened: found by its label, confirmed by its dedup key. */
async function activeFor(store: IncidentStore, fingerprint: string): Promise<Incident | null> {
  const page = await store.list({ status: 'active', labels: { [FINGERPRINT_LABEL]: fingerprint }, limit: 10 });
  for (const s of page.incidents) {
    if (s.dedup_key === dedupKey(fingerprint)) return store.get(s.id);
  }
  return null;
}

/** Applies one notification; alerts in order, each durable before the next. */
export async function applyNotification(store: IncidentStore, payload: WebhookPayload): Promise<AlertOutcome[]> {
  const out: AlertOutcome[] = [];
  for (const alert of payload.alerts) {
    const base = { fingerprint: alert.fingerprint, alertname: alert.labels.alertname || 'alert' };
    if (alert.status === 'firing') {
      let want: NewIncident;
      try {
        want = incidentFrom(alert, payload);
      } catch (err) {
        // permanent: retrying the notification would not help, so the others still count
        out.push({ ...base, action: 'invalid', incident: null, error: err instanceof z.ZodError ? z.prettifyError(err).replace(/\n/g, '; ') : String(err) });
        continue;
      }
      const { incident, deduplicated } = await store.create(want, BY);
      if (!deduplicated) {
        out.push({ ...base, action: 'created', incident: incident.id });
        continue;
      }
      // A repeat: bring the incident up to date with what the alert says now.
      if (incident.severity !== want.severity) {
        await store.update(incident.id, { severity: want.severity, note: `Alertmanager: severity is now ${alert.labels.severity ?? 'unset'}` }, BY);
        out.push({ ...base, action: 'updated', incident: incident.id });
      } else out.push({ ...base, action: 'unchanged', incident: incident.id });
      continue;
    }
    const open = await activeFor(store, alert.fingerprint);
    if (!open) {
      out.push({ ...base, action: 'not_found', incident: null });
      continue;
    }
    await store.update(open.id, { status: 'resolved', note: `Resolved by Alertmanager (alert ended ${alert.endsAt ?? 'now'})` }, BY);
    out.push({ ...base, action: 'resolved', incident: open.id });
  }
  return out;
}
