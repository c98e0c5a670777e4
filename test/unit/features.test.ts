import { describe, expect, it } from 'vitest';
import { InputError, UpstreamUnavailableError } from '../../src/errors.js';
import { buildFeatures, featurePlans, hash01, layerOf, localTime } from '../../src/features/builder.js';
import { readFileSync } from 'node:fs';
import { BATCHES, DERIVATIONS, FEATURES, FEATURE_NAMES, GROUPS, batchQuery, entryNames, tagged } from '../../src/features/catalog.js';
import { featuresDoc } from '../../tools/features-doc.js';
import { MAX_REPLICASETS, ScopeSelectors, checkScope, replicaSetPods } from '../../src/features/scope.js';
import type { InstantResult, PrometheusApi } from '../../src/prometheus/api.js';

describe('scope', () => {
  it('requires what each scope needs and refuses what it does not use', () => {
    const bad = (kind: Parameters<typeof checkScope>[0], ns?: string, name?: string) => {
      try {
        checkScope(kind, ns, name);
      } catch (e) {
        return `${(e as InputError).field}: ${(e as InputError).rule}`;
      }
      return 'ok';
    };
    expect(bad('namespace')).toBe('namespace: is required with scope "namespace"');
    expect(bad('pod', 'web')).toBe('name: is required with scope "pod" (the pod name)');
    expect(bad('cluster', 'web')).toBe('namespace: is not used with scope "cluster"');
    expect(bad('namespace', 'web', 'x')).toBe('name: is not used with scope "namespace"');
    expect(bad('namespace', 'prod"} or vector(1) #')).toMatch(/^namespace: must be a Kubernetes namespace name/);
    expect(bad('deployment', 'web', 'api"}[5m]) or vector(1)')).toMatch(/^name: must be a Kubernetes deployment name/);
    expect(bad('pod', 'web', 'api-gateway-84b6c5d7f-x7k2p')).toBe('ok');
  });

  it('builds matchers for each metric family', () => {
    const dep = new ScopeSelectors(checkScope('deployment', 'web', 'api.v2'));
    // a deployment's pods are the ones its ReplicaSets own; their names are only a first cut
    expect(dep.pod('container!=""')).toBe('namespace="web",pod=~"api\\\\.v2-.+",container!=""');
    const members =
      'kube_pod_owner{namespace="web",pod=~"api\\\\.v2-.+",owner_kind="ReplicaSet"} and on(namespace, owner_name) ' +
      'label_replace(kube_replicaset_owner{namespace="web",owner_kind="Deployment",owner_name="api.v2"}, "owner_name", "$1", "replicaset", "(.+)")';
    expect(dep.owned('x')).toBe(`(x) and on(namespace, pod) (${members})`);
    expect(dep.owned('x', ' offset 1h')).toContain('owner_kind="ReplicaSet"} offset 1h and');
    expect(dep.owned('x', '[24h]')).toContain('max_over_time(kube_replicaset_owner{namespace="web",owner_kind="Deployment",owner_name="api.v2"}[24h])');
    expect(dep.deployments('kube_deployment_labels')).toBe('kube_deployment_labels{namespace="web",deployment="api.v2"}');
    expect(dep.hpas()).toBe('kube_horizontalpodautoscaler_info{namespace="web",scaletargetref_kind="Deployment",scaletargetref_name="api.v2"}');
    expect(dep.onNodes()).toBe(` and on(node) ((kube_pod_info{namespace="web",pod=~"api\\\\.v2-.+",node!=""}) and on(namespace, pod) (${members}))`);
    // generated names are cut to 58 characters before the random suffix
    const long = 'a'.repeat(60);
    expect(new ScopeSelectors(checkScope('deployment', 'web', long)).pod()).toBe(`namespace="web",pod=~"${'a'.repeat(58)}.+"`);
    expect(dep.podDeployment()).toBeNull();
    // a pod's deployment is its ReplicaSet's owner
    const pod = new ScopeSelectors(checkScope('pod', 'web', 'node-exporter-x7k2p'));
    expect(pod.owned('x')).toBe('x');
    const owner =
      'label_replace(kube_replicaset_owner{namespace="web",owner_kind="Deployment"} and on(namespace, replicaset) ' +
      'label_replace(kube_pod_owner{namespace="web",pod="node-exporter-x7k2p",owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.+)"), "deployment", "$1", "owner_name", "(.+)")';
    expect(pod.podDeployment()).toBe(owner);
    expect(pod.deployments('kube_deployment_labels')).toBe(`(kube_deployment_labels{namespace="web"} and on(namespace, deployment) ${owner})`);
    expect(pod.hpas()).toContain('on(namespace, scaletargetref_name) label_replace(label_replace(kube_replicaset_owner');
    expect(new ScopeSelectors(checkScope('namespace', 'web', undefined)).hpas()).toBe('kube_horizontalpodautoscaler_info{namespace="web"}');
    const cluster = new ScopeSelectors(checkScope('cluster', undefined, undefined));
    expect(cluster.pod('container!=""')).toBe('container!=""');
    expect(cluster.onNodeExporter('node_load1')).toBe('node_load1');
    expect(new ScopeSelectors(checkScope('namespace', 'web', undefined)).onClaims()).toBe('');
  });

  it('keeps every pod series of a deployment to the pods its ReplicaSets own', () => {
    const dep = new ScopeSelectors(checkScope('deployment', 'web', 'node'));
    const podFamilies = /\b(container_[a-z_]+|kube_pod_[a-z_]+)\{/g;
    for (const b of BATCHES) {
      for (const [name, e] of Object.entries(b.exprs(dep))) {
        if (e === null) continue;
        const expr = tagged(name, e);
        // pod families, less the owner lookups themselves and the Running filter (joined to owned series)
        const selectors = [...expr.matchAll(podFamilies)].filter((m) => m[1] !== 'kube_pod_owner' && m[1] !== 'kube_pod_status_phase');
        const joins = expr.split('kube_replicaset_owner{').length - 1;
        if (selectors.length > 0) expect(joins, name).toBeGreaterThan(0);
        // without the ReplicaSets' names, names do not decide
        expect(expr, name).not.toContain('[a-z0-9]{5}');
      }
    }
  });

  it('picks a deployment\'s pods by its ReplicaSets\' names when it knows them, which no DaemonSet pod matches', () => {
    const dep = new ScopeSelectors(checkScope('deployment', 'monitoring', 'node'), ['node-5d8f7c9b4', 'node-66b9c8d7f']);
    expect(dep.byName).toBe(true);
    const pods = dep.pod();
    expect(pods).toBe('namespace="monitoring",pod=~"node-(?:5d8f7c9b4|66b9c8d7f)-[a-z0-9]{5}"');
    // Prometheus anchors the regex
    const re = new RegExp(`^(?:${'node-(?:5d8f7c9b4|66b9c8d7f)-[a-z0-9]{5}'})$`);
    expect(['node-5d8f7c9b4-x7k2p', 'node-66b9c8d7f-abcde'].every((p) => re.test(p))).toBe(true);
    expect(['node-exporter-x7k2p', 'node-5d8f7c9b4-x7k2p-1', 'node-5d8f7c9b4-x7k2'].some((p) => re.test(p))).toBe(false);
    for (const b of BATCHES) {
      for (const [name, e] of Object.entries(b.exprs(dep))) {
        if (e === null) continue;
        const expr = tagged(name, e);
        expect(expr, name).not.toContain('kube_replicaset_owner');
        for (const m of expr.matchAll(/\b(container_[a-z_]+|kube_pod_[a-z_]+)\{([^}]*)\}/g)) expect(m[2], `${name}: ${m[1]}`).toContain('pod=~"node-(?:');
      }
    }
    // names that generateName would cut, too many sets, or none: owner joins
    expect(replicaSetPods('node', [])).toBeNull();
    expect(replicaSetPods('a'.repeat(50), [`${'a'.repeat(50)}-5d8f7c9b4`])).toBeNull();
    expect(replicaSetPods('node', Array.from({ length: MAX_REPLICASETS + 1 }, (_, i) => `node-${i}`))).toBeNull();
    // an adopted ReplicaSet need not be named after its deployment
    expect(replicaSetPods('web', ['web-abc12', 'legacy.v1'])).toBe('(?:legacy\\.v1|web-abc12)-[a-z0-9]{5}');
    expect(new ScopeSelectors(checkScope('deployment', 'web', 'node'), []).byName).toBe(false);
  });
});

