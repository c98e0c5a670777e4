// build_features through a real MCP client, over stdio and HTTP, checked against values the
// fixture world defines.
import { createServer, type Server } from 'node:http';
import { describe, expect, inject, it } from 'vitest';
import {
  HPA,
  NODES,
  cpuRate,
  hpaDesired,
  lastTerminatedReason,
  makeWorld,
  memory,
  nodeCondition,
  nodeFs,
  podByName,
  podExists,
  podRx,
  podTx,
  pvcs,
  restartTimes,
  restartsAt,
  waitingReason,
  type Pod,
} from '../../tools/fixture/world.js';
import { sampleTimes } from '../../tools/fixture/openmetrics.js';
import { call, connectStdio, serverForSuite, tempDir, text } from '../helpers/server.js';
import { UpstreamRejectedError } from '../../src/errors.js';
import { buildFeatures, deploymentReplicaSets, lostReplicaSetsQuery } from '../../src/features/builder.js';
import { ScopeSelectors, checkScope } from '../../src/features/scope.js';
import { createLogger } from '../../src/log.js';
import { PrometheusClient } from '../../src/prometheus/client.js';
import { plainSettings } from '../../src/prometheus/settings.js';
import { startFixturePrometheus } from '../../tools/test-prometheus.js';

type S = Record<string, any>;
const url = inject('prometheusUrl');
const w = makeWorld(inject('fixtureNow'));
// between two sample minutes, where Prometheus 2.x and 3.x windows agree
const T = w.now - 30;
const iso = (t: number) => new Date(t * 1000).toISOString();

// The 24h history is evaluated on a 5-minute grid, on sample minutes, where the versions differ:
// 2.x windows include the sample at their start, 3.x windows do not.
const buildinfo = (await (await fetch(`${url}/api/v1/status/buildinfo`)).json()) as { data: { version: string } };
const OPEN_START = Number(buildinfo.data.version.split('.')[0]) >= 3;

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const SAMPLES = sampleTimes(w);
/** The fixture's sample times inside a window of `range` seconds ending at `at`. */
function samplesIn(at: number, range: number): number[] {
  const first = SAMPLES.findIndex((t) => (OPEN_START ? t > at - range : t >= at - range));
  const out: number[] = [];
  for (let i = first; i >= 0 && i < SAMPLES.length && SAMPLES[i]! <= at; i++) out.push(SAMPLES[i]!);
  return out;
}
/**
 * rate(x[5m]) of a fixture counter growing at perSec(t) from each sample t to the next; the
 * extrapolation to the window's edges cancels out. null with fewer than two samples.
 */
const rate5m = (p: Pod, at: number, perSec: (t: number) => number): number | null => {
  const ts = samplesIn(at, 300).filter((t) => podExists(p, t));
  if (ts.length < 2) return null;
  return sum(ts.slice(0, -1).map((t, i) => perSec(t) * (ts[i + 1]! - t))) / (ts.at(-1)! - ts[0]!);
};
/** avg_over_time(x[5m]) of a gauge */
const mean5m = (p: Pod, at: number, f: (t: number) => number): number | null => {
  const ts = samplesIn(at, 300).filter((t) => podExists(p, t));
  return ts.length ? sum(ts.map(f)) / ts.length : null;
};
/** The latest sample time at or before t (what an instant selector reads). */
const lastSample = (t: number) => SAMPLES.filter((x) => x <= t).at(-1)!;
/** restarts - restarts offset 5m: counter samples, no extrapolation (pods with both samples) */
const restartsLast5m = (ps: Pod[], at: number) =>
  sum(ps.filter((p) => podExists(p, lastSample(at - 300)) && p.node !== '').map((p) => restartsAt(w, p, lastSample(at)) - restartsAt(w, p, lastSample(at - 300))));
const restartsIn = (ps: Pod[], at: number, seconds: number) => sum(ps.map((p) => restartTimes(w, p).filter((r) => r > at - seconds && r <= at).length));
const cpuOf = (p: Pod, at: number) => rate5m(p, at, (t) => cpuRate(w, p, t));
const memOf = (p: Pod, at: number) => mean5m(p, at, (t) => memory(w, p, t));
type Res = 'cpu' | 'memory';
const GiB = 1024 ** 3;

/**
 * What build_features should say about pods `ps` at `at`, from the fixture's own functions.
 * Namespace-like scopes measure against the limits of containers that have one; the cluster
 * against node allocatable. `history` adds the 24h range results.
 */
