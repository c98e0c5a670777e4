// build_features through a real MCP client, over stdio and HTTP, checked against values the
// fixture world defines.
import { createServer } from 'node:http';
import { describe, expect, inject, it } from 'vitest';
import {
  NODES,
  cpuRate,
  cpuRate5m,
  makeWorld,
  memory,
  nodeCondition,
  podByName,
  pvcs,
  restartTimes,
  type Pod,
} from '../../tools/fixture/world.js';
import { call, connectStdio, serverForSuite, tempDir, text } from '../helpers/server.js';

type S = Record<string, any>;
const url = inject('prometheusUrl');
const w = makeWorld(inject('fixtureNow'));
// between two sample minutes, where Prometheus 2.x and 3.x windows agree (see cpuRate5m)
const T = w.now - 30;
const iso = new Date(T * 1000).toISOString();

const exists = (p: Pod) => p.created <= T;
const running = (ps: Pod[]) => ps.filter((p) => p.runs && exists(p));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** avg_over_time(...[5m]) of a gauge at T: the samples inside the window */
const mean5m = (f: (t: number) => number) => {
  const ts = [T - 270, T - 210, T - 150, T - 90, T - 30];
  return sum(ts.map(f)) / ts.length;
};
const restartsIn = (ps: Pod[], seconds: number) => sum(ps.map((p) => restartTimes(w, p).filter((r) => r > T - seconds && r <= T).length));

function expected(ps: Pod[]) {
  const run = running(ps);
  const all = ps.filter(exists);
  const nodes = new Set(all.map((p) => p.node));
  return {
    pod_count: all.length,
    node_count: nodes.size,
    cpu_utilization: sum(run.map((p) => cpuRate5m(w, p, T))) / sum(run.map((p) => p.deployment.limits.cpu)),
    memory_utilization: sum(run.map((p) => mean5m((t) => memory(w, p, t)))) / sum(run.map((p) => p.deployment.limits.memory)),
    network_bytes_in: sum(run.map((p) => 50_000 + 400_000 * cpuRate5m(w, p, T))),
    restarts_24h: restartsIn(all, 86_400),
    restarts_7d: restartsIn(all, 7 * 86_400),
    oom_kill_count: all.some((p) => p.name === w.events.oom.pod) && w.events.oom.time > T - 86_400 ? 1 : 0,
    node_memory_pressure: [...nodes].filter((n) => nodeCondition(w, n, 'MemoryPressure', T)).length,
    pods_not_running: all.filter((p) => !p.runs).length,
    image_pull_failures: all.filter((p) => !p.runs).length,
    avg_pod_cpu_request: sum(all.map((p) => p.deployment.requests.cpu)) / all.length,
    avg_pod_memory_limit: sum(all.map((p) => p.deployment.limits.memory)) / all.length,
    request_to_limit_ratio:
      (sum(all.map((p) => p.deployment.requests.cpu)) / sum(all.map((p) => p.deployment.limits.cpu)) +
        sum(all.map((p) => p.deployment.requests.memory)) / sum(all.map((p) => p.deployment.limits.memory))) /
      2,
  };
}

function check(s: S, want: Record<string, number>) {
  const flat: Record<string, unknown> = Object.assign({}, ...Object.values(s.features as Record<string, object>));
  for (const [k, v] of Object.entries(want)) {
    expect(flat[k], k).not.toBeNull();
    const got = flat[k] as number;
    expect(Math.abs(got - v), `${k}: ${got} vs ${v}`).toBeLessThanOrEqual(Math.max(1e-4, Math.abs(v) * 1e-5));
  }
}

