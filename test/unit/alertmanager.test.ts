// Alertmanager notifications (bodies as Alertmanager 0.25 sends them) against a real store.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { RESOURCE_LABELS, WebhookPayload as Payload, alertKey, applyNotification, incidentFrom, labelsFingerprint, severityOf, type Alert, type WebhookPayload } from '../../src/alerts/alertmanager.js';
import { FileIncidentStore } from '../../src/incidents/file-store.js';
import { PostgresIncidentStore } from '../../src/incidents/pg-store.js';
import { createLogger } from '../../src/log.js';
import { freshDatabase } from '../helpers/postgres.js';
import { WORKFLOWS, fill, workflowArgs } from '../../src/prompts.js';
import { ROOT, tempDir } from '../helpers/server.js';

const crashLoop = {
  status: 'firing' as const,
  labels: { alertname: 'KubePodCrashLooping', namespace: 'batch', pod: 'report-worker-9a7b6c5d4-x7k2p', severity: 'warning', container: 'report-worker' },
  annotations: { description: 'Pod batch/report-worker is in waiting state (reason: CrashLoopBackOff).', summary: 'Pod is crash looping.', runbook_url: 'https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping' },
  startsAt: '2026-11-23T09:12:00Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus/graph?g0.expr=x',
  fingerprint: '231c6bb8d7e611f4',
};
const other = { ...crashLoop, labels: { ...crashLoop.labels, pod: 'other-1' }, annotations: { summary: 'x' }, generatorURL: '', fingerprint: '5e6d13693eb1920c' };
const group = (alerts: Alert[], status = 'firing'): WebhookPayload => ({
  receiver: 'prom-incident-mcp',
  status,
  alerts,
  externalURL: 'http://alertmanager:9093',
  version: '4',
  groupKey: '{}:{alertname="KubePodCrashLooping", namespace="batch"}',
  truncatedAlerts: 0,
});

// The alert's labels without severity, sorted by name, as [name, value] pairs: SHA-256, first 16 hex digits.
const KEY = createHash('sha256')
  .update(JSON.stringify([['alertname', 'KubePodCrashLooping'], ['container', 'report-worker'], ['namespace', 'batch'], ['pod', 'report-worker-9a7b6c5d4-x7k2p']]))
  .digest('hex')
  .slice(0, 16);

let dir: { path: string; cleanup(): void };
let store: FileIncidentStore;
beforeEach(async () => {
  dir = tempDir('pim-am-');
  store = await FileIncidentStore.open(dir.path, { logger: createLogger('silent') });
});
afterEach(async () => {
  await store.close();
  dir.cleanup();
});