function expected(ps: Pod[], opts: { at?: number; cluster?: boolean; history?: boolean } = {}): Record<string, number | null> {
  const at = opts.at ?? T;
  const all = ps.filter((p) => podExists(p, at));
  const runningAt = (t: number) => ps.filter((p) => p.runs && podExists(p, t));
  const run = runningAt(at);
  const nodes = opts.cluster ? NODES.map((n) => n.name) : [...new Set(all.map((p) => p.node).filter((n) => n !== ''))];
  const limit = (p: Pod, r: Res) => p.deployment.limits[r];
  const allocatable = { cpu: sum(NODES.map((n) => n.cores - 0.5)), memory: sum(NODES.map((n) => n.memory - GiB)) };
  const use = { cpu: cpuOf, memory: memOf };
  /** use of the pods at t that have data (a rate needs two samples in its window), or null when none has */
  const total = (r: Res, pods: Pod[], t: number) => {
    const xs = pods.map((p) => use[r](p, t)).filter((x): x is number => x !== null);
    return xs.length ? sum(xs) : null;
  };
  /** the limited containers' use over all their limits (the cluster's over allocatable) */
  const utilization = (r: Res, t: number): number | null => {
    const pods = runningAt(t).filter((p) => opts.cluster || limit(p, r) !== null);
    const used = total(r, pods, t);
    return used === null ? null : used / (opts.cluster ? allocatable[r] : sum(pods.map((p) => limit(p, r)!)));
  };
  const trend = (r: Res, offset: number) => {
    const now = total(r, runningAt(at), at);
    const then = total(r, runningAt(at - offset), at - offset);
    return now === null || then === null ? null : (now - then) / then;
  };
  const perPod = (xs: number[]) => (xs.length ? sum(xs) / all.length : null);
  const reqToLim = (r: Res) => {
    const limited = all.filter((p) => limit(p, r) !== null);
    return limited.length ? sum(limited.map((p) => p.deployment.requests[r])) / sum(limited.map((p) => limit(p, r)!)) : null;
  };
  const ratios = [reqToLim('cpu'), reqToLim('memory')].filter((x): x is number => x !== null);
  const pressure = (c: string) => nodes.filter((n) => nodeCondition(w, n, c, at)).length;
  const day = samplesIn(at, 86_400);
  // pods on the host's network have no pod network series
  const net = run.filter((p) => !p.deployment.hostNetwork);
  const out: Record<string, number | null> = {
    cpu_utilization: utilization('cpu', at),
    memory_utilization: utilization('memory', at),
    disk_utilization: Math.max(...nodes.map((n) => 1 - nodeFs(n).avail / nodeFs(n).size)),
    network_bytes_in: net.length ? sum(net.map((p) => rate5m(p, at, (t) => podRx(w, p, t))!)) : null,
    network_bytes_out: net.length ? sum(net.map((p) => rate5m(p, at, (t) => podTx(w, p, t))!)) : null,
    container_restarts: restartsLast5m(all, at),
    pod_count: all.length,
    node_count: nodes.length,
    cpu_trend_5m: trend('cpu', 300),
    cpu_trend_1h: trend('cpu', 3600),
    memory_trend_5m: trend('memory', 300),
    memory_trend_1h: trend('memory', 3600),
    cpu_daily_change: trend('cpu', 86_400),
    memory_daily_change: trend('memory', 86_400),
    restarts_24h: restartsIn(all, at, 86_400),
    restarts_7d: restartsIn(all, at, 7 * 86_400),
    node_memory_pressure: pressure('MemoryPressure'),
    node_disk_pressure: pressure('DiskPressure'),
    node_pid_pressure: pressure('PIDPressure'),
    pods_not_running: all.filter((p) => !p.runs).length,
    avg_pod_memory_request: sum(all.map((p) => p.deployment.requests.memory)) / all.length,
    avg_pod_cpu_request: sum(all.map((p) => p.deployment.requests.cpu)) / all.length,
    avg_pod_memory_limit: perPod(all.flatMap((p) => limit(p, 'memory') ?? [])),
    avg_pod_cpu_limit: perPod(all.flatMap((p) => limit(p, 'cpu') ?? [])),
    request_to_limit_ratio: ratios.length ? sum(ratios) / ratios.length : null,
    // restarts in 24h after which the container's last termination was OOMKilled
    oom_kill_count: sum(all.map((p) => restartTimes(w, p).filter((r) => r > at - 86_400 && r <= at && lastTerminatedReason(w, p, r) === 'OOMKilled').length)),
    image_pull_failures: all.filter((p) => /ImagePull/.test(waitingReason(w, p, at) ?? '')).length,
  };
  // changes() of the one HPA's desired replicas over the day's samples, when the scope holds its target
  const targeted = opts.cluster || ps.some((p) => p.namespace === HPA.namespace && p.deployment.name === HPA.target);
  out.hpa_scaling_events = targeted ? day.slice(1).filter((t, i) => hpaDesired(t) !== hpaDesired(day[i]!)).length : 0;
  if (opts.history) {
    // the range query's grid: start and end floored to the 5-minute step
    const grid: number[] = [];
    for (let t = Math.floor((at - 86_400) / 300) * 300; t <= Math.floor(at / 300) * 300; t += 300) grid.push(t);
    for (const r of ['cpu', 'memory'] as const) {
      // a step without data is no point of the range result
      const xs = grid.map((t) => utilization(r, t)).filter((x): x is number => x !== null);
      out[`${r}_24h_avg`] = sum(xs) / xs.length;
      out[`${r}_24h_max`] = Math.max(...xs);
    }
  }
  return out;
}

