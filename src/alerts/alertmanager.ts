// Alertmanager's webhook (payload version 4) turned into incidents: one incident per alert,
// found again by the alert's key (its labels without `severity`), so a repeating or escalated
// notification updates the incident it opened and a resolved one resolves it. Alertmanager
// retries on 5xx, so every step is idempotent.
import { z } from 'zod';
import { nodeCrypto } from '../builtins.js';
import { ConflictError, InputError } from '../errors.js';
import { LABEL_KEY_RE, LIMITS, NAMESPACE_RE, NewIncident, cutText, type Incident, type Severity } from '../incidents/model.js';
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
/** The versions of the alert firing, as JSON: severity label ("" for none) → fingerprint. */
const FIRING_LABEL = 'alert_firing';
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
  return nodeCrypto().createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 16);
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

/** Labels that name an affected resource, as <label>/<value> (job_name as job/<name>). */
export const RESOURCE_LABELS = ['pod', 'deployment', 'statefulset', 'daemonset', 'job_name', 'node', 'persistentvolumeclaim', 'service', 'horizontalpodautoscaler'];
// Text is cut with cutText (never between a surrogate pair: half an emoji is a lone surrogate,
// which PostgreSQL's jsonb refuses) and cleaned: NUL goes, and a lone surrogate (a JSON escape
// like \ud83d) becomes U+FFFD.
const clean = (s: string) => s.replace(/\0/g, '').toWellFormed();

/**
 * At most 20 annotations within a byte budget (as JSON: multi-byte or escaped characters take
 * more than one byte each), so the evidence never exceeds its limit and blocks the incident.
 */
function boundedAnnotations(a: Record<string, string>): { annotations: Record<string, string>; annotations_omitted?: number } {
  const annotations: Record<string, string> = {};
  let bytes = 0;
  let omitted = 0;
  for (const [k, v] of Object.entries(a)) {
    const entry: [string, string] = [cutText(clean(k), 100), cutText(clean(v), 1000)];
    const size = Buffer.byteLength(JSON.stringify(entry));
    if (Object.keys(annotations).length >= 20 || bytes + size > 24 * 1024) omitted++;
    else {
      annotations[entry[0]] = entry[1];
      bytes += size;
    }
  }
  return omitted > 0 ? { annotations, annotations_omitted: omitted } : { annotations };
}

/**
 * The versions of one alert (one key) that fire: its severity label ("" for none, which in
 * Prometheus is the same as an empty value) → the fingerprint of that version. Kept on the
 * incident (FIRING_LABEL), so versions delivered in separate notifications (group_by with
 * severity or '...', or different routes) neither flip the incident's severity back and forth
 * nor resolve it while one of them still fires.
 */
type Firing = Map<string, string>;
const versionOf = (a: Alert) => cutText(clean(a.labels.severity ?? ''), 64);
const rankOf = (version: string) => RANK[severityOf(version || undefined)];
/** Most severe first; equally severe ones by name, so the choice does not depend on arrival. */
const bySeverity = (x: string, y: string) => rankOf(y) - rankOf(x) || (x < y ? -1 : x > y ? 1 : 0);
const ordered = (f: Firing) => [...f].sort(([x], [y]) => bySeverity(x, y));

/** The label value; within a label's 256 characters, the least severe versions give way (there are rarely more than 3). */
function encodeFiring(f: Firing): string {
  let entries = ordered(f);
  while (entries.length > 1 && JSON.stringify(Object.fromEntries(entries)).length > 256) entries = entries.slice(0, -1);
  return JSON.stringify(Object.fromEntries(entries));
}
/** undefined when the incident does not say (opened before versions were kept, or the label was edited). */
function firingOf(inc: Incident): Firing | undefined {
  const v = inc.labels[FIRING_LABEL];
  if (v === undefined) return undefined;
  try {
    const o: unknown = JSON.parse(v);
    if (typeof o === 'object' && o !== null && !Array.isArray(o) && Object.values(o).every((x) => typeof x === 'string')) return new Map(Object.entries(o as Record<string, string>));
  } catch {
    /* not ours */
  }
  return undefined;
}