for (const transport of ['stdio', 'http'] as const) {
  describe(`build_features over ${transport}`, () => {
    const tool = serverForSuite(transport, { PROMETHEUS_URL: url });
    const build = (args: Record<string, unknown>) => tool('build_features', { time: iso, ...args });

    it('describes a namespace with the fixture values', async () => {
      const { r, s, t } = await build({ scope: 'namespace', namespace: 'payments' });
      expect(r.isError, t).toBeFalsy();
      expect(s).toMatchObject({ time: iso, timezone: 'UTC', total: 45, scope: { kind: 'namespace', namespace: 'payments', name: null } });
      check(s, expected(w.pods.filter((p) => p.namespace === 'payments')));
      const ledger = pvcs(w).find((v) => v.name === 'ledger-data')!;
      expect(s.features.resource_utilization.pvc_utilization).toBeCloseTo(ledger.used(T - 30) / ledger.capacity, 6);
      expect(s.features.platform_health).toMatchObject({ operators_not_ready: 1, pvcs_bound: 1, services_healthy: 1, ingress_healthy: 1, node_disk_pressure: 0 });
      expect(s.features.metadata).toMatchObject({ namespace: 'payments', deployment_method: 'Helm', layer: 'Application', issue_type: 'node_pressure' });
      expect(s.features.metadata.time_since_last_restart).toBeCloseTo(T - w.start, 0);
      const hour = new Date(T * 1000).getUTCHours() + new Date(T * 1000).getUTCMinutes() / 60;
      expect(s.features.metadata.time_of_day).toBeCloseTo(hour, 1);
      expect(s.real).toBe(45);
      expect(s.degraded).toBe(false);
      expect(s.vector).toHaveLength(45);
      expect(s.names[0]).toBe('cpu_utilization');
      expect(s.vector[0]).toBeCloseTo(s.features.resource_utilization.cpu_utilization, 6);
      expect(s.units.network_bytes_in).toBe('bytes/s');
      expect(s.next).toMatchObject({ tool: 'detect_anomaly', arguments: { range: '3d' } });
      expect(t).toMatch(/^namespace payments at .* \(UTC\): 45\/45 features real\./);
    });

    it('shows the OOM kill and HPA scaling of a deployment', async () => {
      const { s } = await build({ scope: 'deployment', namespace: 'web', name: 'api-gateway' });
      const pods = w.pods.filter((p) => p.deployment.name === 'api-gateway');
      check(s, expected(pods));
      expect(s.features.workload).toMatchObject({ oom_kill_count: 1, hpa_scaling_events: 2, image_pull_failures: 0 });
      expect(s.features.metadata).toMatchObject({ issue_type: 'oom', deployment_method: 'ArgoCD' });
      // no claim is mounted: null with a reason, not 0
      expect(s.features.resource_utilization.pvc_utilization).toBeNull();
      expect(s.nulls.pvc_utilization).toBe('no_data');
    });

    it('shows the restart storm of a pod and the spike in the 24h max', async () => {
      const storm = podByName(w, w.events.storm.pod);
      const a = (await build({ scope: 'pod', namespace: 'batch', name: storm.name })).s;
      check(a, expected([storm]));
      expect(a.features.history.restarts_24h).toBe(12);
      expect(a.features.metadata).toMatchObject({ issue_type: 'crashloop', deployment_method: 'Manual' });
      expect(a.features.resource_utilization.pvc_utilization).toBe(0.25);
      expect(a.features.platform_health.ingress_healthy).toBeNull(); // no OpenShift route in batch
      const spike = podByName(w, w.events.spike.pod);
      const b = (await build({ scope: 'pod', namespace: 'payments', name: spike.name })).s;
      const slotRate = cpuRate(w, spike, w.events.spike.start);
      expect(b.features.history.cpu_24h_max).toBeCloseTo(slotRate / spike.deployment.limits.cpu, 5);
      expect(b.features.history.memory_24h_max).toBeGreaterThan(2 * b.features.history.memory_24h_avg);
    });

    it('describes the whole cluster', async () => {
      const { s } = await build({ scope: 'cluster' });
      const e = expected(w.pods);
      check(s, { pod_count: e.pod_count, restarts_24h: e.restarts_24h, restarts_7d: e.restarts_7d, pods_not_running: 1, image_pull_failures: 1, oom_kill_count: 1 });
      expect(s.features.resource_utilization.node_count).toBe(NODES.length);
      expect(s.features.resource_utilization.cpu_utilization).toBeCloseTo(
        sum(running(w.pods).map((p) => cpuRate5m(w, p, T))) / sum(NODES.map((n) => n.cores - 0.5)),
        4,
      );
      expect(s.features.platform_health).toMatchObject({ node_memory_pressure: 1, pvcs_bound: Number((2 / 3).toPrecision(6)) });
      expect(s.nulls).toMatchObject({ namespace: 'not_applicable', layer: 'not_applicable' });
      expect(s.real).toBe(43);
    });

    it('rejects names that could change a query, and says what it needs', async () => {
      const inj = await build({ scope: 'namespace', namespace: 'prod"} or vector(1) #' });
      expect(inj.r.isError).toBe(true);
      expect(inj.t).toMatch(/- namespace: must be a Kubernetes namespace name/);
      const missing = await build({ scope: 'pod', namespace: 'web' });
      expect(missing.t).toMatch(/- name: is required with scope "pod"/);
      const tz = await build({ scope: 'cluster', timezone: 'Mars/Olympus' });
      expect(tz.t).toMatch(/- timezone: must be an IANA time zone/);
    });

    it('warns about a scope with no pods instead of inventing numbers', async () => {
      const { s, t } = await build({ scope: 'namespace', namespace: 'no-such-ns' });
      expect(s.features.resource_utilization.pod_count).toBeNull();
      expect(s.warnings[0]).toMatch(/no pods found for namespace no-such-ns/);
      expect(t).toMatch(/warning: no pods found/);
    });
  });
}

describe('build_features when Prometheus is down or slow', () => {
  it('answers within the timeout with the metadata features and a clear error', async () => {
    const hang = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    const dir = tempDir();
    const c = await connectStdio({ DATA_DIR: dir.path, PROMETHEUS_URL: `http://127.0.0.1:${(hang.address() as { port: number }).port}`, PROMETHEUS_TIMEOUT: '1s' });
    const started = Date.now();
    const r = await call(c.client, 'build_features', { scope: 'namespace', namespace: 'payments' });
    const elapsed = Date.now() - started;
    const s = r.structuredContent as S;
    expect(r.isError).toBeFalsy();
    expect(elapsed).toBeLessThan(3000);
    expect(s.errors[0]).toMatch(/did not answer within 1s \(PROMETHEUS_TIMEOUT\)/);
    expect(s.degraded).toBe(true);
    expect(s.features.metadata).toMatchObject({ namespace: 'payments', layer: 'Application' });
    expect(typeof s.features.metadata.time_of_day).toBe('number');
    expect(s.features.resource_utilization.cpu_utilization).toBeNull();
    expect(text(r)).toMatch(/error: Prometheus at .* did not answer within 1s/);
    await c.close();
    hang.closeAllConnections();
    hang.close();
    dir.cleanup();
  });
});
