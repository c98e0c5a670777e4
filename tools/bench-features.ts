// Benchmark: the feature vector's wall time against two baselines, measured in one run against
// one Prometheus: its own batched requests (slowest alone, all in sequence) and every feature
// expression on its own (slowest alone; all one by one, as the seed's client queried them).
// The second says what batching and parallelism gain over querying feature by feature. And
// what the machine allows: two copies of the slowest request at once against one alone (on
// 2 cores shared with this process, well above 1: a vector split into requests of equal size
// takes about that ratio of its slowest). Also the upstream requests per vector, cold and warm.
//
//   npx tsx tools/bench-features.ts [--n 30] [--parallel 2] [--url http://127.0.0.1:9090]
import { availableParallelism } from 'node:os';
import { HISTORY_MS, HISTORY_STEP_MS, buildFeatures, deploymentReplicaSets, featurePlans, type Plan } from '../src/features/builder.js';
import { batchQuery, tagged } from '../src/features/catalog.js';
import { checkScope, type Scope } from '../src/features/scope.js';
import { createLogger } from '../src/log.js';
import { PrometheusClient } from '../src/prometheus/client.js';
import { plainSettings } from '../src/prometheus/settings.js';
import { startFixturePrometheus } from './test-prometheus.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
if (process.argv.includes('--help')) {
  console.log('usage: npx tsx tools/bench-features.ts [--n 30] [--parallel 2] [--url URL]\n  without --url it starts the fixture Prometheus (tools/test-prometheus.ts)');
  process.exit(0);
}
const N = Number(arg('--n', '30'));
const PARALLEL = Number(arg('--parallel', '2'));
const env = process.argv.includes('--url') ? null : await startFixturePrometheus({ log: (s) => console.error(s) });
const url = env?.url ?? arg('--url', '');

const settings = (cacheTtlMs: number) => plainSettings(url, { timeoutMs: 30_000, cacheTtlMs });
const log = createLogger('silent');
const cold = new PrometheusClient(settings(0), log);
const warm = new PrometheusClient(settings(300_000), log);
let coldRequests = 0;
let warmRequests = 0;
cold.addObserver({ request: () => coldRequests++ });
warm.addObserver({ request: () => warmRequests++ });

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const opts = { timezone: 'UTC', businessHours: [9, 17] as [number, number], parallel: PARALLEL };

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

console.log(`build_features benchmark, ${N} vectors per scope, ${PARALLEL} parallel requests per vector, Prometheus ${url}, node ${process.version}, ${availableParallelism()} cores`);
console.log('batches: the vector\'s own requests; features: each expression alone. p50 over the runs.');
console.log(
  'scope                             | vector p50/p99    | slowest batch | batches in seq | slowest feature | features in seq | vector/slowest batch | vector/slowest feature | features in seq/vector | requests cold/warm | slowest batch 2 at once/alone',
);
const scopes: Scope[] = [checkScope('namespace', 'payments', undefined), checkScope('deployment', 'web', 'api-gateway'), checkScope('cluster', undefined, undefined)];
for (const scope of scopes) {
  const time = Date.now() - 60_000;
  // a deployment's ReplicaSets are looked up first (one request before the batches)
  const replicaSets = await deploymentReplicaSets(cold, scope, time);
  const plans = featurePlans(scope, PARALLEL, replicaSets);
  for (let i = 0; i < 3; i++) await buildFeatures(cold, scope, { ...opts, time }); // warm up Prometheus and the JIT
  const vector: number[] = [];
  const slowest: number[] = [];
  const sequential: number[] = [];
  const slowestFeature: number[] = [];
  const perPlan: number[][] = plans.map(() => []);
  const sequentialFeatures: number[] = [];
  const run = async (q: string, range: boolean): Promise<void> => {
    if (range) await cold.queryRange(q, { start: time - HISTORY_MS, end: time, step: HISTORY_STEP_MS });
    else await cold.query(q, { time });
  };
  // each entry alone (a grouped one answers several features in one expression)
  const features = plans.flatMap((p) => Object.entries(p.exprs).flatMap(([name, e]) => (e === null ? [] : [{ q: tagged(name, e), range: p.range }])));
  for (let i = 0; i < N; i++) {
    // interleaved so both see the same Prometheus state
    vector.push(await timed(() => buildFeatures(cold, scope, { ...opts, time })));
    const each: number[] = [];
    if (replicaSets) each.push(await timed(() => deploymentReplicaSets(cold, scope, time)));
    for (const [k, p] of plans.entries()) {
      const q = batchQuery(p.exprs);
      const ms = await timed(async () => {
        if (p.range) await cold.queryRange(q, { start: time - HISTORY_MS, end: time, step: HISTORY_STEP_MS });
        else await cold.query(q, { time });
      });
      perPlan[k]!.push(ms);
      each.push(ms);
    }
    slowest.push(Math.max(...each));
    sequential.push(each.reduce((a, b) => a + b, 0));
    const one: number[] = [];
    for (const f of features) one.push(await timed(() => run(f.q, f.range)));
    slowestFeature.push(Math.max(...one));
    sequentialFeatures.push(one.reduce((a, b) => a + b, 0));
  }
  coldRequests = 0;
  await buildFeatures(cold, scope, { ...opts, time });
  const perCold = coldRequests;
  await buildFeatures(warm, scope, { ...opts, time });
  warmRequests = 0;
  await buildFeatures(warm, scope, { ...opts, time });
  const perWarm = warmRequests;
  // the slowest request, alone and as two copies at once, at different times so they share no
  // answer (a range query's times are aligned to its step: a step apart)
  const heavy = plans[perPlan.map((xs) => pct(xs, 50)).reduce((a, x, k, all) => (x > all[a]! ? k : a), 0)]!;
  const runAt = (p: Plan, at: number): Promise<unknown> =>
    p.range ? cold.queryRange(batchQuery(p.exprs), { start: at - HISTORY_MS, end: at, step: HISTORY_STEP_MS }) : cold.query(batchQuery(p.exprs), { time: at });
  const alone: number[] = [];
  const pair: number[] = [];
  for (let i = 0; i < N; i++) {
    const apart = heavy.range ? HISTORY_STEP_MS : 1000;
    alone.push(await timed(() => runAt(heavy, time - apart * (3 * i))));
    pair.push(await timed(() => Promise.all([runAt(heavy, time - apart * (3 * i + 1)), runAt(heavy, time - apart * (3 * i + 2))])));
  }
  const name = scope.kind === 'cluster' ? 'cluster' : `${scope.kind} ${scope.name ?? scope.namespace}`;
  const ms = (xs: number[]) => `${pct(xs, 50).toFixed(1)} ms`;
  const v = pct(vector, 50);
  console.log(
    [
      `${name} (${features.length} expr)`.padEnd(33),
      `${v.toFixed(1)} / ${pct(vector, 99).toFixed(1)} ms`.padEnd(17),
      ms(slowest).padEnd(13),
      ms(sequential).padEnd(14),
      ms(slowestFeature).padEnd(15),
      ms(sequentialFeatures).padEnd(15),
      (v / pct(slowest, 50)).toFixed(2).padStart(20),
      (v / pct(slowestFeature, 50)).toFixed(2).padStart(22),
      (pct(sequentialFeatures, 50) / v).toFixed(2).padStart(22),
      `${perCold} / ${perWarm}`.padStart(18),
      (pct(pair, 50) / pct(alone, 50)).toFixed(2).padStart(29),
    ].join(' | '),
  );
}
await cold.close();
await warm.close();
await env?.stop();