describe('Alertmanager notifications', () => {
  it('map an alert onto an incident', () => {
    const inc = incidentFrom(crashLoop, group([crashLoop]));
    expect(inc).toMatchObject({
      title: 'KubePodCrashLooping: Pod is crash looping.',
      severity: 'medium',
      target: 'batch',
      namespace: 'batch',
      affected_resources: ['pod/report-worker-9a7b6c5d4-x7k2p'],
      dedup_key: `alert/${KEY}`,
    });
    expect(inc.description).toContain('Pod batch/report-worker is in waiting state');
    expect(inc.description).toContain('Runbook: https://runbooks.prometheus-operator.dev/');
    expect(inc.labels).toMatchObject({ source: 'alertmanager', alert_key: KEY, alert_fingerprint: '231c6bb8d7e611f4', alertname: 'KubePodCrashLooping', container: 'report-worker', severity: 'warning' });
    expect(inc.evidence?.[0]?.data).toMatchObject({ generatorURL: 'http://prometheus/graph?g0.expr=x', annotations: { summary: 'Pod is crash looping.' } });
    expect([severityOf('critical'), severityOf('warning'), severityOf('info'), severityOf(undefined), severityOf('Error')]).toEqual(['critical', 'medium', 'low', 'medium', 'high']);
  });

  it('make exactly one incident per alert of a group, however often it repeats', async () => {
    const first = await applyNotification(store, group([other, crashLoop]));
    expect(first.map((o) => o.action)).toEqual(['created', 'created']);
    const again = await applyNotification(store, group([other, crashLoop]));
    expect(again.map((o) => o.action)).toEqual(['unchanged', 'unchanged']);
    expect(again.map((o) => o.incident)).toEqual(first.map((o) => o.incident));
    expect(await store.count()).toBe(2);
  });

  it('update the incident when the alert is escalated (a new fingerprint, the same key), and resolve it when it ends', async () => {
    const [created] = await applyNotification(store, group([crashLoop]));
    // Alertmanager's fingerprint covers every label, severity too
    const critical = { ...crashLoop, labels: { ...crashLoop.labels, severity: 'critical' }, fingerprint: '9f8e7d6c5b4a3921' };
    expect(alertKey(critical.labels)).toBe(KEY);
    expect((await applyNotification(store, group([critical])))[0]).toMatchObject({ action: 'updated', incident: created!.incident });
    expect(await store.count()).toBe(1);
    let inc = (await store.get(created!.incident!))!;
    expect(inc.severity).toBe('critical');
    expect(inc.labels).toMatchObject({ severity: 'critical', alert_fingerprint: '9f8e7d6c5b4a3921', alert_key: KEY });
    expect(inc.timeline.find((e) => e.event === 'severity')).toMatchObject({ by: 'alertmanager', from: 'medium', to: 'critical' });
    // the next repeat changes nothing
    expect((await applyNotification(store, group([critical])))[0]!.action).toBe('unchanged');
    const ended = { ...critical, status: 'resolved' as const, endsAt: '2026-11-23T09:20:00Z' };
    const endedWarning = { ...crashLoop, status: 'resolved' as const, endsAt: '2026-11-23T09:20:00Z' };
    // Alertmanager sends resolved alerts inside a group that may still be firing; both versions ended
    const [resolved] = await applyNotification(store, group([ended, endedWarning]));
    expect(resolved).toMatchObject({ action: 'resolved', incident: created!.incident });
    inc = (await store.get(created!.incident!))!;
    expect(inc.status).toBe('resolved');
    expect(inc.timeline.at(-1)).toMatchObject({ by: 'alertmanager', event: 'note' });
    // a repeated resolved notification finds nothing open; a new firing opens a new incident
    expect((await applyNotification(store, group([ended], 'resolved')))[0]!.action).toBe('not_found');
    const refired = (await applyNotification(store, group([crashLoop])))[0]!;
    expect(refired.action).toBe('created');
    expect(refired.incident).not.toBe(created!.incident);
  });

  it('keep one incident for the same alert firing at two severities, open while either fires', async () => {
    const critical = { ...crashLoop, labels: { ...crashLoop.labels, severity: 'critical' }, fingerprint: '9f8e7d6c5b4a3921' };
    const both = await applyNotification(store, group([crashLoop, critical]));
    expect(both.map((o) => o.action)).toEqual(['unchanged', 'created']);
    expect(both[0]!.incident).toBe(both[1]!.incident);
    const id = both[1]!.incident!;
    expect((await store.get(id))!.severity).toBe('critical');
    // repeats do not flip it between the two
    expect((await applyNotification(store, group([crashLoop, critical]))).map((o) => o.action)).toEqual(['unchanged', 'unchanged']);
    // the critical one ends while the warning still fires: the incident stays open
    const calmer = await applyNotification(store, group([crashLoop, { ...critical, status: 'resolved' as const, endsAt: '2026-11-23T09:20:00Z' }]));
    expect(calmer.map((o) => o.action)).toEqual(['updated', 'unchanged']);
    const inc = (await store.get(id))!;
    expect(inc.status).toBe('active');
    expect(inc.severity).toBe('medium');
    expect(await store.count()).toBe(1);
  });

  it('answer each alert in its place when versions of one alert are interleaved with other alerts', async () => {
    const critical = { ...crashLoop, labels: { ...crashLoop.labels, severity: 'critical' }, fingerprint: '9f8e7d6c5b4a3921' };
    const broken = { status: 'firing', labels: {}, startsAt: 3 };
    const outcomes = await applyNotification(store, group([crashLoop, other, broken as unknown as Alert, critical]));
    expect(outcomes.map((o) => o.action)).toEqual(['unchanged', 'created', 'invalid', 'created']);
    expect(outcomes.map((o) => o.fingerprint)).toEqual(['231c6bb8d7e611f4', '5e6d13693eb1920c', '', '9f8e7d6c5b4a3921']);
    expect(outcomes[0]!.incident).toBe(outcomes[3]!.incident);
    expect(outcomes[1]!.incident).not.toBe(outcomes[3]!.incident);
    expect((await store.get(outcomes[3]!.incident!))!.severity).toBe('critical');
    expect(await store.count()).toBe(2);
  });

  it('keep one incident for versions at two severities arriving in separate notifications: no flip-flop, open while either fires', async () => {
    // group_by with severity (or '...', or two routes): each version comes in a notification of its own
    const critical = { ...crashLoop, labels: { ...crashLoop.labels, severity: 'critical' }, fingerprint: '9f8e7d6c5b4a3921' };
    const ids = new Set<string>();
    for (let i = 0; i < 8; i++) for (const o of await applyNotification(store, group([i % 2 ? critical : crashLoop]))) ids.add(o.incident!);
    expect(ids.size).toBe(1);
    const id = [...ids][0]!;
    let inc = (await store.get(id))!;
    expect(inc.severity).toBe('critical');
    // created, then one escalation (severity, labels, its note); the repeats change nothing
    expect(inc.timeline.map((e) => e.event)).toEqual(['created', 'severity', 'labels', 'note']);
    expect(inc.labels).toMatchObject({ severity: 'critical', alert_fingerprint: '9f8e7d6c5b4a3921' });
    expect(JSON.parse(inc.labels.alert_firing!)).toEqual({ critical: '9f8e7d6c5b4a3921', warning: '231c6bb8d7e611f4' });
    // the critical version ends while the warning one still fires: open, back at the warning's severity
    const endedCritical = { ...critical, status: 'resolved' as const, endsAt: '2026-11-23T09:20:00Z' };
    expect((await applyNotification(store, group([endedCritical])))[0]).toMatchObject({ action: 'updated', incident: id });
    inc = (await store.get(id))!;
    expect(inc).toMatchObject({ status: 'active', severity: 'medium' });
    expect(inc.labels).toMatchObject({ severity: 'warning', alert_fingerprint: '231c6bb8d7e611f4' });
    expect(JSON.parse(inc.labels.alert_firing!)).toEqual({ warning: '231c6bb8d7e611f4' });
    // the warning's next repeat is the same incident, unchanged
    expect((await applyNotification(store, group([crashLoop])))[0]).toMatchObject({ action: 'unchanged', incident: id });
    // the critical one's resolved notification again: nothing left to take away
    expect((await applyNotification(store, group([endedCritical])))[0]).toMatchObject({ action: 'unchanged', incident: id });
    const [done] = await applyNotification(store, group([{ ...crashLoop, status: 'resolved' as const, endsAt: '2026-11-23T09:25:00Z' }]));
    expect(done).toMatchObject({ action: 'resolved', incident: id });
    expect(await store.count()).toBe(1);
  });

  it('follow the versions of an alert without a severity label too, and never add labels past the limit', async () => {
    const { severity: _, ...plain } = crashLoop.labels;
    const unlabelled = { ...crashLoop, labels: plain, fingerprint: '1111222233334444' };
    const [o] = await applyNotification(store, group([unlabelled]));
    expect(JSON.parse((await store.get(o!.incident!))!.labels.alert_firing!)).toEqual({ '': '1111222233334444' });
    const [up] = await applyNotification(store, group([{ ...crashLoop, labels: { ...plain, severity: 'critical' }, fingerprint: '5555666677778888' }]));
    expect(up!.action).toBe('updated');
    expect((await store.get(o!.incident!))!).toMatchObject({ severity: 'critical', labels: { severity: 'critical' } });
    const [down] = await applyNotification(store, group([{ ...crashLoop, labels: { ...plain, severity: 'critical' }, status: 'resolved' as const, fingerprint: '5555666677778888' }]));
    expect(down!.action).toBe('updated');
    const calm = (await store.get(o!.incident!))!;
    expect(calm.severity).toBe('medium');
    expect(calm.labels).not.toHaveProperty('severity');
    // an incident already at 32 labels is still found, and gets no label more
    const full: Record<string, string> = { alert_key: alertKey(crashLoop.labels), source: 'alertmanager' };
    for (let i = 0; Object.keys(full).length < 32; i++) full[`l${i}`] = 'x';
    const { incident: old } = await store.create({ ...incidentFrom(other, group([other])), labels: { ...full, alert_key: alertKey(other.labels) } }, 'alertmanager');
    const [r] = await applyNotification(store, group([{ ...other, labels: { ...other.labels, severity: 'critical' }, fingerprint: '9999aaaabbbbcccc' }]));
    expect(r).toMatchObject({ action: 'unchanged', incident: old.id });
    expect(Object.keys((await store.get(old.id))!.labels)).toHaveLength(32);
  });

  it('note changed annotations once, and keep a severity someone set while the label stayed', async () => {
    const [created] = await applyNotification(store, group([crashLoop]));
    const id = created!.incident!;
    await store.update(id, { severity: 'high', note: 'worse than the alert says' }, 'agent');
    const reworded = { ...crashLoop, annotations: { ...crashLoop.annotations, summary: 'Pod keeps crashing.' } };
    expect((await applyNotification(store, group([reworded])))[0]!.action).toBe('updated');
    expect((await applyNotification(store, group([reworded])))[0]!.action).toBe('unchanged');
    const inc = (await store.get(id))!;
    expect(inc.severity).toBe('high');
    const notes = inc.timeline.filter((e) => e.by === 'alertmanager' && e.event === 'note');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.note).toContain('KubePodCrashLooping: Pod keeps crashing.');
    expect(inc.title).toBe('KubePodCrashLooping: Pod is crash looping.');
  });

  it('still find incidents opened before the alert key (dedup key from the fingerprint)', async () => {
    const { alert_key: _, alert_firing: __, ...labels } = incidentFrom(crashLoop, group([crashLoop])).labels!;
    const { incident: old } = await store.create({ ...incidentFrom(crashLoop, group([crashLoop])), labels, dedup_key: 'alertmanager/231c6bb8d7e611f4' }, 'alertmanager');
    // found, and from now on it says which versions of the alert fire
    expect((await applyNotification(store, group([crashLoop])))[0]).toMatchObject({ action: 'updated', incident: old.id });
    expect(JSON.parse((await store.get(old.id))!.labels.alert_firing!)).toEqual({ warning: '231c6bb8d7e611f4' });
    const [r] = await applyNotification(store, group([{ ...crashLoop, status: 'resolved' as const, endsAt: '2026-11-23T09:20:00Z' }]));
    expect(r).toMatchObject({ action: 'resolved', incident: old.id });
    expect(await store.count()).toBe(1);
  });

  it('answer invalid, not an error Alertmanager would retry for ever, when an incident can take no more notes; a resolve still lands', async () => {
    const [created] = await applyNotification(store, group([crashLoop]));
    const id = created!.incident!;
    while ((await store.get(id))!.timeline.length < 200) await store.update(id, { note: 'n' }, 'agent');
    const changed = { ...crashLoop, annotations: { ...crashLoop.annotations, summary: 'Pod is crash looping again.' } };
    const [r] = await applyNotification(store, group([changed]));
    expect(r).toMatchObject({ action: 'invalid', incident: id });
    expect(r!.error).toMatch(/timeline entries/);
    const [done] = await applyNotification(store, group([{ ...crashLoop, status: 'resolved' as const, endsAt: '2026-11-23T09:20:00Z' }]));
    expect(done).toMatchObject({ action: 'resolved', incident: id });
    expect((await store.get(id))!.status).toBe('resolved');
  });

  it('close a full incident when one of two firing versions ends, and open a new one for the version still firing', async () => {
    const critical = { ...crashLoop, labels: { ...crashLoop.labels, severity: 'critical' }, fingerprint: '1111222233334444' };
    const [created] = await applyNotification(store, group([crashLoop]));
    const id = created!.incident!;
    await applyNotification(store, group([critical])); // a separate notification: both versions fire
    expect(Object.keys(JSON.parse((await store.get(id))!.labels.alert_firing!)).sort()).toEqual(['critical', 'warning']);
    while ((await store.get(id))!.timeline.length < 200) await store.update(id, { note: 'n' }, 'agent');
    const [r] = await applyNotification(store, group([{ ...critical, status: 'resolved' as const, endsAt: '2026-11-23T09:20:00Z' }]));
    expect(r).toMatchObject({ action: 'resolved', incident: id });
    expect((await store.get(id))!.status).toBe('resolved');
    expect((await store.get(id))!.timeline.at(-1)!.note).toMatch(/timeline is full; warning still firing/);
    const [again] = await applyNotification(store, group([crashLoop]));
    expect(again).toMatchObject({ action: 'created' });
    expect(again!.incident).not.toBe(id);
  });

  it('open the incident even for huge or odd annotations, or a blank alert name', async () => {
    const big = { ...crashLoop, fingerprint: 'aaaabbbbccccdddd', annotations: { description: `x\u0000${'d'.repeat(60_000)}`, summary: 's' } };
    const [o] = await applyNotification(store, group([big]));
    expect(o!.action).toBe('created');
    // 20 annotations of 1,000 control characters: 6 bytes each as JSON, far over the evidence limit
    const escaped = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`a${i}`, '\u0001'.repeat(1000)]));
    const odd = { ...crashLoop, labels: { ...crashLoop.labels, alertname: ' \u0000 ', pod: 'odd-1' }, annotations: escaped, fingerprint: 'aaaabbbbcccc0001' };
    const [p] = await applyNotification(store, group([odd]));
    expect(p).toMatchObject({ action: 'created' });
    const inc = (await store.get(p!.incident!))!;
    expect(inc.title).toBe('alert');
    expect(inc.evidence[0]!.data!.annotations_omitted).toBeGreaterThan(0);
  });

  it('open the incident for text no store could hold as sent: lone surrogates, and cuts that would split a character', async () => {
    // 🔥 is two UTF-16 units; a cut at 256 units falls between them
    const split = { ...crashLoop, labels: { ...crashLoop.labels, pod: 'emoji-1', team: `${'t'.repeat(254)}🔥🔥` }, annotations: { summary: `lone \ud800 half`, description: `${'d'.repeat(1998)}🔥` }, fingerprint: 'aaaabbbbcccc0002' };
    const [o] = await applyNotification(store, group([split]));
    expect(o).toMatchObject({ action: 'created' });
    const inc = (await store.get(o!.incident!))!;
    expect(inc.title).toBe('KubePodCrashLooping: lone \ufffd half');
    expect(inc.labels.team).toBe(`${'t'.repeat(254)}…`);
    for (const s of [inc.title, inc.description, ...Object.values(inc.labels), JSON.stringify(inc.evidence)]) expect(s.isWellFormed(), s.slice(0, 40)).toBe(true);
  });

  it('resolve only the incident their key opened, whatever labels an agent edited', async () => {
    const [b] = await applyNotification(store, group([other]));
    const [a] = await applyNotification(store, group([crashLoop])); // newest, so listed first
    // an agent copies the other alert's key and fingerprint labels onto incident a
    const copied = (await store.get(b!.incident!))!.labels;
    await store.update(a!.incident!, { labels: { alert_key: copied.alert_key!, alert_fingerprint: other.fingerprint } }, 'agent');
    const [r] = await applyNotification(store, group([{ ...other, status: 'resolved' as const, endsAt: '2026-11-23T09:30:00Z' }]));
    expect(r).toMatchObject({ action: 'resolved', incident: b!.incident });
    expect((await store.get(a!.incident!))!.status).toBe('active');
  });

  it('cut long text on whole characters: an emoji at a limit leaves no lone surrogate, which PostgreSQL refuses', async () => {
    const emoji = '\u{1F525}'; // two UTF-16 units
    // each limit falls on the emoji's second half: a title of 200, a label of 256, an annotation of 1,000
    const title = `${'t'.repeat(198 - 'KubePodCrashLooping: '.length)}${emoji}tail`;
    const fiery = {
      ...crashLoop,
      labels: { ...crashLoop.labels, container: `${'c'.repeat(254)}${emoji}x` },
      annotations: { summary: title, note: `${'n'.repeat(998)}${emoji}x` },
      fingerprint: 'eeee000011112222',
    };
    const inc = incidentFrom(fiery, group([fiery]));
    // JSON.stringify writes a lone surrogate as an escape (\\udXXX), which jsonb refuses
    const loneEscapes = (v: unknown) => JSON.stringify(v).match(/\\ud[89a-f][0-9a-f]{2}/gi) ?? [];
    expect(inc.title.length).toBeLessThanOrEqual(200);
    expect(loneEscapes(inc)).toEqual([]);
    expect(inc.labels!.container).toBe(`${'c'.repeat(254)}…`);
    // lone surrogates sent as JSON escapes become U+FFFD
    const lone = { ...fiery, annotations: { summary: 'half \ud83d of an emoji' }, fingerprint: 'eeee000011113333', labels: { ...crashLoop.labels, pod: 'lone-1' } };
    expect(incidentFrom(lone, group([lone])).title).toBe('KubePodCrashLooping: half \ufffd of an emoji');
    const pg = await PostgresIncidentStore.open(await freshDatabase(), { logger: createLogger('silent'), poolSize: 2 });
    try {
      const outcomes = await applyNotification(pg, group([fiery, lone]));
      expect(outcomes.map((o) => o.action)).toEqual(['created', 'created']);
      const stored = (await pg.get(outcomes[0]!.incident!))!;
      expect(stored.labels.container).toBe(inc.labels!.container);
      expect((stored.evidence[0]!.data!.annotations as Record<string, string>).note).toBe(`${'n'.repeat(998)}…`);
    } finally {
      await pg.close();
    }
  });

  it('take an alert without a fingerprint (the one Alertmanager computes stands in), and answer an alert that is not one as invalid while the others count', async () => {
    const { fingerprint: _, ...bare } = crashLoop;
    const broken = { status: 'firing', labels: { alertname: 'Broken', severity: 3 }, annotations: {}, startsAt: '2026-11-23T09:12:00Z', fingerprint: 'abcdabcdabcdabcd' };
    const outcomes = await applyNotification(store, group([broken as unknown as Alert, bare as Alert, other]));
    expect(outcomes.map((o) => o.action)).toEqual(['invalid', 'created', 'created']);
    expect(outcomes[0]).toMatchObject({ fingerprint: 'abcdabcdabcdabcd', alertname: 'Broken', incident: null, error: expect.stringMatching(/labels\.severity: must be a string/) });
    const inc = (await store.get(outcomes[1]!.incident!))!;
    expect(inc.labels.alert_fingerprint).toBe(labelsFingerprint(crashLoop.labels));
    expect(outcomes[1]!.fingerprint).toBe(inc.labels.alert_fingerprint);
    // the same alert sent with a fingerprint is the same incident (its labels make the key)
    expect((await applyNotification(store, group([crashLoop])))[0]).toMatchObject({ incident: inc.id });
    expect(await store.count()).toBe(2);
  });

  it("compute Alertmanager's fingerprint (FNV-1a 64 of the sorted labels)", () => {
    // FNV-1a 64 by hand: offset basis 0xcbf29ce484222325, prime 0x100000001b3, 0xff after each name and value
    let h = 0xcbf29ce484222325n;
    for (const b of [...Buffer.from('a'), 0xff, ...Buffer.from('1'), 0xff, ...Buffer.from('b'), 0xff, ...Buffer.from('é'), 0xff]) h = ((h ^ BigInt(b)) * 0x100000001b3n) % 2n ** 64n;
    expect(labelsFingerprint({ b: 'é', a: '1' })).toBe(h.toString(16).padStart(16, '0'));
    expect(labelsFingerprint({})).toBe('cbf29ce484222325');
  });

  it('refuse a notification of another payload version, naming the field', () => {
    const r = Payload.safeParse({ ...group([crashLoop]), version: '5' });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['version'], message: expect.stringMatching(/must be "4"/) });
  });

  it("keep the alert's own source label as alert_source; source stays alertmanager", async () => {
    const thanos = { ...crashLoop, labels: { ...crashLoop.labels, source: 'thanos-ruler', alert_key: 'theirs' }, fingerprint: 'bbbb000011112222' };
    const [o] = await applyNotification(store, group([thanos]));
    const inc = (await store.get(o!.incident!))!;
    expect(inc.labels).toMatchObject({ source: 'alertmanager', alert_source: 'thanos-ruler', alert_alert_key: 'theirs', alert_key: alertKey(thanos.labels) });
    expect(alertKey(thanos.labels)).not.toBe(KEY); // their source is part of the alert's identity
  });

  it('adopt the incident an agent opened with the triage prompt (key from alertname, namespace, pod) for an alert with all its labels', async () => {
    // KubePodCrashLooping as kube-state-metrics and kube-prometheus deliver it
    const ksm = (container: string, severity = 'warning') => ({
      ...crashLoop,
      labels: {
        alertname: 'KubePodCrashLooping', namespace: 'batch', pod: 'report-worker-9a7b6c5d4-x7k2p', container, severity, reason: 'CrashLoopBackOff',
        job: 'kube-state-metrics', instance: '10.128.2.15:8443', endpoint: 'https-main', service: 'kube-state-metrics',
        uid: '6f1c2a9e-3b7d-4c1e-9a52-0d8e4f7b1c23', prometheus: 'openshift-monitoring/k8s',
      },
      fingerprint: container === 'report-worker' ? '7a1b2c3d4e5f6071' : '8a1b2c3d4e5f6072',
    });
    const alert = ksm('report-worker');
    // the agent follows triage_alert without its labels argument, and records the incident it asks for
    const triage = WORKFLOWS.find((w) => w.name === 'triage_alert')!;
    const args = workflowArgs(triage, { alertname: 'KubePodCrashLooping', namespace: 'batch', pod: alert.labels.pod });
    const step = triage.steps.find((s) => s.tool === 'create_incident')!;
    const asked = fill(step.args as never, args) as Record<string, any>;
    expect(asked.dedup_key).not.toBe(`alert/${alertKey(alert.labels)}`); // the keys differ: hence adoption
    const { incident: mine } = await store.create({ ...asked, title: 'crash loop in batch', description: 'restarts every 5m', severity: 'high' } as never, 'agent');
    // an unrelated incident with the same alert's labels copied is not adopted
    await store.create({ title: 'other', description: 'x', severity: 'low', target: 'batch', namespace: 'batch', labels: { alertname: 'KubePodCrashLooping', pod: alert.labels.pod, source: 'agent' } }, 'agent');

    const [o] = await applyNotification(store, group([alert]));
    expect(o).toMatchObject({ action: 'updated', incident: mine.id });
    let inc = (await store.get(mine.id))!;
    expect(inc.severity).toBe('high'); // what the agent judged stays
    expect(inc.labels).toMatchObject({ source: 'alert-triage', alert_key: alertKey(alert.labels), severity: 'warning', alert_fingerprint: '7a1b2c3d4e5f6071' });
    expect(inc.timeline.some((e) => e.by === 'alertmanager' && /triage/.test(e.note ?? ''))).toBe(true);
    // later notifications find it by key: repeats change nothing, an escalation follows
    expect((await applyNotification(store, group([alert])))[0]).toMatchObject({ action: 'unchanged', incident: mine.id });
    expect((await applyNotification(store, group([ksm('report-worker', 'critical')])))[0]).toMatchObject({ action: 'updated', incident: mine.id });
    // another container of the pod is another alert: its own incident, the triage is taken
    expect((await applyNotification(store, group([ksm('sidecar')])))[0]!.action).toBe('created');
    const ended = (a: ReturnType<typeof ksm>) => ({ ...a, status: 'resolved' as const, endsAt: '2026-11-23T10:00:00Z' });
    const [r] = await applyNotification(store, group([ended(alert), ended(ksm('report-worker', 'critical'))]));
    expect(r).toMatchObject({ action: 'resolved', incident: mine.id });
    inc = (await store.get(mine.id))!;
    expect(inc.status).toBe('resolved');
    expect(await store.count()).toBe(3);
  });

  it('keep what it can of odd labels and still open the incident', async () => {
    const many: Record<string, string> = { alertname: '', __meta: 'x', 'bad key': 'y', node: 'worker-2', a_long: 'v'.repeat(500) };
    for (let i = 0; i < 40; i++) many[`l${String(i).padStart(2, '0')}`] = String(i);
    const odd = { ...crashLoop, labels: many, annotations: {}, fingerprint: 'ffff000011112222' };
    const [o] = await applyNotification(store, group([odd]));
    expect(o!.action).toBe('created');
    const inc = (await store.get(o!.incident!))!;
    expect(inc.title).toBe('alert');
    expect(inc.target).toBe('node/worker-2');
    expect(inc.namespace).toBeNull();
    expect(inc.affected_resources).toEqual(['node/worker-2']);
    expect(Object.keys(inc.labels)).toHaveLength(32);
    expect(inc.labels.a_long!.length).toBeLessThanOrEqual(256);
    expect(inc.labels).not.toHaveProperty('bad key');
  });
});