function check(s: S, want: Record<string, number | null>) {
  const flat: Record<string, unknown> = Object.assign({}, ...Object.values(s.features as Record<string, object>));
  for (const [k, v] of Object.entries(want)) {
    if (v === null) {
      expect(flat[k], k).toBeNull();
      continue;
    }
    expect(flat[k], `${k} (${s.nulls[k]})`).not.toBeNull();
    const got = flat[k] as number;
    expect(Math.abs(got - v), `${k}: ${got} vs ${v}`).toBeLessThanOrEqual(Math.max(1e-4, Math.abs(v) * 1e-5));
  }
}

/**
 * A Prometheus in front of the fixture one that has never heard of some metric families (their
 * names are rewritten in every query), like a cluster without their exporter.
 */
async function withoutFamilies(prefixes: string[]): Promise<{ url: string; close(): void }> {
  const hide = (q: string) => q.replace(new RegExp(`(?<![\\w])(${prefixes.join('|')})`, 'g'), 'absent_$1');
  const srv: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const target = new URL(req.url!, url);
      const q = target.searchParams.get('query');
      if (q !== null) target.searchParams.set('query', hide(q));
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const fq = form.get('query');
      if (fq !== null) form.set('query', hide(fq));
      const body = req.method === 'POST' ? form.toString() : undefined;
      const headers = body ? { 'content-type': 'application/x-www-form-urlencoded' } : undefined;
      const up = await fetch(target, { method: req.method!, ...(headers ? { headers } : {}), ...(body !== undefined ? { body } : {}) });
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await up.arrayBuffer()));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(srv.address() as { port: number }).port}`,
    close: () => {
      srv.closeAllConnections();
      srv.close();
    },
  };
}

for (const transport of ['stdio', 'http'] as const) {
  describe(`build_features over ${transport}`, () => {
    const tool = serverForSuite(transport, { PROMETHEUS_URL: url });
    const build = (args: Record<string, unknown>, at = T) => tool('build_features', { time: iso(at), ...args });

    it('describes a namespace with the fixture values', async () => {
      const { r, s, t } = await build({ scope: 'namespace', namespace: 'payments' });
      expect(r.isError, t).toBeFalsy();
      expect(s).toMatchObject({ time: iso(T), timezone: 'UTC', total: 45, scope: { kind: 'namespace', namespace: 'payments', name: null } });
      check(s, expected(w.pods.filter((p) => p.namespace === 'payments'), { history: true }));
      const ledger = pvcs(w).find((v) => v.name === 'ledger-data')!;
      expect(s.features.resource_utilization.pvc_utilization).toBeCloseTo(ledger.used(T - 30) / ledger.capacity, 6);
      // worker-2 (MemoryPressure) runs a payments pod; its node-exporter is named by IP plus a node label
      expect(s.features.platform_health).toMatchObject({ node_memory_pressure: 1, operators_not_ready: 1, pvcs_bound: 1, services_healthy: 1, ingress_healthy: 1 });
      expect(s.features.resource_utilization.disk_utilization).toBe(1 - nodeFs('worker-2').avail / nodeFs('worker-2').size);
      expect(s.features.metadata).toMatchObject({ namespace: 'payments', deployment_method: 'Helm', layer: 'Application', issue_type: 'node_pressure' });
      expect(s.features.metadata.time_since_last_restart).toBeCloseTo(T - w.start, 0);
      const hour = new Date(T * 1000).getUTCHours() + new Date(T * 1000).getUTCMinutes() / 60;
      expect(s.features.metadata.time_of_day).toBeCloseTo(hour, 1);
      expect(s.real).toBe(45);
      expect(s.degraded).toBe(false);
      expect(s.warnings).toEqual([]);
      expect(s.vector).toHaveLength(45);
      expect(s.names[0]).toBe('cpu_utilization');
      expect(s.vector[0]).toBeCloseTo(s.features.resource_utilization.cpu_utilization, 6);
      expect(s.units.network_bytes_in).toBe('bytes/s');
      expect(s.next).toMatchObject({ tool: 'detect_anomaly', arguments: { range: '3d' } });
      expect(t).toMatch(/^namespace payments at .* \(UTC\): 45\/45 features real\./);
    });

    it('shows the OOM kill and HPA scaling of a deployment, found through the HPA\'s target', async () => {
      const { s } = await build({ scope: 'deployment', namespace: 'web', name: 'api-gateway' });
      const pods = w.pods.filter((p) => p.deployment.name === 'api-gateway');
      const want = expected(pods, { history: true });
      check(s, want);
      expect(want.hpa_scaling_events).toBeGreaterThan(0); // the HPA is named api-gateway-autoscaler
      expect(s.features.workload).toMatchObject({ oom_kill_count: 1, image_pull_failures: 0 });
      expect(s.features.metadata).toMatchObject({ issue_type: 'oom', deployment_method: 'ArgoCD' });
      // the OOM-killed pod: cAdvisor's OOM counter stayed 0, and of its 3 restarts in 24h only the last was an OOM kill
      const killed = podByName(w, w.events.oom.pod);
      const pod = (await build({ scope: 'pod', namespace: 'web', name: killed.name })).s;
      const wantPod = expected([killed]);
      expect(wantPod).toMatchObject({ oom_kill_count: 1, restarts_24h: 3 });
      check(pod, wantPod);
      expect(pod.features.metadata.issue_type).toBe('oom');
      // no claim is mounted: null as not applicable (not 0, and no gap that makes the vector degraded)
      expect(s.features.resource_utilization.pvc_utilization).toBeNull();
      expect(s.nulls).toMatchObject({ pvc_utilization: 'not_applicable', pvcs_bound: 'not_applicable' });
      expect(s.degraded).toBe(false);
      // no HPA targets frontend, while the HPA family exists: 0
      const frontend = (await build({ scope: 'deployment', namespace: 'web', name: 'frontend' })).s;
      check(frontend, expected(w.pods.filter((p) => p.deployment.name === 'frontend')));
      expect(frontend.features.workload.hpa_scaling_events).toBe(0);
    });

    it('shows the restart storm of a pod and the spike in the 24h max', async () => {
      const storm = podByName(w, w.events.storm.pod);
      const a = (await build({ scope: 'pod', namespace: 'batch', name: storm.name })).s;
      check(a, expected([storm], { history: true }));
      expect(a.features.history.restarts_24h).toBe(w.events.storm.restarts.length);
      expect(a.features.metadata).toMatchObject({ issue_type: 'crashloop', deployment_method: 'Manual' });
      expect(a.features.resource_utilization.pvc_utilization).toBe(0.25);
      expect(a.features.platform_health.ingress_healthy).toBeNull(); // no OpenShift route in batch
      // early in the storm, restarts seconds apart: 4 between the samples 5 minutes apart, which
      // increase()'s extrapolation over the window made 4.5, rounded to 5
      const during = w.events.storm.start + 270;
      const b = (await build({ scope: 'pod', namespace: 'batch', name: storm.name }, during)).s;
      const want = expected([storm], { at: during, history: true });
      expect(want.container_restarts).toBe(4);
      check(b, want);
      // later, one every 5 minutes or so
      const later = w.events.storm.restarts[8]! + 30;
      const c2 = (await build({ scope: 'pod', namespace: 'batch', name: storm.name }, later)).s;
      check(c2, expected([storm], { at: later }));
      const spike = podByName(w, w.events.spike.pod);
      const c = (await build({ scope: 'pod', namespace: 'payments', name: spike.name })).s;
      check(c, expected([spike], { history: true }));
      const slotRate = cpuRate(w, spike, w.events.spike.start);
      expect(c.features.history.cpu_24h_max).toBeCloseTo(slotRate / spike.deployment.limits.cpu!, 5);
      expect(c.features.history.memory_24h_max).toBeGreaterThan(2 * c.features.history.memory_24h_avg);
    });

    it('tells a deployment\'s pods and a pod\'s deployment by their owners, not their names', async () => {
      // node-exporter-x7k2p is named like a pod of a deployment "node"; it is a DaemonSet's
      const ds = w.pods.filter((p) => p.owner.kind === 'DaemonSet');
      expect(ds.map((p) => p.name)).toContain('node-exporter-x7k2p');
      const node = (await build({ scope: 'deployment', namespace: 'monitoring', name: 'node' })).s;
      expect(node.features.resource_utilization).toMatchObject({ pod_count: null, cpu_utilization: null, memory_utilization: null, node_count: null, network_bytes_in: null });
      expect(node.features.history).toMatchObject({ cpu_24h_max: null, restarts_24h: null });
      expect(node.features.workload).toMatchObject({ avg_pod_cpu_request: null, oom_kill_count: null });
      expect(node.warnings[0]).toMatch(/no pods found for deployment node in namespace monitoring/);
      const pod = ds[0]!;
      const a = (await build({ scope: 'pod', namespace: 'monitoring', name: pod.name })).s;
      // no deployment owns it: nothing to say about deployment labels or HPAs
      check(a, { ...expected([pod], { history: true }), hpa_scaling_events: null });
      expect(a.nulls).toMatchObject({ hpa_scaling_events: 'not_applicable', deployment_method: 'not_applicable' });
      expect(a.features.metadata.layer).toBe('Platform');
      const ns = (await build({ scope: 'namespace', namespace: 'monitoring' })).s;
      check(ns, expected(ds, { history: true }));
      // a ReplicaSet pod's deployment is still found, through its owners
      const gw = podByName(w, w.events.oom.pod);
      expect((await build({ scope: 'pod', namespace: 'web', name: gw.name })).s.features.metadata.deployment_method).toBe('ArgoCD');
    });

    it('describes the whole cluster, pods\' traffic without the hosts\'', async () => {
      const { s, t } = await build({ scope: 'cluster' });
      const e = expected(w.pods, { cluster: true, history: true });
      expect(e.node_memory_pressure).toBe(1);
      check(s, e);
      expect(s.features.resource_utilization.node_count).toBe(NODES.length);
      expect(s.features.platform_health).toMatchObject({ pvcs_bound: Number((2 / 3).toPrecision(6)) });
      expect(s.nulls).toMatchObject({ namespace: 'not_applicable', layer: 'not_applicable' });
      // what does not apply to a cluster does not make it degraded
      expect(s).toMatchObject({ real: 43, not_applicable: 2, degraded: false });
      expect(t).toMatch(/^cluster at .*: 43\/45 features real \(2 not applicable\)\.\n/);
    });

    it('counts only containers with limits against limits, and no node for an unscheduled pod', async () => {
      // two days ago batch briefly held notebook (CPU limit), proxy (none) and a notebook pod Pending unscheduled
      const at = w.sandbox.start + 1830;
      const ps = [...w.pods.filter((p) => p.namespace === 'batch'), ...w.sandbox.pods];
      const ns = (await build({ scope: 'namespace', namespace: 'batch' }, at)).s;
      const want = expected(ps, { at, history: true });
      expect(want).toMatchObject({ node_count: 2, pod_count: 4, pods_not_running: 1 });
      check(ns, want);
      expect(ns.features.resource_utilization.cpu_utilization).toBeLessThan(1);
      expect(ns.warnings).toEqual(['cpu_utilization covers only containers with a CPU limit: 1 running container has none']);
      const sandbox = (name: string) => w.sandbox.pods.filter((p) => p.deployment.name === name);
      const proxy = (await build({ scope: 'deployment', namespace: 'batch', name: 'proxy' }, at)).s;
      const wantProxy = expected(sandbox('proxy'), { at });
      expect(wantProxy).toMatchObject({ cpu_utilization: null, avg_pod_cpu_limit: null, request_to_limit_ratio: 0.5, cpu_trend_1h: null });
      check(proxy, wantProxy);
      expect(proxy.nulls).toMatchObject({ cpu_utilization: 'no_limits', cpu_24h_avg: 'no_limits', avg_pod_cpu_limit: 'no_limits', cpu_trend_1h: 'no_data' });
      expect(proxy.features.history.memory_24h_max).toBeLessThanOrEqual(1);
      const notebook = (await build({ scope: 'deployment', namespace: 'batch', name: 'notebook' }, at)).s;
      check(notebook, expected(sandbox('notebook'), { at }));
      expect(notebook.features.resource_utilization.node_count).toBe(1);
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

describe('a deployment\'s pods, by its ReplicaSets\' names or by owner joins', () => {
  it('gives the same vector either way, for every deployment of the fixture', async () => {
    const client = new PrometheusClient(plainSettings(url, { timeoutMs: 10_000, cacheTtlMs: 0 }), createLogger('silent'));
    const deployments = [...new Map(w.pods.filter((p) => p.owner.kind === 'ReplicaSet').map((p) => [`${p.namespace}/${p.deployment.name}`, p])).values()];
    let lookups = 0;
    const counted = new Proxy(client, {
      get: (c, k) => (k === 'series' ? (...a: Parameters<PrometheusClient['series']>) => (lookups++, c.series(...a)) : Reflect.get(c, k, c)),
    });
    // a Prometheus that refuses the series API (a proxy that allows only queries): owner joins
    const refusing = new Proxy(client, {
      get: (c, k) => (k === 'series' ? async () => Promise.reject(new UpstreamRejectedError('HTTP 403')) : Reflect.get(c, k, c)),
    });
    const opts = { time: T * 1000, timezone: 'UTC', businessHours: [9, 17] as [number, number] };
    expect(deployments.length).toBeGreaterThanOrEqual(5);
    try {
      for (const p of deployments) {
        const scope = checkScope('deployment', p.namespace, p.deployment.name);
        const replicaSets = await deploymentReplicaSets(client, scope, opts.time);
        expect(replicaSets, p.deployment.name).toContain(p.owner.name);
        expect(new ScopeSelectors(scope, replicaSets).byName, p.deployment.name).toBe(true);
        const byName = await buildFeatures(counted as PrometheusClient, scope, opts);
        const byOwner = await buildFeatures(refusing as PrometheusClient, scope, opts);
        expect(byName.errors, p.deployment.name).toEqual([]);
        expect(byOwner.errors, p.deployment.name).toEqual([]);
        expect(byName.vector, p.deployment.name).toEqual(byOwner.vector);
        expect(byName.nulls, p.deployment.name).toEqual(byOwner.nulls);
        expect(byName.real, p.deployment.name).toBeGreaterThan(30);
      }
      expect(lookups).toBe(deployments.length);
    } finally {
      await client.close();
    }
  });
});

describe('a deployment whose old ReplicaSet changed hands (orphaned, or adopted by an Argo Rollout)', () => {
  it('counts the old pods only for the time they were its own, by owner joins', async () => {
    // legacy/api: ReplicaSet api-5d8f7c9b4 was the deployment's until a day ago and runs on with no
    // owner (kubectl delete --cascade=orphan); its pod restarted 5 times two days ago, while it was
    // the deployment's. api-7c6b5d4f9 belongs to the recreated deployment since. legacy/web's
    // ReplicaSet was adopted by an Argo Rollout of the same name a day ago.
    const now = Math.floor(Date.now() / 60_000) * 60;
    const start = now - 3 * 86_400;
    const changed = now - 86_400;
    const restartAt = now - 2 * 86_400;
    const one = () => 1;
    const families: Record<string, { labels: string; from: number; to: number; v?: (t: number) => number }[]> = {
      kube_replicaset_owner: [
        { labels: 'replicaset="api-5d8f7c9b4",owner_kind="Deployment",owner_name="api",owner_is_controller="true"', from: start, to: changed - 60 },
        { labels: 'replicaset="api-5d8f7c9b4",owner_kind="<none>",owner_name="<none>",owner_is_controller="<none>"', from: changed, to: now },
        { labels: 'replicaset="api-7c6b5d4f9",owner_kind="Deployment",owner_name="api",owner_is_controller="true"', from: changed, to: now },
        { labels: 'replicaset="web-6b7c8d9f5",owner_kind="Deployment",owner_name="web",owner_is_controller="true"', from: start, to: changed - 60 },
        { labels: 'replicaset="web-6b7c8d9f5",owner_kind="Rollout",owner_name="web",owner_is_controller="true"', from: changed, to: now },
      ],
      kube_pod_owner: [
        { labels: 'pod="api-5d8f7c9b4-x7k2p",owner_kind="ReplicaSet",owner_name="api-5d8f7c9b4",owner_is_controller="true"', from: start, to: now },
        { labels: 'pod="api-7c6b5d4f9-b9q4m",owner_kind="ReplicaSet",owner_name="api-7c6b5d4f9",owner_is_controller="true"', from: changed, to: now },
      ],
      kube_pod_info: [
        { labels: 'pod="api-5d8f7c9b4-x7k2p",node="worker-0"', from: start, to: now },
        { labels: 'pod="api-7c6b5d4f9-b9q4m",node="worker-1"', from: changed, to: now },
      ],
      kube_pod_container_status_restarts_total: [
        { labels: 'pod="api-5d8f7c9b4-x7k2p",container="api"', from: start, to: now, v: (t) => (t < restartAt ? 0 : 5) },
        { labels: 'pod="api-7c6b5d4f9-b9q4m",container="api"', from: changed, to: now, v: () => 0 },
      ],
    };
    const lines: string[] = [];
    for (const [family, series] of Object.entries(families)) {
      lines.push(`# TYPE ${family} gauge`);
      for (const x of series) for (let t = x.from; t <= x.to; t += 60) lines.push(`${family}{namespace="legacy",${x.labels}} ${(x.v ?? one)(t)} ${t}`);
    }
    const prom = await startFixturePrometheus({ openMetrics: `${lines.join('\n')}\n# EOF\n` });
    const client = new PrometheusClient(plainSettings(prom.url, { timeoutMs: 10_000, cacheTtlMs: 0 }), createLogger('silent'));
    try {
      const scope = checkScope('deployment', 'legacy', 'api');
      const at = (now - 30) * 1000;
      // a ReplicaSet changed hands in the window: names cannot say when its pods were the deployment's
      expect(await deploymentReplicaSets(client, scope, at)).toBeUndefined();
      expect(await deploymentReplicaSets(client, checkScope('deployment', 'legacy', 'web'), at)).toBeUndefined();
      // two days ago nothing had changed hands yet: names
      expect(await deploymentReplicaSets(client, scope, at - 2 * 86_400_000)).toEqual(['api-5d8f7c9b4']);
      const refusing = new Proxy(client, {
        get: (c, k) => (k === 'series' ? async () => Promise.reject(new UpstreamRejectedError('HTTP 403')) : Reflect.get(c, k, c)),
      });
      const opts = { time: at, timezone: 'UTC', businessHours: [9, 17] as [number, number] };
      const r = await buildFeatures(client, scope, opts);
      const byOwner = await buildFeatures(refusing as PrometheusClient, scope, opts);
      // now only the new pod; over 7 days the old pod's restarts while it was the deployment's
      expect(r.features.resource_utilization.pod_count).toBe(1);
      expect(r.features.history.restarts_7d).toBe(5);
      expect(r.vector).toEqual(byOwner.vector);
    } finally {
      await client.close();
      await prom.stop();
    }
  });
});

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
    // a deployment's ReplicaSet lookup comes first: when it times out, the batches are not tried after it
    const d0 = Date.now();
    const dep = (await call(c.client, 'build_features', { scope: 'deployment', namespace: 'web', name: 'api-gateway' })).structuredContent as S;
    expect(Date.now() - d0).toBeLessThan(1900);
    expect(dep.errors).toHaveLength(1);
    expect(dep.errors[0]).toMatch(/did not answer within 1s \(PROMETHEUS_TIMEOUT\)/);
    expect(dep.nulls.cpu_utilization).toBe('error: see errors[0]');
    expect(dep.features.metadata).toMatchObject({ namespace: 'web', layer: 'Application' });
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

