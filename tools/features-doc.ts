// Writes docs/features.md, the reference of every feature and the PromQL behind it, from
// the catalog itself. `npx tsx tools/features-doc.ts` rewrites it; a test fails when it is stale.
import { writeFileSync } from 'node:fs';
import { BATCHES, DEPLOYMENT_METHODS, DERIVATIONS, DEVIATIONS, ENTRY_COST, FEATURES, ISSUE_TYPES, LAYERS, type Grouped } from '../src/features/catalog.js';
import { lostReplicaSetsQuery } from '../src/features/builder.js';
import { MAX_REPLICASETS, ScopeSelectors, checkScope } from '../src/features/scope.js';

export function featuresDoc(): string {
  const lines = [
    '# build_features reference',
    '',
    'Generated from `src/features/catalog.ts` by `npx tsx tools/features-doc.ts`; do not edit by hand.',
    '',
    'The vector holds these 45 features in this order (`names` in every result). Categories are encoded as codes;',
    `deployment_method ${JSON.stringify(DEPLOYMENT_METHODS)}, layer ${JSON.stringify(LAYERS)}, issue_type ${JSON.stringify(ISSUE_TYPES)};`,
    'namespace as a stable hash in [0, 1). A feature without data is null with a reason (`no_data`, `not_applicable`,',
    '`no_limits`, `no_labels: <how to enable them>`, `error: see errors[i]`) in `nulls`; nothing is filled in. Ratios (unit `ratio 0-1`) stay within 0-1 (utilization clamped: see below).',
    '',
    '| # | feature | group | unit | meaning | computed as |',
    '|---|---|---|---|---|---|',
    ...FEATURES.map((f, i) => `| ${i} | \`${f.name}\` | ${f.group} | ${f.unit} | ${f.description} | ${DERIVATIONS[f.name] ?? 'query of the same name'} |`),
    '',
    '## Deviations from ADR-014',
    '',
    ...Object.entries(DEVIATIONS).map(([name, why]) => `- \`${name}\`: ${why}`),
    '',
    '## The queries',
    '',
    'Each batch is one PromQL expression: every part below is tagged with `label_replace(..., "feature", "<name>", "", "")`',
    'and the parts are joined with `or` (a part answering several features is tagged by one of its labels). The',
    'history batch is a range query over the 24 hours before the vector\'s time at 5-minute steps, in a request of its',
    'own (a range query cannot share one with instant queries); the instant parts of every other batch are packed by',
    `cost (long windows and subqueries weigh more: ${Object.entries(ENTRY_COST).map(([n, c]) => `${n} ${c}`).join(', ')}; any other part 1) into`,
    '`max(1, FEATURE_QUERY_PARALLELISM - 1)` requests. A vector takes at least 2 requests, even with `FEATURE_QUERY_PARALLELISM=1`. Shown for',
    '`{"scope":"namespace","namespace":"payments"}`; a pod scope adds `pod="<name>"`. A deployment scope keeps',
    'every pod series, before it is aggregated, to the pods of the ReplicaSets the deployment owned at that time (not to',
    'pods named like the deployment: a DaemonSet\'s `node-exporter-x7k2p` is no pod of a deployment `node`). One small',
    'lookup before the batches names the ReplicaSets it owned in the last 7 days (the series API on',
    '`kube_replicaset_owner{owner_kind="Deployment",owner_name="<deployment>"}`, an index lookup) and, alongside, those',
    'named like its own that exist now but that it does not control (orphaned by `kubectl delete --cascade=orphan`,',
    `adopted by another controller): \`${lostReplicaSetsQuery(checkScope('deployment', 'web', 'api-gateway'))}\`. When none changed`,
    'hands and all are named `<deployment>-...`, the pods are matched by the names a ReplicaSet gives its pods,',
    '`<replicaset>-` and 5 characters:',
    `\`${new ScopeSelectors(checkScope('deployment', 'web', 'api-gateway'), ['api-gateway-84b6c5d7f']).pod()}\`. That is far cheaper for`,
    'Prometheus than an owner join in every expression. When a ReplicaSet changed hands in the window (its pods were the',
    'deployment\'s for part of it), or the names cannot be listed that way (none found, more than',
    `${MAX_REPLICASETS}, a name that generateName would cut, or the request was refused), every pod series is joined to its owners instead,`,
    'looked up at the same offset, or over the window for 24h and 7d counts (a pod deleted since still counts), as below; a pod\'s deployment (for',
    'deployment labels and HPAs) is its ReplicaSet\'s owner, and a pod no deployment owns has `deployment_method` and',
    '`hpa_scaling_events` `not_applicable`. Node and claim features keep to the nodes and claims those pods use, and',
    'the cluster scope drops the namespace and measures against node allocatable.',
    '',
    `- deployment \`web/api-gateway\`: \`${new ScopeSelectors(checkScope('deployment', 'web', 'api-gateway')).owned('X')}\``,
    `- pod \`web/api-gateway-84b6c5d7f-x7k2p\`, its deployment: \`${new ScopeSelectors(checkScope('pod', 'web', 'api-gateway-84b6c5d7f-x7k2p')).podDeployment()}\``,
    '',
  ];
  const ns = new ScopeSelectors(checkScope('namespace', 'payments', undefined));
  const cluster = new ScopeSelectors(checkScope('cluster', undefined, undefined));
  for (const b of BATCHES) {
    lines.push(`### ${b.id}${b.range ? ' (range query, 24h at 5m)' : ''}`, '');
    const c = b.exprs(cluster);
    const shown = (e: string | Grouped | null) =>
      e === null ? 'not applicable' : typeof e === 'string' ? e : `${e.expr}\` (by ${e.by}: ${Object.entries(e.names).map(([v, n]) => `${v || '(none)'} = ${n}`).join(', ')})\``;
    for (const [name, e] of Object.entries(b.exprs(ns))) {
      const here = shown(e);
      const there = c[name] === undefined ? null : shown(c[name]);
      lines.push(`- \`${name}\`: \`${here}\``.replace(/\`\`$/, ''));
      if (there && c[name] !== null && there !== here.replace(/namespace="payments",?/g, '')) lines.push(`  - cluster: \`${there}\``.replace(/\`\`$/, ''));
    }
    lines.push('');
  }
  return `${lines.join('\n')}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(new URL('../docs/features.md', import.meta.url), featuresDoc());
  console.log('wrote docs/features.md');
}