describe('catalog', () => {
  it('has the 45 features of ADR-014 in six groups, unique and in a fixed order', () => {
    expect(FEATURES).toHaveLength(45);
    expect(new Set(FEATURE_NAMES).size).toBe(45);
    const counts = GROUPS.map((g) => FEATURES.filter((f) => f.group === g).length);
    expect(counts).toEqual([9, 6, 6, 8, 8, 8]);
    expect(FEATURE_NAMES.slice(0, 3)).toEqual(['cpu_utilization', 'memory_utilization', 'disk_utilization']);
  });

  it('computes every feature by a query of its name or a documented derivation, and nothing else', () => {
    const scope = new ScopeSelectors(checkScope('namespace', 'web', undefined));
    const queried = new Set(BATCHES.flatMap((b) => Object.entries(b.exprs(scope)).flatMap(([n, e]) => entryNames(n, e))));
    for (const name of FEATURE_NAMES) expect(queried.has(name) || name in DERIVATIONS, name).toBe(true);
    for (const name of Object.keys(DERIVATIONS)) expect(FEATURE_NAMES, name).toContain(name);
    for (const name of queried) expect(name.startsWith('_') || FEATURE_NAMES.includes(name), name).toBe(true);
  });

  it('has an up-to-date generated reference in docs/features.md', () => {
    expect(readFileSync(new URL('../../docs/features.md', import.meta.url), 'utf8')).toBe(featuresDoc());
  });

  it('tags every expression of a batch and leaves out the ones that do not apply', () => {
    const q = batchQuery({ a: 'sum(x)', b: null, c: '(y) or (0 * count(z))' });
    expect(q).toBe('label_replace(sum(x), "feature", "a", "", "") or label_replace((y) or (0 * count(z)), "feature", "c", "", "")');
    // one expression for several features, told apart by a label
    const g = batchQuery({ _r: { by: 'resource', names: { cpu: '_cpu_req', memory: '_mem_req' }, expr: 'sum by (resource) (x)' } });
    expect(g).toBe('label_replace(label_replace(sum by (resource) (x), "feature", "_cpu_req", "resource", "cpu"), "feature", "_mem_req", "resource", "memory")');
  });

  it('packs the parts into requests of about equal cost, with the range batch on its own', () => {
    const scope = checkScope('namespace', 'web', undefined);
    for (const parallel of [1, 2, 3, 8]) {
      const plans = featurePlans(scope, parallel);
      expect(plans.filter((p) => p.range)).toHaveLength(1);
      expect(plans.length).toBe(Math.max(2, parallel));
      // the instant requests carry about equal cost: the heaviest parts go to different ones
      const heavy = plans.filter((p) => !p.range).map((p) => ['oom_kill_count', 'restarts_7d'].filter((n) => n in p.exprs).length);
      if (parallel >= 3) expect(heavy.filter((n) => n > 0)).toEqual([1, 1]);
      const names = plans.flatMap((p) => Object.entries(p.exprs).flatMap(([n, e]) => entryNames(n, e)));
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('builds every batch for every scope', () => {
    for (const scope of [checkScope('cluster', undefined, undefined), checkScope('namespace', 'web', undefined), checkScope('pod', 'web', 'x')]) {
      for (const b of BATCHES) expect(batchQuery(b.exprs(new ScopeSelectors(scope)))).not.toBe('');
    }
  });
});

/** Answers each batch with the values given by feature name (derivation tests only). */
function answering(values: Record<string, number>, failing: string[] = [], history: Record<string, number[]> = {}): PrometheusApi {
  return {
    url: 'http://fake',
    async queryRange(query: string) {
      const names = [...query.matchAll(/"feature", "([^"]+)"/g)].map((m) => m[1]!);
      const series = names.filter((n) => n in history).map((n) => ({ labels: { feature: n }, timestamps: history[n]!.map((_, i) => i), values: history[n]! }));
      return { series, warnings: [], tier: 'prometheus', start: 0, end: 0, step: 300_000 };
    },
    async query(query: string): Promise<InstantResult> {
      const names = [...query.matchAll(/"feature", "([^"]+)"/g)].map((m) => m[1]!);
      if (names.some((n) => failing.includes(n))) throw new UpstreamUnavailableError('Prometheus at http://fake is unreachable');
      return {
        resultType: 'vector',
        samples: names.filter((n) => n in values).map((n) => ({ labels: { feature: n }, t: Date.parse('2026-01-26T10:30:00Z'), v: values[n]! })),
        series: [],
        warnings: [],
        tier: 'prometheus',
        time: Date.parse('2026-01-26T10:30:00Z'),
      };
    },
  } as unknown as PrometheusApi;
}

describe('buildFeatures derivations', () => {
  const opts = { timezone: 'UTC', businessHours: [9, 17] as [number, number] };
  const ns = checkScope('namespace', 'payments', undefined);

  it('derives utilization, trends, per-pod means and request/limit ratios', async () => {
    const r = await buildFeatures(
      answering(
        {
          ...{ _cpu: 2.5, _cpu_used: 2, _cpu_cap: 4, _cpu_5m: 2, _cpu_1h: 3.125, _cpu_1d: 1.25, _mem: 300, _mem_used: 300, _mem_cap: 1000, _mem_5m: 300 },
          ...{ pod_count: 4, _cpu_req: 1.5, _cpu_req_limited: 1, _cpu_lim: 4, _mem_req: 200, _mem_req_limited: 200, _mem_lim: 800 },
        },
        [],
        { _cpu_ratio: [0.2, 0.4, Number.NaN, 0.9] },
      ),
      ns,
      opts,
    );
    expect(r.features.history).toMatchObject({ cpu_24h_avg: 0.5, cpu_24h_max: 0.9, memory_24h_avg: null });
    expect(r.features.resource_utilization.cpu_utilization).toBe(0.5);
    expect(r.features.resource_utilization.memory_utilization).toBe(0.3);
    // trends follow all use (_cpu), utilization only the limited containers (_cpu_used)
    expect(r.features.trends).toMatchObject({ cpu_trend_5m: 0.25, cpu_trend_1h: -0.2, cpu_daily_change: 1, memory_trend_5m: 0 });
    expect(r.features.trends.memory_trend_1h).toBeNull();
    expect(r.nulls.memory_trend_1h).toBe('no_data');
    expect(r.features.workload).toMatchObject({ avg_pod_cpu_request: 0.375, avg_pod_memory_limit: 200, request_to_limit_ratio: 0.25 });
    expect(r.warnings).toEqual([]);
  });

  it('keeps utilization within 0-1 where use can pass capacity', async () => {
    // the cluster's pods using more than node allocatable
    const r = await buildFeatures(answering({ _cpu: 5, _cpu_cap: 4, _mem: 900, _mem_cap: 1000 }, [], { _cpu_ratio: [0.5, 1.5] }), checkScope('cluster', undefined, undefined), opts);
    expect(r.features.resource_utilization).toMatchObject({ cpu_utilization: 1, memory_utilization: 0.9 });
    expect(r.features.history).toMatchObject({ cpu_24h_avg: 0.75, cpu_24h_max: 1 });
  });

  it('says no_limits where nothing has a limit, and which containers utilization leaves out', async () => {
    // pods run, memory limits on some containers, no CPU limit anywhere
    const r = await buildFeatures(
      answering(
        { pod_count: 2, _cpu: 1, _cpu_used: 0, _cpu_cap: 0, _cpu_unlimited: 3, _mem: 900, _mem_used: 600, _mem_cap: 1000, _mem_unlimited: 1 },
        [],
        { _mem_ratio: [0.5, 0.7] },
      ),
      ns,
      opts,
    );
    expect(r.nulls).toMatchObject({ cpu_utilization: 'no_limits', cpu_24h_avg: 'no_limits', cpu_24h_max: 'no_limits' });
    expect(r.features.resource_utilization.memory_utilization).toBe(0.6);
    expect(r.features.history).toMatchObject({ memory_24h_avg: 0.6, memory_24h_max: 0.7 });
    expect(r.warnings).toEqual(['memory_utilization covers only containers with a memory limit: 1 running container has none']);
    // Prometheus returns no CPU limit sum when no container has one: with pods, that is 0
    const w = await buildFeatures(answering({ pod_count: 2, _cpu_req: 1, _mem_req: 100, _mem_req_limited: 60, _mem_lim: 240 }), ns, opts);
    expect(w.features.workload).toMatchObject({ avg_pod_cpu_limit: null, avg_pod_memory_limit: 120, request_to_limit_ratio: 0.25, image_pull_failures: 0 });
    expect(w.nulls.avg_pod_cpu_limit).toBe('no_limits');
    const none = await buildFeatures(answering({ pod_count: 2 }), ns, opts);
    expect(none.nulls).toMatchObject({ request_to_limit_ratio: 'no_limits', avg_pod_memory_limit: 'no_limits' });
    // without pods nothing is 0: the scope is empty or the metrics are missing
    const empty = await buildFeatures(answering({}), ns, opts);
    expect(empty.nulls).toMatchObject({ avg_pod_cpu_limit: 'no_data', image_pull_failures: 'no_data', request_to_limit_ratio: 'no_data' });
  });

  it('encodes categories and time, and infers the most pressing issue', async () => {
    const r = await buildFeatures(answering({ oom_kill_count: 1, container_restarts: 3, _cpu_used: 1, _cpu_cap: 1, _deploys_helm: 2 }), ns, opts);
    const m = r.features.metadata;
    expect(m).toMatchObject({ namespace: 'payments', layer: 'Application', deployment_method: 'Helm', issue_type: 'oom', time_of_day: 10.5, day_of_week: 0, is_business_hours: 1 });
    const v = (name: string) => r.vector[r.names.indexOf(name)];
    expect(v('namespace')).toBe(hash01('payments'));
    expect(v('deployment_method')).toBe(1);
    expect(v('issue_type')).toBe(1);
    expect(v('cpu_utilization')).toBe(1);
    expect(r.names).toEqual(FEATURE_NAMES);
    const given = await buildFeatures(answering({ oom_kill_count: 1 }), ns, { ...opts, issueType: 'image_pull' });
    expect(given.features.metadata.issue_type).toBe('image_pull');
    const calm = await buildFeatures(answering({ oom_kill_count: 0, container_restarts: 0, restarts_24h: 0, image_pull_failures: 0, _cpu_used: 1, _cpu_cap: 4, operators_not_ready: 0 }), ns, opts);
    expect(calm.features.metadata.issue_type).toBe('none');
  });

  it('says deployment labels are not exposed rather than calling every deployment Manual', async () => {
    const method = async (values: Record<string, number>) => {
      const r = await buildFeatures(answering(values), ns, opts);
      return [r.features.metadata.deployment_method, r.nulls.deployment_method];
    };
    // kube-state-metrics v2 without --metric-labels-allowlist: no deployment anywhere has a label to go by
    const [none, why] = await method({ _deploys_other: 3, _deploys_labelled: 0 });
    expect(none).toBeNull();
    expect(why).toMatch(/^no_labels: .*--metric-labels-allowlist=deployments=\[app\.kubernetes\.io\/managed-by,argocd\.argoproj\.io\/instance\]/);
    // labels exposed, and these deployments carry none of them
    expect(await method({ _deploys_other: 3, _deploys_labelled: 7 })).toEqual(['Manual', undefined]);
    // each deployment counts under one method: the most common wins, ties in the order ArgoCD, Operator, Helm
    expect(await method({ _deploys_other: 1, _deploys_labelled: 7, _deploys_argocd: 1, _deploys_helm: 2 })).toEqual(['Helm', undefined]);
    expect(await method({ _deploys_labelled: 7, _deploys_argocd: 2, _deploys_helm: 2 })).toEqual(['ArgoCD', undefined]);
    // no deployment in scope
    expect(await method({ _deploys_labelled: 7 })).toEqual([null, 'no_data']);
  });

  it('marks what failed as errors, counts the real features, and never invents values', async () => {
    const r = await buildFeatures(answering({ pod_count: 3, restarts_24h: 2 }, ['_cpu_used']), ns, { ...opts, parallel: 3 });
    expect(r.errors).toEqual(['Prometheus at http://fake is unreachable']);
    expect(r.nulls.cpu_utilization).toBe('error: see errors[0]');
    // what shares the failed request is an error; what came from the other requests is not
    const failed = featurePlans(ns, 3).find((p) => '_cpu_used' in p.exprs)!;
    for (const name of Object.keys(failed.exprs).filter((n) => !n.startsWith('_'))) expect(r.nulls[name], name).toBe('error: see errors[0]');
    expect(r.features.history.restarts_24h).toBe('restarts_24h' in failed.exprs ? null : 2);
    expect(r.nulls.memory_24h_avg).toBe('no_data');
    expect(r.degraded).toBe(true);
    expect(r.real).toBe(45 - Object.keys(r.nulls).length);
    expect(r.not_applicable).toBe(Object.values(r.nulls).filter((x) => x === 'not_applicable').length);
    expect(r.vector.filter((x) => x !== null)).toHaveLength(r.real);
  });

  it('keeps time of day below 24 and business hours until their last second', async () => {
    // 2026-01-26 is a Monday
    const at = async (iso: string) => (await buildFeatures(answering({}), ns, { ...opts, time: Date.parse(iso) })).features.metadata;
    expect(await at('2026-01-26T23:59:45Z')).toMatchObject({ time_of_day: 23.99, day_of_week: 0, is_business_hours: 0 });
    expect(await at('2026-01-26T16:59:50Z')).toMatchObject({ time_of_day: 16.99, is_business_hours: 1 });
    expect(await at('2026-01-26T17:00:00Z')).toMatchObject({ time_of_day: 17, is_business_hours: 0 });
    expect(await at('2026-01-26T08:59:59Z')).toMatchObject({ time_of_day: 8.99, is_business_hours: 0 });
    // 0.29 h = 00:17:24, where floor(0.29 * 100) of the float would give 28
    expect(await at('2026-01-26T00:17:24Z')).toMatchObject({ time_of_day: 0.29 });
  });

  it('knows layers and local time', () => {
    expect(layerOf('openshift-monitoring')).toBe('Platform');
    expect(layerOf('openshift-etcd')).toBe('Infrastructure');
    expect(layerOf('kube-system')).toBe('Infrastructure');
    expect(layerOf('payments')).toBe('Application');
    expect(localTime(Date.parse('2026-01-25T23:30:00Z'), 'Europe/Berlin')).toEqual({ hour: 0.5, weekday: 0 });
    expect(localTime(Date.parse('2026-01-26T16:59:50Z'), 'UTC').hour).toBeCloseTo(16 + 59 / 60 + 50 / 3600, 12);
    expect(hash01('payments')).toBe(hash01('payments'));
    expect(hash01('payments')).not.toBe(hash01('web'));
  });
});
