// The feature catalog (ADR-014's FeatureVector), as data: one entry per feature with its
// group, unit and meaning, and the PromQL that measures it. The builder, the README's
// generated reference and the tests all read this list; its order is the vector's order.
//
// Queries are grouped into batches: every expression in a batch yields one unlabelled sample
// (a Grouped one, one per value of a label), tagged with label_replace and joined with `or`,
// so one HTTP request answers many features. Counts that are zero when nothing matches use
// `X or (0 * count(PRESENCE))`, or ZERO_WITH_PODS in the builder: zero only when the metric
// family (or a pod) exists, so a missing exporter gives null, never an invented 0.
import type { ScopeSelectors, When } from './scope.js';

export const GROUPS = ['resource_utilization', 'trends', 'history', 'platform_health', 'workload', 'metadata'] as const;
export type Group = (typeof GROUPS)[number];

export interface Feature {
  name: string;
  group: Group;
  unit: string;
  description: string;
  /** numeric codes of a categorical feature, in the vector */
  codes?: Record<string, number>;
}

const f = (group: Group, name: string, unit: string, description: string, codes?: Record<string, number>): Feature =>
  codes ? { name, group, unit, description, codes } : { name, group, unit, description };

/** How derived features are computed from the batches' intermediate values (names with "_"). */
export const DERIVATIONS: Record<string, string> = {
  cpu_utilization: '_cpu_used (cluster: _cpu) / _cpu_cap; null with no_limits when pods run but no container has a CPU limit (a warning counts running containers without one)',
  memory_utilization: '_mem_used (cluster: _mem) / _mem_cap; null with no_limits as for CPU',
  cpu_trend_5m: '(_cpu - _cpu_5m) / _cpu_5m',
  cpu_trend_1h: '(_cpu - _cpu_1h) / _cpu_1h',
  memory_trend_5m: '(_mem - _mem_5m) / _mem_5m',
  memory_trend_1h: '(_mem - _mem_1h) / _mem_1h',
  cpu_daily_change: '(_cpu - _cpu_1d) / _cpu_1d',
  memory_daily_change: '(_mem - _mem_1d) / _mem_1d',
  cpu_24h_avg: 'mean of _cpu_ratio (_cpu_used / _cpu_cap at each step) over the 24h range query',
  cpu_24h_max: 'max of _cpu_ratio over the 24h range query',
  memory_24h_avg: 'mean of _mem_ratio (_mem_used / _mem_cap at each step) over the 24h range query',
  memory_24h_max: 'max of _mem_ratio over the 24h range query',
  avg_pod_memory_request: '_mem_req / pod_count',
  avg_pod_cpu_request: '_cpu_req / pod_count',
  avg_pod_memory_limit: '_mem_lim / pod_count; null with no_limits when no container has one',
  avg_pod_cpu_limit: '_cpu_lim / pod_count; null with no_limits when no container has one',
  request_to_limit_ratio: 'mean of _cpu_req_limited / _cpu_lim and _mem_req_limited / _mem_lim, of those with limits (no_limits when neither has)',
  namespace: 'the scope; vector: FNV-1a hash / 2^32',
  deployment_method:
    'each deployment counted once, under the first method its labels match in the order ArgoCD (argocd.argoproj.io/instance, or managed-by argo*), Operator (managed-by *operator* or *olm*), Helm (managed-by helm), else other; the largest count wins (ties in that order); Manual when there are deployments and none match, but only if some deployment in the cluster carries app.kubernetes.io/managed-by or argocd.argoproj.io/instance (_deploys_labelled > 0): else null with `no_labels: ...`, since kube-state-metrics v2 exposes no deployment labels unless allow-listed. app.kubernetes.io/instance (Argo CD\'s default tracking label before 3.0) is not read: Helm charts and the Kubernetes recommended labels set it too',
  layer: 'namespace name: PLATFORM_NAMESPACES, kube-*/openshift*, else Application',
  issue_type: 'caller\'s issue_type, else the first that holds: oom_kill_count > 0, restarts (5m > 0 or 24h > 2), image_pull_failures > 0, node pressure > 0, cpu_utilization >= 0.9, memory_utilization >= 0.9, operators/pods/services unhealthy, else none',
  node_memory_pressure: 'the condition="MemoryPressure" series of _pressure (0 when kube-state-metrics reports the condition for the nodes and none has it)',
  node_disk_pressure: 'the condition="DiskPressure" series of _pressure',
  node_pid_pressure: 'the condition="PIDPressure" series of _pressure',
  image_pull_failures: 'query of the same name; 0 when pod_count has a value and no container waits on a pull (ZERO_WITH_PODS)',
  hpa_scaling_events: 'query of the same name; not_applicable for a pod that no deployment owns (_pod_deployment = 0: a DaemonSet\'s, a Job\'s)',
  time_of_day: 'vector time in FEATURE_TIMEZONE (or the timezone argument), floored to 2 decimals (23:59:45 is 23.99)',
  day_of_week: 'vector time in the time zone',
  is_business_hours: 'Monday-Friday and BUSINESS_HOURS (default 9-17), on the exact time (16:59:50 is in)',
};

