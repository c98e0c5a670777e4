// A compact text rendering of a feature vector for agents: one line per group, units
// folded in, nulls listed with their reasons, and the suggested next call.
import { formatDuration } from '../time.js';
import { short } from '../prometheus/shape.js';
import type { FeatureResult, Value } from './builder.js';

function n(v: Value | undefined, digits = 3): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v;
  return Math.abs(v) >= 1000 ? short(v) : String(Number(v.toPrecision(digits)));
}
const pct = (v: Value | undefined) => (typeof v === 'number' ? `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%` : '-');

export function renderFeatures(r: FeatureResult, next?: { tool: string; arguments: Record<string, unknown> }): string {
  const f = { ...r.features.resource_utilization, ...r.features.trends, ...r.features.history, ...r.features.platform_health, ...r.features.workload, ...r.features.metadata };
  const what = r.scope.kind === 'cluster' ? 'cluster' : r.scope.kind === 'namespace' ? `namespace ${r.scope.namespace}` : `${r.scope.kind} ${r.scope.namespace}/${r.scope.name}`;
  const day = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][Number(f.day_of_week)] ?? '-';
  const hour = typeof f.time_of_day === 'number' ? `${String(Math.floor(f.time_of_day)).padStart(2, '0')}:${String(Math.round((f.time_of_day % 1) * 60) % 60).padStart(2, '0')}` : '-';
  const lines = [
    `${what} at ${r.time} (${r.timezone}): ${r.real}/${r.total} features real${r.not_applicable ? ` (${r.not_applicable} not applicable)` : ''}${r.degraded ? ', degraded: some lack data' : ''}.`,
    ...r.errors.map((e) => `error: ${e}`),
    ...r.warnings.map((w) => `warning: ${w}`),
    `utilization (0-1): cpu ${n(f.cpu_utilization)}, memory ${n(f.memory_utilization)}, disk ${n(f.disk_utilization)}, pvc ${n(f.pvc_utilization)}; network in ${n(f.network_bytes_in)}B/s out ${n(f.network_bytes_out)}B/s; ${n(f.pod_count)} pods on ${n(f.node_count)} nodes; restarts in 5m ${n(f.container_restarts)}`,
    `trends: cpu 5m ${pct(f.cpu_trend_5m)}, 1h ${pct(f.cpu_trend_1h)}, 24h ${pct(f.cpu_daily_change)}; memory 5m ${pct(f.memory_trend_5m)}, 1h ${pct(f.memory_trend_1h)}, 24h ${pct(f.memory_daily_change)}`,
    `last 24h: cpu avg ${n(f.cpu_24h_avg)} max ${n(f.cpu_24h_max)}; memory avg ${n(f.memory_24h_avg)} max ${n(f.memory_24h_max)}; restarts 24h ${n(f.restarts_24h)}, 7d ${n(f.restarts_7d)}`,
    `health: nodes with memory/disk/PID pressure ${n(f.node_memory_pressure)}/${n(f.node_disk_pressure)}/${n(f.node_pid_pressure)}; operators not ready ${n(f.operators_not_ready)}; pods not running ${n(f.pods_not_running)}; PVCs bound ${n(f.pvcs_bound)}; services healthy ${n(f.services_healthy)}; routes up ${n(f.ingress_healthy)}`,
    `workload per pod: cpu request ${n(f.avg_pod_cpu_request)} limit ${n(f.avg_pod_cpu_limit)} cores, memory request ${n(f.avg_pod_memory_request)}B limit ${n(f.avg_pod_memory_limit)}B; requests/limits ${n(f.request_to_limit_ratio)}; OOM kills 24h ${n(f.oom_kill_count)}; image pull failures ${n(f.image_pull_failures)}; HPA scaling events 24h ${n(f.hpa_scaling_events)}`,
    `metadata: ${n(f.deployment_method)}, ${n(f.layer)} layer, issue ${n(f.issue_type)}, last container start ${typeof f.time_since_last_restart === 'number' ? `${formatDuration(f.time_since_last_restart * 1000)} ago` : '-'}, ${day} ${hour} ${f.is_business_hours === 1 ? 'in' : 'outside'} business hours`,
  ];
  const byReason = new Map<string, string[]>();
  for (const [k, why] of Object.entries(r.nulls)) {
    const reason = why.startsWith('error') ? 'error' : why;
    byReason.set(reason, [...(byReason.get(reason) ?? []), k]);
  }
  if (byReason.size) {
    const parts = [...byReason].map(([reason, ks]) => (ks.length > 8 ? `${ks.length} features ${reason}` : `${ks.join(', ')} (${reason})`));
    lines.push(`null: ${parts.join('; ')}`);
  }
  if (next) lines.push(`next: ${next.tool} ${JSON.stringify(next.arguments)}`);
  return lines.join('\n');
}