describe("docs/alertmanager.md's mapping", () => {
  const doc = readFileSync(join(ROOT, 'docs/alertmanager.md'), 'utf8');
  const mapping = doc.slice(doc.indexOf('# Alerts become incidents'), doc.indexOf('- An alert is known by its'));

  it('names every severity word as the code maps it', () => {
    const stated = [...mapping.matchAll(/((?:`\w+`\/?)+) → (critical|high|medium|low)/g)];
    expect(stated.length).toBe(3);
    for (const [, words, to] of stated) for (const w of words!.match(/\w+/g)!) expect([w, severityOf(w)]).toEqual([w, to]);
    expect(mapping).toMatch(/anything else, `warning` or no label → medium/);
    expect([severityOf('warning'), severityOf(undefined), severityOf('whatever'), severityOf('EMERGENCY')]).toEqual(['medium', 'medium', 'medium', 'critical']);
  });

  it('names every resource label and target the code reads', () => {
    const listed = /affected resources\s+`<label>\/<value>` from the ([^;]+) labels;/.exec(mapping)![1]!.match(/`(\w+)`/g)!.map((w) => w.slice(1, -1));
    const labels = Object.fromEntries(listed.map((k) => [k, 'x']));
    const inc = incidentFrom({ ...crashLoop, labels: { alertname: 'A', ...labels } }, group([]));
    expect(inc.affected_resources!.map((r) => r.split('/')[0]).sort()).toEqual(listed.map((k) => (k === 'job_name' ? 'job' : k)).sort());
    expect([...listed].sort()).toEqual([...RESOURCE_LABELS].sort());
    const target = (l: Record<string, string>) => incidentFrom({ ...crashLoop, labels: { alertname: 'A', ...l } }, group([])).target;
    expect([target({ node: 'n', instance: 'i:9100', job: 'j' }), target({ instance: 'i:9100', job: 'j' }), target({ job: 'j' }), target({})]).toEqual(['node/n', 'instance/i:9100', 'job/j', 'cluster/all']);
    expect(mapping).toContain('`node/<node>`, `instance/<instance>`, `job/<job>` or `cluster/all`');
  });
});