/** Where a feature deliberately differs from ADR-014's FeatureVector, and why (docs/features.md). */
export const DEVIATIONS: Record<string, string> = {
  cpu_utilization:
    'ADR-014 divides by limits or allocatable without saying which containers count. Here only containers with a limit count against limits, so the ratio stays 0-1; with no limits at all it is null (`no_limits`), not a ratio against requests, which can pass 1 and would mix two meanings in one feature. memory_utilization and the 24h history do the same. Every utilization (and each 24h point) is clamped to 0-1: the cluster\'s pods can use more than node allocatable (capacity reserved for the system), and a 5m CPU rate can pass a limit a little; 1 then means at or over capacity.',
  time_since_last_restart:
    'ADR-014 means the time since the last restart. kube-state-metrics gives container start times, so this is the time since the most recent container start: in a scope that never restarted, the age of its youngest container (not null, not infinity).',
  pvcs_bound: 'ADR-014 does not define it and its neighbours are counts; here it is the share (0-1) of the scope\'s claims that are Bound, comparable across scopes of any size. With no claims (while kube-state-metrics reports claims elsewhere in the cluster) it and pvc_utilization are null as `not_applicable`, so a scope without storage is not degraded.',
  services_healthy: 'A share (0-1) of the namespace\'s services with at least one ready endpoint, not a count. null when there are no endpoints.',
  ingress_healthy:
    'A share (0-1), read from OpenShift\'s router (haproxy_backend_up per route). Other ingress controllers publish no per-route health, so outside OpenShift it is null (`no_data`).',
  oom_kill_count:
    'ADR-014 reads cAdvisor\'s OOM events. Kubelets (1.24+) expose container_oom_events_total for every container, but it stays 0 when the container\'s main process is killed (its cgroup is deleted with it), which is the usual OOM kill; so per container the largest of: cAdvisor\'s events in 24h; kube-state-metrics\' restarts counted in 5-minute steps (a 24h subquery) at whose end the last terminated reason is OOMKilled; and 1 for a container that restarted in 24h and last terminated OOMKilled. kube-state-metrics keeps only the last reason, so this is exact while a container restarts at most once in 5 minutes; in a faster loop all restarts of one step take the reason of the last.',
  hpa_scaling_events: 'Counted over HPAs found through their scale target (kube_horizontalpodautoscaler_info), not by name; 0 for a deployment without one, null when kube-state-metrics reports no HPAs at all.',
};

export const DEPLOYMENT_METHODS = { Manual: 0, Helm: 1, ArgoCD: 2, Operator: 3 };
export const LAYERS = { Application: 0, Platform: 1, Infrastructure: 2 };
export const ISSUE_TYPES = {
  none: 0,
  oom: 1,
  crashloop: 2,
  image_pull: 3,
  node_pressure: 4,
  cpu_saturation: 5,
  memory_saturation: 6,
  degraded_platform: 7,
};