describe('build_features when the ReplicaSet lookup is slow', () => {
  it('gives the batches only what is left of PROMETHEUS_TIMEOUT', async () => {
    // answers the lookup's two requests after 700 ms (no ReplicaSets: owner joins), then nothing
    const lost = lostReplicaSetsQuery(checkScope('deployment', 'web', 'api-gateway'));
    const slow = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url!, 'http://x');
        const q = new URLSearchParams(Buffer.concat(chunks).toString()).get('query') ?? u.searchParams.get('query');
        const data = u.pathname === '/api/v1/series' ? [] : q === lost ? { resultType: 'vector', result: [] } : null;
        if (data === null) return;
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'success', data }));
        }, 700);
      });
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const dir = tempDir();
    const c = await connectStdio({ DATA_DIR: dir.path, PROMETHEUS_URL: `http://127.0.0.1:${(slow.address() as { port: number }).port}`, PROMETHEUS_TIMEOUT: '1s' });
    try {
      const started = Date.now();
      const r = await call(c.client, 'build_features', { scope: 'deployment', namespace: 'web', name: 'api-gateway' });
      // 700 ms + a full second for the batches would be 1.7 s
      expect(Date.now() - started).toBeLessThan(1500);
      const s = r.structuredContent as S;
      expect(s.errors).toEqual(['Prometheus did not answer within 1s (PROMETHEUS_TIMEOUT), the ReplicaSet lookup included']);
      expect(s.nulls.cpu_utilization).toBe('error: see errors[0]');
    } finally {
      await c.close();
      slow.closeAllConnections();
      slow.close();
      dir.cleanup();
    }
  });
});

