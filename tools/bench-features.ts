// Benchmark: the feature vector's wall time against the slowest single PromQL query it
// needs and against the same queries one after another, measured in one run against one
// Prometheus; and the upstream requests per vector, cold and warm.
//
//   npx tsx tools/bench-features.ts [--n 30] [--url http://127.0.0.1:9090]
import { HISTORY_MS, HISTORY_STEP_MS, buildFeatures, featurePlans } from '../src/features/builder.js';
import { batchQuery } from '../src/features/catalog.js';
import { checkScope, type Scope } from '../src/features/scope.js';
import { createLogger } from '../src/log.js';
import { PrometheusClient } from '../src/prometheus/client.js';
import { plainSettings } from '../src/prometheus/settings.js';
import { startFixturePrometheus } from './test-prometheus.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
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

console.log(`build_features benchmark, ${N} vectors per scope, ${PARALLEL} parallel requests per vector, Prometheus ${url}, node ${process.version}`);
console.log('scope                  | vector p50/p99    | slowest query p50 | sequential p50 | vector/slowest | sequential/vector | requests cold/warm');
const scopes: Scope[] = [checkScope('namespace', 'payments', undefined), checkScope('deployment', 'web', 'api-gateway'), checkScope('cluster', undefined, undefined)];
for (const scope of scopes) {
  const plans = featurePlans(scope, PARALLEL);
  const time = Date.now() - 60_000;
  for (let i = 0; i < 3; i++) await buildFeatures(cold, scope, { ...opts, time }); // warm up Prometheus and the JIT
  const vector: number[] = [];
  const slowest: number[] = [];
  const sequential: number[] = [];
  for (let i = 0; i < N; i++) {
    // interleaved so both see the same Prometheus state
    vector.push(await timed(() => buildFeatures(cold, scope, { ...opts, time })));
    const each: number[] = [];
    for (const p of plans) {
      const q = batchQuery(p.exprs);
      each.push(
        await timed(async () => {
          if (p.range) await cold.queryRange(q, { start: time - HISTORY_MS, end: time, step: HISTORY_STEP_MS });
          else await cold.query(q, { time });
        }),
      );
    }
    slowest.push(Math.max(...each));
    sequential.push(each.reduce((a, b) => a + b, 0));
  }
  coldRequests = 0;
  await buildFeatures(cold, scope, { ...opts, time });
  const perCold = coldRequests;
  await buildFeatures(warm, scope, { ...opts, time });
  warmRequests = 0;
  await buildFeatures(warm, scope, { ...opts, time });
  const perWarm = warmRequests;
  const name = scope.kind === 'cluster' ? 'cluster' : `${scope.kind} ${scope.name ?? scope.namespace}`;
  console.log(
    `${name.padEnd(22)} | ${`${pct(vector, 50).toFixed(1)} / ${pct(vector, 99).toFixed(1)} ms`.padEnd(17)} | ${`${pct(slowest, 50).toFixed(1)} ms`.padEnd(17)} | ${`${pct(sequential, 50).toFixed(1)} ms`.padEnd(14)} | ${(pct(vector, 50) / pct(slowest, 50)).toFixed(2).padStart(14)} | ${(pct(sequential, 50) / pct(vector, 50)).toFixed(2).padStart(17)} | ${`${perCold} / ${perWarm}`.padStart(18)}`,
  );
}
await cold.close();
await warm.close();
await env?.stop();