export const FEATURES: readonly Feature[] = [
  f('resource_utilization', 'cpu_utilization', 'ratio 0-1', 'CPU used (5m rate) / CPU limits, over the running containers that have a CPU limit; cluster: all use / allocatable CPU'),
  f('resource_utilization', 'memory_utilization', 'ratio 0-1', 'memory working set (5m mean) / memory limits, over the running containers that have a memory limit; cluster: all use / allocatable memory'),
  f('resource_utilization', 'disk_utilization', 'ratio 0-1', 'fullest root filesystem (node-exporter) among the nodes running the scope'),
  f('resource_utilization', 'network_bytes_in', 'bytes/s', 'received by the pods, 5m rate'),
  f('resource_utilization', 'network_bytes_out', 'bytes/s', 'transmitted by the pods, 5m rate'),
  f('resource_utilization', 'container_restarts', 'count', 'container restarts in the last 5 minutes: the restart counters\' latest samples less those 5 minutes before (no extrapolation)'),
  f('resource_utilization', 'pod_count', 'count', 'pods that exist (any phase)'),
  f('resource_utilization', 'node_count', 'count', 'nodes running the scope\'s pods (unscheduled pods have none); cluster: all nodes'),
  f('resource_utilization', 'pvc_utilization', 'ratio 0-1', 'fullest persistent volume claim the scope uses'),
  f('trends', 'cpu_trend_5m', 'fraction', 'CPU use now vs 5 minutes ago: (now - then) / then'),
  f('trends', 'cpu_trend_1h', 'fraction', 'CPU use now vs 1 hour ago'),
  f('trends', 'memory_trend_5m', 'fraction', 'memory use now vs 5 minutes ago'),
  f('trends', 'memory_trend_1h', 'fraction', 'memory use now vs 1 hour ago'),
  f('trends', 'cpu_daily_change', 'fraction', 'CPU use now vs 24 hours ago'),
  f('trends', 'memory_daily_change', 'fraction', 'memory use now vs 24 hours ago'),
  f('history', 'cpu_24h_avg', 'ratio 0-1', 'mean of cpu_utilization over 24h (every 5m)'),
  f('history', 'cpu_24h_max', 'ratio 0-1', 'max of cpu_utilization over 24h (every 5m)'),
  f('history', 'memory_24h_avg', 'ratio 0-1', 'mean of memory_utilization over 24h (every 5m)'),
  f('history', 'memory_24h_max', 'ratio 0-1', 'max of memory_utilization over 24h (every 5m)'),
  f('history', 'restarts_24h', 'count', 'container restarts in 24h'),
  f('history', 'restarts_7d', 'count', 'container restarts in 7 days'),
  f('platform_health', 'node_memory_pressure', 'count', 'nodes (running the scope) with MemoryPressure'),
  f('platform_health', 'node_disk_pressure', 'count', 'nodes (running the scope) with DiskPressure'),
  f('platform_health', 'node_pid_pressure', 'count', 'nodes (running the scope) with PIDPressure'),
  f('platform_health', 'operators_not_ready', 'count', 'OpenShift ClusterOperators degraded or unavailable (cluster-wide)'),
  f('platform_health', 'pods_not_running', 'count', 'pods Pending, Failed or Unknown'),
  f('platform_health', 'pvcs_bound', 'ratio 0-1', 'share of the scope\'s persistent volume claims that are Bound'),
  f('platform_health', 'services_healthy', 'ratio 0-1', 'share of the namespace\'s services with a ready endpoint'),
  f('platform_health', 'ingress_healthy', 'ratio 0-1', 'share of the namespace\'s OpenShift routes whose backend is up'),
  f('workload', 'avg_pod_memory_request', 'bytes', 'memory requests per pod'),
  f('workload', 'avg_pod_cpu_request', 'cores', 'CPU requests per pod'),
  f('workload', 'avg_pod_memory_limit', 'bytes', 'memory limits per pod (containers without one add nothing)'),
  f('workload', 'avg_pod_cpu_limit', 'cores', 'CPU limits per pod (containers without one add nothing)'),
  f('workload', 'request_to_limit_ratio', 'ratio 0-1', 'requests / limits of the containers that have limits, mean of CPU and memory'),
  f('workload', 'oom_kill_count', 'count', 'OOM kills in 24h: per container the larger of cAdvisor\'s OOM events and kube-state-metrics\' restarts after an OOMKilled termination (see deviations)'),
  f('workload', 'image_pull_failures', 'count', 'containers waiting in ImagePullBackOff, ErrImagePull or InvalidImageName'),
  f('workload', 'hpa_scaling_events', 'count', 'changes of desired replicas in 24h of the HorizontalPodAutoscalers targeting the deployment (all in a namespace); 0 without one'),
  f('metadata', 'namespace', 'category', 'the scope\'s namespace; in the vector a stable hash in [0, 1)'),
  f('metadata', 'deployment_method', 'category', 'from deployment labels: Helm, ArgoCD, Operator or Manual (most common in a namespace)', DEPLOYMENT_METHODS),
  f('metadata', 'layer', 'category', 'from the namespace: Infrastructure (kube-*, openshift-*), Platform (monitoring, logging, ...), Application', LAYERS),
  f('metadata', 'issue_type', 'category', 'given by the caller, or the most pressing problem the other features show', ISSUE_TYPES),
  f('metadata', 'time_since_last_restart', 'seconds', 'since the most recent container start in the scope'),
  f('metadata', 'time_of_day', 'hours 0-23.99', 'at the vector\'s time, in the configured time zone'),
  f('metadata', 'day_of_week', '0-6', 'Monday = 0'),
  f('metadata', 'is_business_hours', '0 or 1', 'Monday-Friday within business hours'),
];