describe('build_features on a cluster without some exporters', () => {
  it('says deployment labels are not exposed when kube-state-metrics has no allow-list, instead of Manual', async () => {
    // kube-state-metrics v2 by default: kube_deployment_labels without any label_* label
    const prom = await withoutFamilies(['label_app_kubernetes_io_managed_by', 'label_argocd_argoproj_io_instance']);
    const dir = tempDir();
    const c = await connectStdio({ DATA_DIR: dir.path, PROMETHEUS_URL: prom.url });
    try {
      for (const [namespace, name] of [['web', 'frontend'], ['batch', 'report-worker']] as const) {
        const r = await call(c.client, 'build_features', { scope: 'deployment', namespace, name, time: iso(T) });
        const s = r.structuredContent as S;
        expect(s.features.metadata.deployment_method, name).toBeNull();
        expect(s.nulls.deployment_method).toMatch(/^no_labels: .*--metric-labels-allowlist=deployments=\[/);
        expect(text(r)).toMatch(/deployment_method \(no_labels: /);
      }
    } finally {
      await c.close();
      prom.close();
      dir.cleanup();
    }
  });

  it('gives null with a reason for every feature whose metric family is missing, never 0', async () => {
    // no HPA metrics, no node-exporter, no node conditions, no OpenShift operators or router, no cAdvisor OOM events
    const prom = await withoutFamilies(['kube_horizontalpodautoscaler_', 'node_filesystem_', 'kube_node_status_condition', 'cluster_operator_', 'haproxy_backend_up', 'container_oom_events_']);
    const dir = tempDir();
    const c = await connectStdio({ DATA_DIR: dir.path, PROMETHEUS_URL: prom.url });
    try {
      const r = await call(c.client, 'build_features', { scope: 'deployment', namespace: 'web', name: 'api-gateway', time: iso(T) });
      const s = r.structuredContent as S;
      expect(r.isError).toBeFalsy();
      const gone = ['hpa_scaling_events', 'disk_utilization', 'node_memory_pressure', 'node_disk_pressure', 'node_pid_pressure', 'operators_not_ready', 'ingress_healthy'];
      for (const k of gone) expect(s.nulls[k], k).toBe('no_data');
      // the rest still comes from the exporters that are there
      const { hpa_scaling_events: _h, disk_utilization: _d, node_memory_pressure: _m, node_disk_pressure: _k, node_pid_pressure: _p, ...rest } = expected(
        w.pods.filter((p) => p.deployment.name === 'api-gateway'),
      );
      check(s, rest);
      // kube-state-metrics alone still counts the OOM kill
      expect(rest.oom_kill_count).toBe(1);
      expect(s.errors).toEqual([]);
      expect(s.real).toBe(45 - Object.keys(s.nulls).length);
      expect(Object.keys(s.nulls).sort()).toEqual([...gone, 'pvc_utilization', 'pvcs_bound'].sort());
    } finally {
      await c.close();
      prom.close();
      dir.cleanup();
    }
  });
});
