// Alertmanager notifications (bodies as Alertmanager 0.25 sends them) against a real store.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyNotification, incidentFrom, severityOf, type Alert, type WebhookPayload } from '../../src/alerts/alertmanager.js';
import { FileIncidentStore } from '../../src/incidents/file-store.js';
import { createLogger } from '../../src/log.js';
import { tempDir } from '../helpers/server.js';

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
      dedup_key: 'alertmanager/231c6bb8d7e611f4',
    });
    expect(inc.description).toContain('Pod batch/report-worker is in waiting state');
    expect(inc.description).toContain('Runbook: https://runbooks.prometheus-operator.dev/');
    expect(inc.labels).toMatchObject({ source: 'alertmanager', alert_fingerprint: '231c6bb8d7e611f4', alertname: 'KubePodCrashLooping', container: 'report-worker', severity: 'warning' });
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

  it('update the incident when the alert changes severity, and resolve it when it ends', async () => {
    const [created] = await applyNotification(store, group([crashLoop]));
    const critical = { ...crashLoop, labels: { ...crashLoop.labels, severity: 'critical' } };
    expect((await applyNotification(store, group([critical])))[0]).toMatchObject({ action: 'updated', incident: created!.incident });
    expect((await store.get(created!.incident!))!.severity).toBe('critical');
    const ended = { ...crashLoop, status: 'resolved' as const, endsAt: '2026-11-23T09:20:00Z' };
    // Alertmanager sends resolved alerts inside a group that may still be firing
    const [resolved] = await applyNotification(store, group([ended]));
    expect(resolved).toMatchObject({ action: 'resolved', incident: created!.incident });
    const inc = (await store.get(created!.incident!))!;
    expect(inc.status).toBe('resolved');
    expect(inc.timeline.at(-1)).toMatchObject({ by: 'alertmanager', event: 'note' });
    // a repeated resolved notification finds nothing open; a new firing opens a new incident
    expect((await applyNotification(store, group([ended], 'resolved')))[0]!.action).toBe('not_found');
    const refired = (await applyNotification(store, group([crashLoop])))[0]!;
    expect(refired.action).toBe('created');
    expect(refired.incident).not.toBe(created!.incident);
  });

  it('open the incident even for huge or odd annotations', async () => {
    const big = { ...crashLoop, fingerprint: 'aaaabbbbccccdddd', annotations: { description: `x\u0000${'d'.repeat(60_000)}`, summary: 's' } };
    const [o] = await applyNotification(store, group([big]));
    expect(o!.action).toBe('created');
  });

  it('resolve only the incident their fingerprint opened, whatever labels an agent edited', async () => {
    const [b] = await applyNotification(store, group([other]));
    const [a] = await applyNotification(store, group([crashLoop])); // newest, so listed first
    // an agent copies the other alert's fingerprint label onto incident a
    await store.update(a!.incident!, { labels: { alert_fingerprint: other.fingerprint } }, 'agent');
    const [r] = await applyNotification(store, group([{ ...other, status: 'resolved' as const, endsAt: '2026-11-23T09:30:00Z' }]));
    expect(r).toMatchObject({ action: 'resolved', incident: b!.incident });
    expect((await store.get(a!.incident!))!.status).toBe('active');
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