export const FEATURE_NAMES = FEATURES.map((x) => x.name);

/** Namespaces of the platform layer; kube-* and openshift-* (others) are infrastructure. */
export const PLATFORM_NAMESPACES = [
  'openshift-monitoring',
  'openshift-user-workload-monitoring',
  'openshift-logging',
  'openshift-gitops',
  'openshift-operators',
  'monitoring',
  'logging',
  'istio-system',
  'cert-manager',
  'ingress-nginx',
  'argocd',
  'tekton-pipelines',
  'knative-serving',
];

// ---- the queries ---------------------------------------------------------------------

/**
 * One expression answering several features (one selection instead of one each): its series
 * are told apart by label `by`, whose values map to feature names.
 */
export interface Grouped {
  by: string;
  names: Record<string, string>;
  expr: string;
}
/** entry name to an expression (tagged with the name), a Grouped one (tagged with its names), or null = not applicable */
export type Exprs = Record<string, string | Grouped | null>;
const grouped = (by: string, names: Record<string, string>, expr: string): Grouped => ({ by, names, expr });

/** The feature names an entry answers. */
export const entryNames = (name: string, e: string | Grouped | null): string[] => (e !== null && typeof e === 'object' ? Object.values(e.names) : [name]);

/**
 * Intermediates that are 0, not missing, when pod_count has a value: pods run, and none has
 * the thing counted (a limit, an image pull failure). Without pods they stay no_data.
 */
export const ZERO_WITH_PODS = ['_cpu_lim', '_mem_lim', 'image_pull_failures'] as const;
export interface Batch {
  id: string;
  /** evaluated as a range query over the last 24h at 5m steps; the builder reduces each series */
  range?: true;
  /** feature or intermediate name (intermediates start with "_") to a PromQL expression; null = not applicable */
  exprs(s: ScopeSelectors): Exprs;
}

type Resource = 'cpu' | 'memory';
/** Keeps pod series to running pods (of the scope: the phases of the rest of the cluster are not read). */
const running = (s: ScopeSelectors) => `and on(namespace, pod) (kube_pod_status_phase{${s.pod('phase="Running"')}} == 1)`;
const CONTAINERS = ['container!=""', 'container!="POD"'];
const BY_CONTAINER = 'on(namespace, pod, container)';