describe('examples/alertmanager', () => {
  const read = (f: string) => readFileSync(join(ROOT, 'examples', f), 'utf8');
  const config = parse(read('alertmanager/alertmanager.yml')) as Record<string, any>;
  const secret = parse(read('alertmanager/token-secret.yaml')) as Record<string, any>;
  const cmc = parse(read('alertmanager/cluster-monitoring-config.yaml')) as Record<string, any>;

  it('mounts a one-token Secret of its own in Alertmanager\'s namespace, where the receiver reads it', () => {
    expect(secret).toMatchObject({ kind: 'Secret', metadata: { namespace: 'openshift-monitoring' } });
    expect(Object.keys(secret.stringData)).toEqual(['token']);
    expect(secret.stringData.token).not.toMatch(/\n./); // one token, not the server's list
    expect(cmc).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'cluster-monitoring-config', namespace: 'openshift-monitoring' } });
    expect((parse(cmc.data['config.yaml']) as Record<string, any>).alertmanagerMain.secrets).toContain(secret.metadata.name);
    const hook = config.receivers.find((r: Record<string, any>) => r.name === 'prom-incident-mcp').webhook_configs[0];
    // the Cluster Monitoring Operator (and prometheus-operator) mount spec secrets at /etc/alertmanager/secrets/<name>/
    expect(hook.http_config.authorization.credentials_file).toBe(`/etc/alertmanager/secrets/${secret.metadata.name}/token`);
    expect(hook).toMatchObject({ send_resolved: true, max_alerts: expect.any(Number) });
  });

  it('sends to the Service of examples/kubernetes', () => {
    const docs = parseAllDocuments(read('kubernetes/service.yaml')).map((d) => d.toJS() as Record<string, any>);
    const svc = docs.find((d) => d.kind === 'Service')!;
    const hook = config.receivers.find((r: Record<string, any>) => r.name === 'prom-incident-mcp').webhook_configs[0];
    expect(hook.url).toBe(`http://${svc.metadata.name}.${svc.metadata.namespace}.svc:${svc.spec.ports[0].port}/alertmanager`);
  });

  it('is a configuration Alertmanager accepts', () => {
    let amtool = true;
    try {
      execFileSync('sh', ['-c', 'command -v amtool'], { stdio: 'ignore' });
    } catch {
      amtool = false; // installed with prometheus-alertmanager, which the e2e tests need anyway
    }
    if (amtool) expect(execFileSync('amtool', ['check-config', join(ROOT, 'examples/alertmanager/alertmanager.yml')]).toString()).toMatch(/SUCCESS/);
  });
});