/** The incident an alert opens; `firing` the versions of it firing (by default just this one). */
export function incidentFrom(alert: Alert, payload: WebhookPayload, firing?: Firing, fingerprint = fingerprintOf(alert)): NewIncident {
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
  const labels: Record<string, string> = {
    source: 'alertmanager',
    [KEY_LABEL]: key,
    [FINGERPRINT_LABEL]: fingerprint,
    [FIRING_LABEL]: encodeFiring(firing ?? new Map([[versionOf(alert), fingerprint]])),
    alertname: cutText(clean(name), 256),
  };
  // kept whatever else is cut: a change of it is how an escalation is recognised
  if (l.severity) labels.severity = cutText(clean(l.severity), 256);
  for (const [k, v] of Object.entries(l).sort(([x], [y]) => (x < y ? -1 : 1))) {
    if (Object.keys(labels).length >= 32) break;
    if (k === 'alertname' || k === 'severity' || !LABEL_KEY_RE.test(k)) continue;
    // an alert label with a name of ours (`source`, most likely) is kept as alert_<name>, never overwritten
    const name = k in labels ? `alert_${k}` : k;
    if (name in labels || name.length > 63) continue;
    labels[name] = cutText(clean(v), 256);
  }
  const namespace = l.namespace && NAMESPACE_RE.test(l.namespace) ? l.namespace : undefined;
  // A target that is not a namespace names its kind, so no namespace is read into it.
  const where = l.namespace ?? (l.node ? `node/${l.node}` : l.instance ? `instance/${l.instance}` : l.job ? `job/${l.job}` : 'cluster/all');
  const target = cutText(clean(where), 100) || 'cluster/all';
  const resources = RESOURCE_LABELS.filter((k) => l[k]).map((k) => cutText(clean(`${k === 'job_name' ? 'job' : k}/${l[k]}`), 253));
  return NewIncident.parse({
    title: cutText(clean(summary ? `${name}: ${summary}` : name), 200).trim() || 'alert',
    description: cutText(clean(description), 2000),
    severity: severityOf(l.severity),
    target,
    ...(namespace ? { namespace } : {}),
    affected_resources: resources,
    labels,
    dedup_key: alertDedupKey(key),
    evidence: [
      {
        kind: 'other',
        summary: cutText(clean(`Alertmanager notification (receiver ${payload.receiver ?? '?'})`), 200),
        // bounded and cleaned, so large or odd annotations never keep an alert from its incident
        data: {
          fingerprint,
          startsAt: cutText(clean(alert.startsAt), 100),
          generatorURL: cutText(clean(alert.generatorURL ?? ''), 2000),
          ...boundedAnnotations(a),
          groupKey: cutText(clean(payload.groupKey ?? ''), 500),
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

/** Who opens incidents the triage_alert prompt asks for (its `source` label). */
export const TRIAGE_SOURCE = 'alert-triage';

/**
 * Whether an incident is the triage of this alert: opened by the triage_alert prompt, which knows
 * an alert by alertname, namespace and pod (its key from the alert's other labels only when the
 * agent passed them all).
 */
function triageOf(inc: { labels: Record<string, string>; namespace: string | null }, l: Record<string, string>): boolean {
  return inc.labels.source === TRIAGE_SOURCE && !!l.alertname && inc.labels.alertname === l.alertname && !!l.namespace && inc.namespace === l.namespace && (inc.labels.pod ?? '') === (l.pod ?? '');
}

/**
 * The active incident an alert opened: found by its key label, confirmed by its dedup key, or as
 * the triage of this alert that the webhook adopted; or, from older versions, by a fingerprint.
 */
async function activeFor(store: IncidentStore, key: string, fingerprints: string[], labels: Record<string, string>): Promise<Incident | null> {
  const tries: [string, string, string][] = [[KEY_LABEL, key, alertDedupKey(key)], ...fingerprints.map((fp): [string, string, string] => [FINGERPRINT_LABEL, fp, legacyDedupKey(fp)])];
  for (const [label, value, dedup] of tries) {
    const page = await store.list({ status: 'active', labels: { [label]: value }, limit: 10 });
    for (const s of page.incidents) {
      if (s.dedup_key === dedup || (label === KEY_LABEL && triageOf(s, labels) && FIRING_LABEL in s.labels)) return store.get(s.id);
    }
  }
  return null;
}

/**
 * An active triage of this alert that no alert follows yet (no FIRING_LABEL): the webhook adopts
 * it rather than open a second incident, since without all the alert's labels the prompt's key
 * differs from the webhook's. It needs room for the labels adoption adds.
 */
async function triageToAdopt(store: IncidentStore, l: Record<string, string>): Promise<Incident | null> {
  if (!l.alertname || !l.namespace || !NAMESPACE_RE.test(l.namespace)) return null;
  const page = await store.list({ status: 'active', namespace: l.namespace, labels: { source: TRIAGE_SOURCE, alertname: l.alertname, ...(l.pod ? { pod: l.pod } : {}) }, limit: 10 });
  for (const s of page.incidents) {
    const adds = [KEY_LABEL, FIRING_LABEL].filter((k) => !(k in s.labels)).length;
    if (triageOf(s, l) && !(FIRING_LABEL in s.labels) && Object.keys(s.labels).length + adds <= LIMITS.labels) return store.get(s.id);
  }
  return null;
}

const NOTE_PREFIX = 'Alertmanager: the alert now reads: ';

interface Follow {
  /** the versions the incident said were firing; undefined when it did not say */
  prior: Firing | undefined;
  /** the versions firing after this notification; not empty */
  now: Firing;
  /** the most severe version firing in this notification, and the incident it would open */
  lead?: { alert: Alert; want: NewIncident };
  /** the alert's key, when the incident is a triage the webhook adopts */
  adopt?: string;
}

/**
 * Brings an open incident up to date: the versions firing, severity and labels from the most
 * severe of them, and changed annotations as a note; 'unchanged' when it already is.
 */
async function follow(store: IncidentStore, inc: Incident, f: Follow): Promise<'updated' | 'unchanged'> {
  let changed = false;
  const [top, topFingerprint] = ordered(f.now)[0]!;
  // labels the incident lacks are added only while it has room for them
  let room = LIMITS.labels - Object.keys(inc.labels).length;
  const labels: Record<string, string> = {};
  const set = (k: string, v: string) => {
    if (inc.labels[k] === v) return;
    if (!(k in inc.labels)) {
      if (room <= 0) return;
      room--;
    }
    labels[k] = v;
  };
  if (f.adopt) set(KEY_LABEL, f.adopt);
  set(FIRING_LABEL, encodeFiring(f.now));
  if (top) set('severity', top); // versionOf already cut it to 64
  set(FINGERPRINT_LABEL, topFingerprint);
  const remove = !top && f.prior && 'severity' in inc.labels ? ['severity'] : [];
  // Severity follows a change of the most severe firing version (an escalation, or its end),
  // never overriding a severity someone set while that stayed the same. An incident that did not
  // say which versions fire follows a change of its severity label, as before.
  const was = f.prior ? ordered(f.prior)[0]?.[0] : inc.labels.severity;
  const moved = f.prior ? was !== top : was !== undefined && top !== '' && was !== top;
  const to = severityOf(top || undefined);
  const severity = moved && inc.severity !== to ? to : undefined;
  const notes = [
    f.adopt ? `Alertmanager: this triage of the alert now follows its notifications too (alert_key ${f.adopt}), rather than a second incident` : '',
    severity ? `Alertmanager: the most severe firing version of the alert now has severity label ${top || '(none)'} (was ${was || '(none)'}), so ${inc.severity} → ${severity}` : '',
  ].filter(Boolean);
  if (severity || Object.keys(labels).length > 0 || remove.length > 0) {
    await store.update(
      inc.id,
      {
        ...(severity ? { severity } : {}),
        ...(notes.length > 0 ? { note: notes.join('\n') } : {}),
        ...(Object.keys(labels).length > 0 ? { labels } : {}),
        ...(remove.length > 0 ? { remove_labels: remove } : {}),
      },
      BY,
    );
    changed = true;
  }
  // Changed annotations (summary, description, runbook) become a note, once; the description keeps
  // what the alert first said. Only the most severe version speaks, or two would take turns.
  if (f.lead && versionOf(f.lead.alert) === top) {
    const latest = [...inc.timeline].reverse().find((e) => e.by === BY && e.event === 'note' && e.note?.startsWith(NOTE_PREFIX));
    const reads = cutText(`${NOTE_PREFIX}${f.lead.want.title}\n${f.lead.want.description}`, 2000);
    const known = latest ? latest.note : cutText(`${NOTE_PREFIX}${inc.title}\n${inc.description}`, 2000);
    if (reads !== known) {
      await store.update(inc.id, { note: reads }, BY);
      changed = true;
    }
  }
  return changed ? 'updated' : 'unchanged';
}

/** A valid alert of the notification and its fingerprint, worked out once (a BigInt hash when it sent none). */
interface Received {
  alert: Alert;
  fingerprint: string;
}

/**
 * Applies one notification; alerts in order, each durable before the next. Alerts with one key
 * are versions of one alert at different severities (kube-prometheus rules often fire two): one
 * incident, at the severity of the most severe version firing, open while any of them fires,
 * whether the versions come in one notification or in several.
 */
export async function applyNotification(store: IncidentStore, payload: WebhookPayload): Promise<AlertOutcome[]> {
  const alerts: Received[] = [];
  const invalid = new Map<number, AlertOutcome>();
  // an alert that is not one is answered as invalid; the others still count
  payload.alerts.forEach((raw, i) => {
    const parsed = Alert.safeParse(raw, { reportInput: true });
    if (parsed.success) alerts.push({ alert: parsed.data, fingerprint: fingerprintOf(parsed.data) });
    else invalid.set(i, invalidAlert(raw, parsed.error));
  });
  // positions of the alerts of each key, keys in the order they first appear
  const byKey = new Map<string, number[]>();
  alerts.forEach((r, i) => {
    const key = alertKey(r.alert.labels);
    const mine = byKey.get(key);
    if (mine) mine.push(i);
    else byKey.set(key, [i]);
  });
  const applied: AlertOutcome[] = [];
  for (const [key, mine] of byKey) {
    const outcomes = await applyVersions(store, payload, key, mine.map((i) => alerts[i]!));
    mine.forEach((i, n) => (applied[i] = outcomes[n]!));
  }
  let next = 0;
  return payload.alerts.map((_, i) => invalid.get(i) ?? applied[next++]!);
}

/** The outcome of an alert that is not one; whatever it has of a fingerprint and alert name is kept to identify it. */
function invalidAlert(raw: unknown, err: z.ZodError): AlertOutcome {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const labels = (typeof r.labels === 'object' && r.labels !== null ? r.labels : {}) as Record<string, unknown>;
  const str = (v: unknown, max: number) => (typeof v === 'string' ? cutText(clean(v), max) : '');
  return { fingerprint: str(r.fingerprint, 64), alertname: str(labels.alertname, 256) || 'alert', action: 'invalid', incident: null, error: `not an alert: ${describeErrors(err)}` };
}

/** Permanent failures: retrying the notification would not help, so not a 5xx that Alertmanager would retry for ever. */
const permanent = (err: unknown) => err instanceof ConflictError || err instanceof InputError;

/**
 * The alerts of one key in this notification. The first of them (the most severe firing one, if
 * any fires) speaks for the incident; the others share its outcome as 'unchanged'.
 */
async function applyVersions(store: IncidentStore, payload: WebhookPayload, key: string, group: Received[]): Promise<AlertOutcome[]> {
  const fired = group.filter((r) => r.alert.status === 'firing').sort((x, y) => bySeverity(versionOf(x.alert), versionOf(y.alert)));
  const lead = fired[0];
  const first = lead ?? group[0]!;
  const answer = (action: AlertOutcome['action'], incident: string | null, error?: string): AlertOutcome[] =>
    group.map((r) => ({
      fingerprint: r.fingerprint,
      alertname: r.alert.labels.alertname || 'alert',
      action: r === first || action === 'invalid' || action === 'not_found' ? action : 'unchanged',
      incident,
      ...(error ? { error } : {}),
    }));
  const firing: Firing = new Map(fired.map((r) => [versionOf(r.alert), r.fingerprint]));
  const ended = new Set(group.filter((r) => r.alert.status === 'resolved').map((r) => versionOf(r.alert)));
  const now = (prior: Firing | undefined): Firing => {
    const n = new Map([...(prior ?? [])].filter(([v]) => !ended.has(v)));
    for (const [v, fp] of firing) n.set(v, fp);
    return n;
  };
  let incident = await activeFor(store, key, [...new Set(group.map((r) => r.fingerprint))], first.alert.labels);
  try {
    if (lead) {
      let want: NewIncident;
      try {
        want = incidentFrom(lead.alert, payload, firing, lead.fingerprint);
      } catch (err) {
        return answer('invalid', null, err instanceof z.ZodError ? describeErrors(err) : String(err));
      }
      let adopt: string | undefined;
      if (!incident) {
        incident = await triageToAdopt(store, lead.alert.labels);
        if (incident) adopt = key;
      }
      if (!incident) {
        const made = await store.create(want, BY);
        if (!made.deduplicated) return answer('created', made.incident.id);
        incident = made.incident;
      }
      const prior = firingOf(incident);
      return answer(await follow(store, incident, { prior, now: now(prior), lead: { alert: lead.alert, want }, ...(adopt ? { adopt } : {}) }), incident.id);
    }
    if (!incident) return answer('not_found', null);
    const prior = firingOf(incident);
    const still = now(prior);
    // resolved when no version fires any more (or, if the incident did not say which fire, at once)
    if (prior && still.size > 0) {
      try {
        return answer(await follow(store, incident, { prior, now: still }), incident.id);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        // A full timeline cannot record that one version ended, so the incident would wait for
        // an end it can no longer note: close it; a version still firing opens a follow-up.
        await store.update(
          incident.id,
          { status: 'resolved', note: `Resolved by Alertmanager: a version of the alert ended and the timeline is full; ${[...still.keys()].map((v) => v || '(no severity)').join(', ')} still firing will open a new incident` },
          BY,
        );
        return answer('resolved', incident.id);
      }
    }
    await store.update(incident.id, { status: 'resolved', note: `Resolved by Alertmanager (alert ended ${first.alert.endsAt ?? 'now'})` }, BY);
    return answer('resolved', incident.id);
  } catch (err) {
    // e.g. a timeline already full
    if (permanent(err)) return answer('invalid', incident?.id ?? null, (err as Error).message);
    throw err;
  }
}
