// Alertmanager's webhook (payload version 4) turned into incidents: one incident per alert,
// found again by the alert's key (its labels without `severity`), so a repeating or escalated
// notification updates the incident it opened and a resolved one resolves it. Alertmanager
// retries on 5xx, so every step is idempotent.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConflictError } from '../errors.js';
import { LABEL_KEY_RE, NAMESPACE_RE, NewIncident, type Incident, type Severity } from '../incidents/model.js';
import type { IncidentStore } from '../incidents/store.js';
import { describeIssue } from '../zod-issues.js';

const Alert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  /** optional: the key comes from the labels; without it, the one Alertmanager computes is used */
  fingerprint: z.string().optional(),
});
export type Alert = z.infer<typeof Alert>;

/**
 * Unknown fields are allowed: Alertmanager may add some in later versions. Each alert is
 * checked on its own (applyNotification), so one odd alert does not cost the others: a 400
 * would, since Alertmanager does not retry it.
 */
export const WebhookPayload = z.object({
  // another version is another schema: refused rather than half understood
  version: z.string().refine((v) => v === '4', { error: 'must be "4", the webhook payload version this server reads' }),
  status: z.string(),
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().optional(),
  externalURL: z.string().optional(),
  alerts: z.array(z.unknown()).max(1000),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

/** One line naming each field and its rule, e.g. `version: must be "4" ..., got "3"`. */
export const describeErrors = (err: z.ZodError) => err.issues.map(describeIssue).join('; ');

export const FINGERPRINT_LABEL = 'alert_fingerprint';
export const KEY_LABEL = 'alert_key';
const BY = 'alertmanager';

/**
 * An alert's stable identity: a digest of its labels without `severity`. Alertmanager's own
 * fingerprint covers every label, so the same alert escalated from warning to critical would
 * look like a new one; this key does not change.
 */
export function alertKey(labels: Record<string, string>): string {
  const entries = Object.entries(labels)
    .filter(([k]) => k !== 'severity')
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 16);
}
/**
 * Alertmanager's own fingerprint of a label set (prometheus/common model.LabelSet.Fingerprint:
 * FNV-1a 64 over the sorted names and values, each followed by 0xff), for an alert sent without one.
 */
export function labelsFingerprint(labels: Record<string, string>): string {
  const MASK = 0xffffffffffffffffn;
  let h = 0xcbf29ce484222325n;
  const add = (bytes: Iterable<number>) => {
    for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & MASK;
  };
  for (const k of Object.keys(labels).sort()) {
    add(Buffer.from(k));
    add([0xff]);
    add(Buffer.from(labels[k]!));
    add([0xff]);
  }
  return h.toString(16).padStart(16, '0');
}
/** The alert's fingerprint when it sent a plausible one, else the one Alertmanager would have sent. */
export const fingerprintOf = (alert: Alert) =>
  alert.fingerprint && /^[0-9A-Za-z]{1,64}$/.test(alert.fingerprint) ? alert.fingerprint : labelsFingerprint(alert.labels);

/** The dedup_key of the incident an alert opens; the triage_alert prompt gives the same one. */
export const alertDedupKey = (key: string) => `alert/${key}`;
/** What versions before the alert key used (the fingerprint); still found, so upgrades keep their open incidents. */
const legacyDedupKey = (fingerprint: string) => `alertmanager/${fingerprint}`;
const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

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
/**
 * At most `max` UTF-16 units (what the model's limits count), cut on a whole code point: half an
 * emoji is a lone surrogate, which PostgreSQL's jsonb refuses.
 */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}…`;
}
/** Without NULs, and lone surrogates (JSON escapes like \ud83d) become U+FFFD: neither can be stored. */
const clean = (s: string) => s.replace(/\0/g, '').replace(/\p{Cs}/gu, '\ufffd');

/**
 * At most 20 annotations within a byte budget (as JSON: multi-byte or escaped characters take
 * more than one byte each), so the evidence never exceeds its limit and blocks the incident.
 */
function boundedAnnotations(a: Record<string, string>): { annotations: Record<string, string>; annotations_omitted?: number } {
  const annotations: Record<string, string> = {};
  let bytes = 0;
  let omitted = 0;
  for (const [k, v] of Object.entries(a)) {
    const entry: [string, string] = [cut(clean(k), 100), cut(clean(v), 1000)];
    const size = Buffer.byteLength(JSON.stringify(entry));
    if (Object.keys(annotations).length >= 20 || bytes + size > 24 * 1024) omitted++;
    else {
      annotations[entry[0]] = entry[1];
      bytes += size;
    }
  }
  return omitted > 0 ? { annotations, annotations_omitted: omitted } : { annotations };
}

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
  const key = alertKey(l);
  const labels: Record<string, string> = { source: 'alertmanager', [KEY_LABEL]: key, [FINGERPRINT_LABEL]: fingerprintOf(alert), alertname: cut(clean(name), 256) };
  // kept whatever else is cut: a change of it is how an escalation is recognised
  if (l.severity) labels.severity = cut(clean(l.severity), 256);
  for (const [k, v] of Object.entries(l).sort(([x], [y]) => (x < y ? -1 : 1))) {
    if (Object.keys(labels).length >= 32) break;
    if (k === 'alertname' || k === 'severity' || !LABEL_KEY_RE.test(k)) continue;
    // an alert label with a name of ours (`source`, most likely) is kept as alert_<name>, never overwritten
    const name = k in labels ? `alert_${k}` : k;
    if (name in labels || name.length > 63) continue;
    labels[name] = cut(clean(v), 256);
  }
  const namespace = l.namespace && NAMESPACE_RE.test(l.namespace) ? l.namespace : undefined;
  // A target that is not a namespace names its kind, so no namespace is read into it.
  const where = l.namespace ?? (l.node ? `node/${l.node}` : l.instance ? `instance/${l.instance}` : l.job ? `job/${l.job}` : 'cluster/all');
  const target = cut(clean(where), 100) || 'cluster/all';
  const resources = RESOURCE_LABELS.filter((k) => l[k]).map((k) => cut(clean(`${k === 'job_name' ? 'job' : k}/${l[k]}`), 253));
  return NewIncident.parse({
    title: cut(clean(summary ? `${name}: ${summary}` : name), 200).trim() || 'alert',
    description: cut(clean(description), 2000),
    severity: severityOf(l.severity),
    target,
    ...(namespace ? { namespace } : {}),
    affected_resources: resources,
    labels,
    dedup_key: alertDedupKey(key),
    evidence: [
      {
        kind: 'other',
        summary: cut(clean(`Alertmanager notification (receiver ${payload.receiver ?? '?'})`), 200),
        // bounded and cleaned, so large or odd annotations never keep an alert from its incident
        data: {
          fingerprint: fingerprintOf(alert),
          startsAt: cut(clean(alert.startsAt), 100),
          generatorURL: cut(clean(alert.generatorURL ?? ''), 2000),
          ...boundedAnnotations(a),
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

/** The active incident an alert opened: found by its key label, confirmed by its dedup key (or, from older versions, by the fingerprint). */
async function activeFor(store: IncidentStore, key: string, fingerprint: string): Promise<Incident | null> {
  for (const [label, value, dedup] of [
    [KEY_LABEL, key, alertDedupKey(key)],
    [FINGERPRINT_LABEL, fingerprint, legacyDedupKey(fingerprint)],
  ] as const) {
    const page = await store.list({ status: 'active', labels: { [label]: value }, limit: 10 });
    for (const s of page.incidents) {
      if (s.dedup_key === dedup) return store.get(s.id);
    }
  }
  return null;
}

const NOTE_PREFIX = 'Alertmanager: the alert now reads: ';

/** Brings an open incident up to date with what a repeated notification says; 'unchanged' when it already is. */
async function refresh(store: IncidentStore, incident: Incident, alert: Alert, want: NewIncident): Promise<'updated' | 'unchanged'> {
  let changed = false;
  // Severity follows a change of the alert's severity label (an escalation), never overriding
  // a severity someone set while the label stayed the same.
  const was = incident.labels.severity;
  const now = alert.labels.severity;
  const labels: Record<string, string> = {};
  for (const k of ['severity', FINGERPRINT_LABEL]) {
    const v = want.labels?.[k];
    if (v !== undefined && k in incident.labels && incident.labels[k] !== v) labels[k] = v;
  }
  const severity = was !== undefined && now !== undefined && was !== now && incident.severity !== want.severity ? want.severity : undefined;
  if (severity || Object.keys(labels).length > 0) {
    await store.update(
      incident.id,
      {
        ...(severity ? { severity, note: `Alertmanager: severity label is now ${now} (was ${was}), so ${incident.severity} → ${severity}` } : {}),
        ...(Object.keys(labels).length > 0 ? { labels } : {}),
      },
      BY,
    );
    changed = true;
  }
  // Changed annotations (summary, description, runbook) become a note, once; the description keeps what the alert first said.
  const latest = [...incident.timeline].reverse().find((e) => e.by === BY && e.event === 'note' && e.note?.startsWith(NOTE_PREFIX));
  const reads = cut(`${NOTE_PREFIX}${want.title}\n${want.description}`, 2000);
  const known = latest ? latest.note : cut(`${NOTE_PREFIX}${incident.title}\n${incident.description}`, 2000);
  if (reads !== known) {
    await store.update(incident.id, { note: reads }, BY);
    changed = true;
  }
  return changed ? 'updated' : 'unchanged';
}

/**
 * Applies one notification; alerts in order, each durable before the next. Alerts with one key
 * (the same alert at two severities, as kube-prometheus rules often fire) are one incident: it
 * takes the most severe firing one, and stays open while any of them fires.
 */
export async function applyNotification(store: IncidentStore, payload: WebhookPayload): Promise<AlertOutcome[]> {
  const alerts: Alert[] = [];
  const invalid = new Map<number, AlertOutcome>();
  // an alert that is not one is answered as invalid; the others still count
  payload.alerts.forEach((raw, i) => {
    const parsed = Alert.safeParse(raw, { reportInput: true });
    if (parsed.success) alerts.push(parsed.data);
    else invalid.set(i, invalidAlert(raw, parsed.error));
  });
  const applied = await applyAlerts(store, payload, alerts);
  let next = 0;
  return payload.alerts.map((_, i) => invalid.get(i) ?? applied[next++]!);
}

/** The outcome of an alert that is not one; whatever it has of a fingerprint and alert name is kept to identify it. */
function invalidAlert(raw: unknown, err: z.ZodError): AlertOutcome {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const labels = (typeof r.labels === 'object' && r.labels !== null ? r.labels : {}) as Record<string, unknown>;
  const str = (v: unknown, max: number) => (typeof v === 'string' ? cut(clean(v), max) : '');
  return { fingerprint: str(r.fingerprint, 64), alertname: str(labels.alertname, 256) || 'alert', action: 'invalid', incident: null, error: `not an alert: ${describeErrors(err)}` };
}

async function applyAlerts(store: IncidentStore, payload: WebhookPayload, alerts: Alert[]): Promise<AlertOutcome[]> {
  const keys = alerts.map((a) => alertKey(a.labels));
  const firing = new Map<string, Alert>();
  alerts.forEach((a, i) => {
    const cur = firing.get(keys[i]!);
    if (a.status === 'firing' && (!cur || RANK[severityOf(a.labels.severity)] > RANK[severityOf(cur.labels.severity)])) firing.set(keys[i]!, a);
  });
  const done = new Map<string, AlertOutcome>();
  const fire = async (key: string, alert: Alert): Promise<AlertOutcome> => {
    const base = { fingerprint: fingerprintOf(alert), alertname: alert.labels.alertname || 'alert' };
    let want: NewIncident;
    try {
      want = incidentFrom(alert, payload);
    } catch (err) {
      // permanent: retrying the notification would not help, so the others still count
      return { ...base, action: 'invalid', incident: null, error: err instanceof z.ZodError ? describeErrors(err) : String(err) };
    }
    const legacy = await activeFor(store, key, fingerprintOf(alert));
    const { incident, deduplicated } = legacy ? { incident: legacy, deduplicated: true } : await store.create(want, BY);
    if (!deduplicated) return { ...base, action: 'created', incident: incident.id };
    try {
      return { ...base, action: await refresh(store, incident, alert, want), incident: incident.id };
    } catch (err) {
      // e.g. a timeline already full: permanent, so not a 5xx that Alertmanager would retry forever
      if (err instanceof ConflictError) return { ...base, action: 'invalid', incident: incident.id, error: err.message };
      throw err;
    }
  };
  const out: AlertOutcome[] = [];
  for (const [i, alert] of alerts.entries()) {
    const key = keys[i]!;
    const base = { fingerprint: fingerprintOf(alert), alertname: alert.labels.alertname || 'alert' };
    const lead = firing.get(key);
    if (lead) {
      // the most severe firing alert of its key speaks for the incident; the others share its outcome
      let o = done.get(key);
      if (!o) done.set(key, (o = await fire(key, lead)));
      out.push(alert === lead ? o : { ...base, action: o.action === 'invalid' ? 'invalid' : 'unchanged', incident: o.incident, ...(o.error ? { error: o.error } : {}) });
      continue;
    }
    const open = await activeFor(store, key, fingerprintOf(alert));
    if (!open) {
      out.push({ ...base, action: 'not_found', incident: null });
      continue;
    }
    try {
      await store.update(open.id, { status: 'resolved', note: `Resolved by Alertmanager (alert ended ${alert.endsAt ?? 'now'})` }, BY);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      out.push({ ...base, action: 'invalid', incident: open.id, error: err.message });
      continue;
    }
    out.push({ ...base, action: 'resolved', incident: open.id });
  }
  return out;
}
