// A real Alertmanager sends its webhook to the server: one incident per alert of a grouped
// notification, repeats update rather than multiply, resolved notifications resolve.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertKey as labelsKey, labelsFingerprint } from '../../src/alerts/alertmanager.js';
import { startAlertmanager, type TestAlert, type TestAlertmanager } from '../../tools/test-alertmanager.js';
import { call, connectHttp, startHttpServer, tempDir, type Connected, type HttpServer } from '../helpers/server.js';

type S = Record<string, any>;
const TOKEN = 'alert-webhook-test-token-0123456789';

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const now = new Date().toISOString();
const crash = (pod: string, severity = 'warning'): TestAlert => ({
  labels: { alertname: 'KubePodCrashLooping', namespace: 'batch', pod, severity, container: 'worker' },
  annotations: { summary: 'Pod is crash looping.', description: `Pod batch/${pod} is in waiting state (reason: CrashLoopBackOff).` },
  startsAt: now,
  generatorURL: 'http://prometheus:9090/graph?g0.expr=kube_pod_container_status_waiting_reason',
});

describe('Alertmanager webhook', () => {
  const dir = tempDir();
  let server: HttpServer;
  let am: TestAlertmanager;
  let mcp: Connected;
  const pressure: TestAlert = {
    labels: { alertname: 'KubeNodeMemoryPressure', node: 'worker-2', severity: 'critical' },
    annotations: { summary: 'Node has memory pressure.' },
    startsAt: now,
  };
  const fromAlertmanager = async () =>
    (await call(mcp.client, 'list_incidents', { status: 'all', labels: { source: 'alertmanager' }, limit: 100 })).structuredContent as S;

  beforeAll(async () => {
    server = await startHttpServer({ DATA_DIR: dir.path, MCP_AUTH_TOKEN: TOKEN });
    am = await startAlertmanager({ webhookUrl: server.url.replace('/mcp', '/alertmanager'), token: TOKEN, repeatInterval: '2s' });
    mcp = await connectHttp(server.url, { authorization: `Bearer ${TOKEN}` });
  });
  afterAll(async () => {
    await mcp?.close();
    await am?.stop();
    await server?.stop();
    dir.cleanup();
  });

  it('turns each alert of grouped notifications into exactly one incident', async () => {
    await am.post([crash('report-worker-9a7b6c5d4-x7k2p'), crash('report-worker-9a7b6c5d4-b9q4m'), pressure]);
    const list = await until('3 incidents', async () => {
      const l = await fromAlertmanager();
      return l.total === 3 ? l : undefined;
    });
    const byTitle = Object.fromEntries(list.incidents.map((i: S) => [i.affected_resources[0], i]));
    expect(byTitle['pod/report-worker-9a7b6c5d4-x7k2p']).toMatchObject({
      title: 'KubePodCrashLooping: Pod is crash looping.',
      severity: 'medium',
      target: 'batch',
      namespace: 'batch',
      status: 'active',
      labels: { alertname: 'KubePodCrashLooping', source: 'alertmanager', container: 'worker' },
    });
    expect(byTitle['node/worker-2']).toMatchObject({ severity: 'critical', target: 'node/worker-2', namespace: null });
    const full = (await call(mcp.client, 'get_incident', { id: byTitle['node/worker-2'].id })).structuredContent as S;
    expect(full.incident.evidence[0].data.fingerprint).toBe(byTitle['node/worker-2'].labels.alert_fingerprint);
    // what the server computes for an alert sent without a fingerprint is what Alertmanager sends
    expect(full.incident.evidence[0].data.fingerprint).toBe(labelsFingerprint(pressure.labels));
  });

  it('keeps one incident per alert while Alertmanager repeats its notifications', async () => {
    const metrics = async () => (await fetch(server.url.replace('/mcp', '/metrics'))).text();
    await until('a repeated notification', async () => (/alertmanager_alerts_total\{action="unchanged"\} [1-9]/.test(await metrics()) ? true : undefined));
    expect((await fromAlertmanager()).total).toBe(3);
  });

  it('resolves the incident when the alert is resolved', async () => {
    await am.post([{ ...crash('report-worker-9a7b6c5d4-b9q4m'), endsAt: new Date().toISOString() }]);
    const resolved = await until('the resolved incident', async () => {
      const l = await fromAlertmanager();
      return l.incidents.find((i: S) => i.status === 'resolved');
    });
    expect(resolved.affected_resources).toEqual(['pod/report-worker-9a7b6c5d4-b9q4m']);
    expect(resolved.resolved_at).not.toBeNull();
    const active = await call(mcp.client, 'list_incidents', { labels: { source: 'alertmanager' } });
    expect((active.structuredContent as S).total).toBe(2);
  });

  it('updates the incident when the alert escalates from warning to critical, and resolves it by the same key', async () => {
    const pod = 'report-worker-9a7b6c5d4-esc01';
    await am.post([crash(pod)]);
    const opened = await until('the warning incident', async () => (await fromAlertmanager()).incidents.find((i: S) => i.affected_resources[0] === `pod/${pod}`));
    expect(opened.severity).toBe('medium');
    // Prometheus now sends the same alert with severity critical (Alertmanager gives it a new fingerprint)
    await am.post([crash(pod, 'critical')]);
    const escalated = await until('the escalation', async () => {
      const l = await fromAlertmanager();
      const mine = l.incidents.filter((i: S) => i.affected_resources[0] === `pod/${pod}`);
      return mine.length === 1 && mine[0].severity === 'critical' ? mine[0] : undefined;
    });
    expect(escalated.id).toBe(opened.id);
    expect(escalated.labels.severity).toBe('critical');
    expect(escalated.labels.alert_fingerprint).not.toBe(opened.labels.alert_fingerprint);
    const full = (await call(mcp.client, 'get_incident', { id: opened.id })).structuredContent as S;
    expect(full.incident.timeline).toContainEqual(expect.objectContaining({ event: 'severity', from: 'medium', to: 'critical', by: 'alertmanager' }));
    // both the warning and the critical alert end: the incident is resolved
    const ended = new Date().toISOString();
    await am.post([{ ...crash(pod), endsAt: ended }, { ...crash(pod, 'critical'), endsAt: ended }]);
    const resolved = await until('the resolution', async () => {
      const got = (await call(mcp.client, 'get_incident', { id: opened.id })).structuredContent as S;
      return got.incident.status === 'resolved' ? got.incident : undefined;
    });
    expect(resolved.resolved_at).not.toBeNull();
    const all = (await fromAlertmanager()).incidents.filter((i: S) => i.affected_resources[0] === `pod/${pod}`);
    expect(all).toHaveLength(1);
  });

  // KubePodCrashLooping as kube-state-metrics and kube-prometheus deliver it: far more labels than the prompt's arguments
  const ksm = (pod: string): TestAlert => ({
    labels: {
      alertname: 'KubePodCrashLooping', namespace: 'batch', pod, container: 'report-worker', severity: 'warning', reason: 'CrashLoopBackOff',
      job: 'kube-state-metrics', instance: '10.128.2.15:8443', endpoint: 'https-main', service: 'kube-state-metrics',
      uid: '6f1c2a9e-3b7d-4c1e-9a52-0d8e4f7b1c23', prometheus: 'openshift-monitoring/k8s',
    },
    annotations: { summary: 'Pod is crash looping.' },
    startsAt: now,
  });
  const triageText = async (args: Record<string, string>) =>
    ((await mcp.client.getPrompt({ name: 'triage_alert', arguments: args })).messages[0]!.content as { text: string }).text;
  /** what the prompt's create_incident step asks for, as an agent reads it off the text */
  const askedToCreate = (said: string) => JSON.parse(/create_incident (\{.*\}) plus/.exec(said)![1]!) as S;

  it('gives an alert the same dedup_key when an agent triages it with its labels, so the two make one incident', async () => {
    const alert = ksm('report-worker-9a7b6c5d4-tri01');
    await am.post([alert]);
    const opened = await until('the crash-loop incident', async () => (await fromAlertmanager()).incidents.find((i: S) => i.labels.pod === alert.labels.pod));
    const { labels } = alert;
    // the incident list step finds it, labels argument or not...
    const listed = (await call(mcp.client, 'list_incidents', { status: 'active', namespace: 'batch', labels: { alertname: labels.alertname, pod: labels.pod } })).structuredContent as S;
    expect(listed.incidents.map((i: S) => i.id)).toEqual([opened.id]);
    // ...and an agent that creates anyway, with the key the prompt gives for all the labels, gets the same incident
    const asked = askedToCreate(await triageText({ alertname: labels.alertname!, namespace: labels.namespace!, pod: labels.pod!, labels: JSON.stringify(labels) }));
    const created = (await call(mcp.client, 'create_incident', { ...asked, title: 'KubePodCrashLooping: batch', description: 'restarts', severity: 'high' })).structuredContent as S;
    expect(created).toMatchObject({ deduplicated: true, incident: { id: opened.id } });
  });

  it('adopts the incident an agent opened from the triage prompt without the labels, when the alert then arrives', async () => {
    const alert = ksm('report-worker-9a7b6c5d4-tri02');
    const asked = askedToCreate(await triageText({ alertname: 'KubePodCrashLooping', namespace: 'batch', pod: alert.labels.pod! }));
    const mine = ((await call(mcp.client, 'create_incident', { ...asked, title: 'KubePodCrashLooping: batch', description: 'restarts every 5m', severity: 'high' })).structuredContent as S).incident;
    await am.post([alert]);
    const adopted = await until('the adoption', async () => {
      const got = ((await call(mcp.client, 'get_incident', { id: mine.id })).structuredContent as S).incident;
      return got.labels.alert_firing ? got : undefined;
    });
    expect(adopted.labels).toMatchObject({ source: 'alert-triage', alert_key: labelsKey(alert.labels), severity: 'warning' });
    expect(adopted.severity).toBe('high');
    expect((await fromAlertmanager()).incidents.filter((i: S) => i.labels.pod === alert.labels.pod)).toEqual([]);
    // the resolved notification finds it by the key it now has
    await am.post([{ ...alert, endsAt: new Date().toISOString() }]);
    await until('the resolution', async () => (((await call(mcp.client, 'get_incident', { id: mine.id })).structuredContent as S).incident.status === 'resolved' ? true : undefined));
    const all = (await call(mcp.client, 'list_incidents', { status: 'all', namespace: 'batch', labels: { pod: alert.labels.pod! } })).structuredContent as S;
    expect(all.total).toBe(1);
  });

  it('refuses notifications without the token, and bodies that are not notifications', async () => {
    const url = server.url.replace('/mcp', '/alertmanager');
    const anonymous = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    const junk = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: '{"alerts":"no"}' });
    expect(junk.status).toBe(400);
    expect(((await junk.json()) as { error: string }).error).toMatch(/not an Alertmanager webhook notification/);
  });
});