// Pod series are read with s.pod() matchers and, before any aggregation, wrapped in s.owned()
// (a deployment's pods, by their owners), looked up at the expression's offset or window.
function cpuRate(s: ScopeSelectors, offset = ''): string {
  return `rate(container_cpu_usage_seconds_total{${s.pod(...CONTAINERS)}}[5m]${offset})`;
}
function memMean(s: ScopeSelectors, offset = ''): string {
  return `avg_over_time(container_memory_working_set_bytes{${s.pod(...CONTAINERS)}}[5m]${offset})`;
}
const usage = (s: ScopeSelectors, r: Resource, offset: When = '') => `sum(${s.owned(r === 'cpu' ? cpuRate(s, offset) : memMean(s, offset), offset)})`;
/** The limits of running containers that have one. */
const runningLimits = (s: ScopeSelectors, r: Resource) => `(${s.owned(`kube_pod_container_resource_limits{${s.pod(`resource="${r}"`)}}`)} ${running(s)})`;
/**
 * Use against capacity: only containers with a limit count against their limits (use of
 * unlimited containers over others' limits could pass 1); the cluster against allocatable.
 */
function used(s: ScopeSelectors, r: Resource): string {
  if (s.scope.kind === 'cluster') return usage(s, r);
  return `sum(${r === 'cpu' ? cpuRate(s) : memMean(s)} and ${BY_CONTAINER} ${runningLimits(s, r)})`;
}
function capacity(s: ScopeSelectors, r: Resource): string {
  if (s.scope.kind === 'cluster') return `sum(kube_node_status_allocatable{resource="${r}"})`;
  return `sum(${runningLimits(s, r)})`;
}
/** X, or 0 when PRESENCE has series (so an absent metric family stays absent). */
const zeroIf = (x: string, presence: string) => `((${x}) or (0 * count(${presence})))`;
/** Capacity, 0 when pods run but no container has a limit (the builder says no_limits). */
const capacityOr0 = (s: ScopeSelectors, r: Resource) =>
  s.scope.kind === 'cluster' ? capacity(s, r) : zeroIf(capacity(s, r), `${s.owned(`kube_pod_info{${s.pod()}}`)} ${running(s)}`);
/** Running containers without a limit, left out of utilization (reported in warnings). */
const unlimited = (s: ScopeSelectors, r: Resource) =>
  s.scope.kind === 'cluster'
    ? null
    : `count(${s.owned(`kube_pod_container_info{${s.pod()}}`)} ${running(s)} unless ${BY_CONTAINER} kube_pod_container_resource_limits{${s.pod(`resource="${r}"`)}})`;
/**
 * Nodes under each pressure: the status="true" series is 1 or 0, so the sum is the count, and 0
 * when kube-state-metrics reports the condition at all. One value per node, however many
 * kube-state-metrics replicas report it.
 */
const pressures = (s: ScopeSelectors): Grouped =>
  grouped(
    'condition',
    { MemoryPressure: 'node_memory_pressure', DiskPressure: 'node_disk_pressure', PIDPressure: 'node_pid_pressure' },
    `sum by (condition) (max by (condition, node) (kube_node_status_condition{condition=~"MemoryPressure|DiskPressure|PIDPressure",status="true"}${s.onNodes()}))`,
  );
/** The kube_deployment_labels labels deployment_method reads. */
const DEPLOYMENT_LABELS = ['label_app_kubernetes_io_managed_by', 'label_argocd_argoproj_io_instance'];
/** How to make kube-state-metrics expose them (the reason given with no_labels). */
export const LABELS_ALLOWLIST = '--metric-labels-allowlist=deployments=[app.kubernetes.io/managed-by,argocd.argoproj.io/instance]';
/** Restarts between the latest sample and the one 5 minutes before, without increase()'s extrapolation; a reset counts 0. */
const restartsIn5m = (restarts: string, only = '') => `clamp_min(${only ? `(${restarts} and ${only})` : restarts} - ${restarts} offset 5m, 0)`;
const BY_CONTAINER_LABELS = 'by (namespace, pod, container)';
/**
 * OOM kills in 24h per container: the largest of three views. cAdvisor's OOM events miss the
 * kill of a container's main process (its cgroup goes with it, and the new container's counter
 * starts at 0). kube-state-metrics says only why a container last terminated, so its restarts
 * are counted in 5-minute steps at whose end the last termination was OOMKilled (exact while a
 * container restarts at most once a step), and a container that restarted in 24h and last
 * terminated OOMKilled counts at least 1 (the minutes since the last step).
 */
function oomKills(s: ScopeSelectors, restarts: string): string {
  const oomLast = `(kube_pod_container_status_last_terminated_reason{${s.pod('reason="OOMKilled"')}} == 1)`;
  const tag = (x: string, src: string) => `label_replace(${x}, "src", "${src}", "", "")`;
  const events = `round(increase(container_oom_events_total{${s.pod(...CONTAINERS)}}[24h]))`;
  // filtered to OOMKilled containers before the subtraction: at each of the 288 steps that
  // leaves few series to match (the same result as filtering after, at half the cost)
  const steps = `sum ${BY_CONTAINER_LABELS} (sum_over_time(${restartsIn5m(restarts, `${BY_CONTAINER} ${oomLast}`)}[24h:5m]))`;
  const atLeast = `count ${BY_CONTAINER_LABELS} ((increase(${restarts}[24h]) > 0) and ${BY_CONTAINER} ${oomLast})`;
  return `max ${BY_CONTAINER_LABELS} (${tag(events, 'cadvisor')} or ${tag(steps, 'steps')} or ${tag(atLeast, 'last')})`;
}

export const BATCHES: readonly Batch[] = [
  {
    id: 'usage',
    exprs: (s) => {
      // cAdvisor's root cgroup (id="/", no pod label) is the host's interfaces, pods' traffic included
      const net = (m: string) => `sum(${s.owned(`rate(${m}{${s.pod(...(s.scope.kind === 'cluster' ? ['pod!=""'] : []))}}[5m])`)})`;
      return {
        _cpu: usage(s, 'cpu'),
        _cpu_5m: usage(s, 'cpu', ' offset 5m'),
        _cpu_1h: usage(s, 'cpu', ' offset 1h'),
        _cpu_1d: usage(s, 'cpu', ' offset 1d'),
        // the cluster's use is _cpu itself (the builder falls back to it)
        _cpu_used: s.scope.kind === 'cluster' ? null : used(s, 'cpu'),
        _cpu_cap: capacityOr0(s, 'cpu'),
        _cpu_unlimited: unlimited(s, 'cpu'),
        _mem: usage(s, 'memory'),
        _mem_5m: usage(s, 'memory', ' offset 5m'),
        _mem_1h: usage(s, 'memory', ' offset 1h'),
        _mem_1d: usage(s, 'memory', ' offset 1d'),
        _mem_used: s.scope.kind === 'cluster' ? null : used(s, 'memory'),
        _mem_cap: capacityOr0(s, 'memory'),
        _mem_unlimited: unlimited(s, 'memory'),
        network_bytes_in: net('container_network_receive_bytes_total'),
        network_bytes_out: net('container_network_transmit_bytes_total'),
      };
    },
  },
  {
    id: 'inventory',
    exprs: (s) => {
      const fs = (m: string) => `${m}{mountpoint="/",fstype!~"tmpfs|overlay|squashfs"}`;
      const vol = (m: string) => `${m}{${s.namespace()}}`;
      const pods = s.owned(`kube_pod_info{${s.pod()}}`);
      const both = 'resource=~"cpu|memory"';
      const requests = s.owned(`kube_pod_container_resource_requests{${s.pod(both)}}`);
      const perResource = (names: string, expr: string) => grouped('resource', { cpu: `_cpu_${names}`, memory: `_mem_${names}` }, `sum by (resource) (${expr})`);
      return {
        disk_utilization: `max(${s.onNodeExporter(`1 - ${fs('node_filesystem_avail_bytes')} / ${fs('node_filesystem_size_bytes')}`)})`,
        // not increase(): its extrapolation made 2 restarts 2.5, rounded to 3
        container_restarts: `sum(${s.owned(restartsIn5m(`kube_pod_container_status_restarts_total{${s.pod()}}`))})`,
        pod_count: `count(${pods})`,
        // an unscheduled pod has no node label: not a node
        node_count: s.scope.kind === 'cluster' ? 'count(kube_node_info)' : `count(count by (node) (${s.owned(`kube_pod_info{${s.pod('node!=""')}}`)}))`,
        pvc_utilization: `max(${vol('kubelet_volume_stats_used_bytes')} / ${vol('kubelet_volume_stats_capacity_bytes')}${s.onClaims()})`,
        pods_not_running: `sum(${s.owned(`kube_pod_status_phase{${s.pod('phase=~"Pending|Failed|Unknown"')}}`)})`,
        image_pull_failures: `count(${s.owned(`kube_pod_container_status_waiting_reason{${s.pod('reason=~"ImagePullBackOff|ErrImagePull|InvalidImageName"')}} == 1`)})`,
        time_since_last_restart: `time() - max(${s.owned(`kube_pod_container_state_started{${s.pod()}}`)})`,
        _requests: perResource('req', requests),
        // limits are 0 when pods exist but none has one (ZERO_WITH_PODS); requests only of limited containers (<= their limits)
        _limits: perResource('lim', s.owned(`kube_pod_container_resource_limits{${s.pod(both)}}`)),
        _requests_limited: perResource('req_limited', `${requests} and on(namespace, pod, container, resource) kube_pod_container_resource_limits{${s.pod(both)}}`),
      };
    },
  },
  {
    // One range query gives both 24h series; avg and max come from the same evaluation,
    // where avg_over_time and max_over_time subqueries would each evaluate it again.
    id: 'history',
    range: true,
    exprs: (s) => ({
      _cpu_ratio: `${used(s, 'cpu')} / ${capacity(s, 'cpu')}`,
      _mem_ratio: `${used(s, 'memory')} / ${capacity(s, 'memory')}`,
    }),
  },
  {
    id: 'events',
    exprs: (s) => {
      const restarts = `kube_pod_container_status_restarts_total{${s.pod()}}`;
      // a pod deleted since still counts: its owner is looked up over the window
      return {
        restarts_24h: `round(sum(${s.owned(`increase(${restarts}[24h])`, '[24h]')}))`,
        restarts_7d: `round(sum(${s.owned(`increase(${restarts}[7d])`, '[7d]')}))`,
        oom_kill_count: zeroIf(`sum(${s.owned(oomKills(s, restarts), '[24h]')})`, s.owned(restarts)),
        // 0 for a deployment without an HPA, but only when kube-state-metrics reports HPAs at all
        // (a pod that no deployment owns: not_applicable, from _pod_deployment)
        hpa_scaling_events: zeroIf(
          `sum(changes(kube_horizontalpodautoscaler_status_desired_replicas{${s.namespace()}}[24h]) and on(namespace, horizontalpodautoscaler) ${s.hpas()})`,
          'kube_horizontalpodautoscaler_info',
        ),
      };
    },
  },
  {
    id: 'platform',
    exprs: (s) => {
      const claims = `kube_persistentvolumeclaim_status_phase{${s.namespace('phase="Bound"')}}${s.onClaims()}`;
      const ep = `kube_endpoint_address_available{${s.namespace()}}`;
      const epNew = (extra: string) => `count(count by (namespace, endpoint) (kube_endpoint_address{${s.namespace(extra)}}))`;
      // each deployment counted once: a later label_replace overrides an earlier, so ArgoCD beats Operator beats Helm
      const byMethod = [
        ['label_app_kubernetes_io_managed_by', 'helm', '(?i)helm'],
        ['label_app_kubernetes_io_managed_by', 'operator', '(?i).*(operator|olm).*'],
        ['label_app_kubernetes_io_managed_by', 'argocd', '(?i)argo.*'],
        ['label_argocd_argoproj_io_instance', 'argocd', '.+'],
      ].reduce((x, [from, to, re]) => `label_replace(${x}, "method", "${to}", "${from}", "${re}")`, s.deployments('kube_deployment_labels'));
      const base: Exprs = {
        _pressure: pressures(s),
        operators_not_ready: zeroIf(
          'count(count by (name) (cluster_operator_conditions{condition="Degraded"} == 1 or cluster_operator_conditions{condition="Available"} == 0))',
          'count by (name) (cluster_operator_conditions)',
        ),
        pvcs_bound: `sum(${claims}) / count(${claims})`,
        services_healthy:
          `(${zeroIf(`count(${ep} > 0)`, ep)}) / count(${ep})` +
          ` or (${epNew('ready="true"')} / ${epNew('')})`,
        ingress_healthy: `avg(haproxy_backend_up{${s.namespace()}})`,
      };
      const podDeployment = s.podDeployment();
      // the scope's claims, 0 when it has none but the cluster has some (so kube-state-metrics reports them)
      base._pvc_count = zeroIf(`count(${claims})`, 'kube_persistentvolumeclaim_status_phase');
      if (podDeployment !== null) base._pod_deployment = zeroIf(`count(${podDeployment})`, `kube_pod_owner{${s.pod()}}`);
      const labelled = DEPLOYMENT_LABELS.map((l) => `kube_deployment_labels{${l}!=""}`).join(' or ');
      return {
        ...base,
        _deploys: grouped(
          'method',
          { argocd: '_deploys_argocd', operator: '_deploys_operator', helm: '_deploys_helm', '': '_deploys_other' },
          // once per deployment, however many kube-state-metrics replicas report it
          `count by (method) (max by (namespace, deployment, method) (${byMethod}))`,
        ),
        // anywhere in the cluster: kube-state-metrics v2 exposes deployment labels only when allow-listed
        _deploys_labelled: zeroIf(`count(${labelled})`, 'kube_deployment_labels'),
      };
    },
  },
];