describe('Alertmanager webhook, one version of an alert a notification', () => {
  it("keeps one incident when the versions at two severities come in separate notifications (group_by '...'), open while either fires", async () => {
    // a server of its own, so the repeats counted are this Alertmanager's
    const own = tempDir();
    const server = await startHttpServer({ DATA_DIR: own.path, MCP_AUTH_TOKEN: TOKEN });
    const separate = await startAlertmanager({ webhookUrl: server.url.replace('/mcp', '/alertmanager'), token: TOKEN, groupBy: ['...'], repeatInterval: '2s' });
    const mcp = await connectHttp(server.url, { authorization: `Bearer ${TOKEN}` });
    const fromAlertmanager = async () => (await call(mcp.client, 'list_incidents', { status: 'all', labels: { source: 'alertmanager' }, limit: 100 })).structuredContent as S;
    try {
      const pod = 'report-worker-9a7b6c5d4-split1';
      const unchanged = async () => Number(/alertmanager_alerts_total\{action="unchanged"\} (\d+)/.exec(await (await fetch(server.url.replace('/mcp', '/metrics'))).text())?.[1] ?? 0);
      await separate.post([crash(pod), crash(pod, 'critical')]);
      const mine = async () => (await fromAlertmanager()).incidents.filter((i: S) => i.affected_resources[0] === `pod/${pod}`);
      const opened = await until('the critical incident', async () => {
        const m = await mine();
        return m.length === 1 && m[0].severity === 'critical' ? m[0] : undefined;
      });
      // several repeats of each version, each in its own notification
      const before = await unchanged();
      await until('repeats', async () => ((await unchanged()) >= before + 4 ? true : undefined));
      const full = ((await call(mcp.client, 'get_incident', { id: opened.id })).structuredContent as S).incident;
      expect(full.severity).toBe('critical');
      expect(full.timeline.length).toBeLessThanOrEqual(4); // created, at most one escalation: no flip-flop
      expect(Object.keys(JSON.parse(full.labels.alert_firing)).sort()).toEqual(['critical', 'warning']);
      // the critical version ends, the warning one still fires: open, at the warning's severity
      await separate.post([{ ...crash(pod, 'critical'), endsAt: new Date().toISOString() }]);
      const calmer = await until('the critical version to end', async () => {
        const m = await mine();
        return m.length === 1 && m[0].severity === 'medium' ? m[0] : undefined;
      });
      expect(calmer).toMatchObject({ id: opened.id, status: 'active' });
      // the warning keeps repeating into the same incident, then ends: resolved
      const after = await unchanged();
      await until('a warning repeat', async () => ((await unchanged()) > after ? true : undefined));
      expect((await mine()).map((i: S) => [i.id, i.status])).toEqual([[opened.id, 'active']]);
      await separate.post([{ ...crash(pod), endsAt: new Date().toISOString() }]);
      await until('the resolution', async () => ((await mine())[0]?.status === 'resolved' ? true : undefined));
      expect(await mine()).toHaveLength(1);
    } finally {
      await mcp.close();
      await separate.stop();
      await server.stop();
      own.cleanup();
    }
  }, 60_000);
});