/**
 * Relative Prometheus cost of the entries that read long windows (every sample of 24h or 7d)
 * or evaluate a subquery; every other entry counts 1. From the fixture's query statistics,
 * where a light entry takes about 0.3 ms: the same order in every scope.
 */
export const ENTRY_COST: Readonly<Record<string, number>> = { oom_kill_count: 10, restarts_7d: 8, restarts_24h: 2, hpa_scaling_events: 2, disk_utilization: 2 };

/**
 * Packs items into at most `parallel` groups of about equal cost (largest first, each to the
 * lightest group). Requests that finish together keep every Prometheus core busy to the end;
 * on a CPU-bound Prometheus a few balanced requests beat many small ones.
 */
export function packByCost<T extends { cost: number }>(items: readonly T[], parallel: number): T[][] {
  const groups: { cost: number; items: T[] }[] = Array.from({ length: Math.max(1, Math.min(parallel, items.length)) }, () => ({ cost: 0, items: [] }));
  for (const it of [...items].sort((x, y) => y.cost - x.cost)) {
    const g = groups.reduce((a, x) => (x.cost < a.cost ? x : a));
    g.items.push(it);
    g.cost += it.cost;
  }
  return groups.map((g) => g.items);
}

/** An entry's expression with its results tagged feature="<name>" (a Grouped one's by its label). */
export function tagged(name: string, e: string | Grouped): string {
  if (typeof e === 'string') return `label_replace(${e}, "feature", "${name}", "", "")`;
  // a series whose label matches no name keeps no feature label and is ignored
  return Object.entries(e.names).reduce((x, [value, feature]) => `label_replace(${x}, "feature", "${feature}", "${e.by}", "${value}")`, e.expr);
}

/** One PromQL expression answering a whole batch, each result tagged with label feature="<name>". */
export function batchQuery(exprs: Exprs): string {
  return Object.entries(exprs)
    .filter((e): e is [string, string | Grouped] => e[1] !== null)
    .map(([name, e]) => tagged(name, e))
    .join(' or ');
}
