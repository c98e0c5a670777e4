// What reading a query with Prometheus's grammar (src/prometheus/promql-syntax.ts) costs, as
// built: the first use (the parser's tables are loaded then), and each parse of typical
// queries, beside JSON.parse of the smallest range answer every such query gets back (one
// series of 100 points), measured in the same run.
//   npx tsx tools/bench-promql.ts [--runs N]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 20_000;

const QUERIES = [
  'container_memory_working_set_bytes{namespace="shop",pod=~"api-.*"}',
  'sum by (namespace) (rate(container_cpu_usage_seconds_total{container!=""}[5m]))',
  'histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket{job="api",code=~"5.."}[5m] offset 1h)))',
];

// Runs in a fresh node on the bundled module, as the server loads it.
const child = `
const t0 = performance.now();
const { shapeOf } = require(process.argv[1]);
const load = performance.now() - t0;
const queries = ${JSON.stringify(QUERIES)};
const answer = JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { pod: 'api-1' }, values: Array.from({ length: 100 }, (_, i) => [1.7e9 + i * 60, String(i * 1.5)]) }] } });
const time = (f) => { for (let i = 0; i < 2000; i++) f(); const t = performance.now(); for (let i = 0; i < ${runs}; i++) f(); return ((performance.now() - t) / ${runs}) * 1000; };
const json = time(() => JSON.parse(answer));
console.log('first use (load + tables): ' + load.toFixed(1) + ' ms');
console.log('JSON.parse of a 100-point answer: ' + json.toFixed(1) + ' us');
for (const q of queries) { const us = time(() => shapeOf(q)); console.log((us.toFixed(1) + ' us').padStart(9) + '  x' + (us / json).toFixed(2) + ' of that JSON.parse  ' + q.length + ' chars: ' + q.slice(0, 60)); }
`;

const dir = mkdtempSync(join(tmpdir(), 'bench-promql-'));
try {
  const out = join(dir, 'promql-syntax.cjs');
  await build({ entryPoints: [join(ROOT, 'src/prometheus/promql-syntax.ts')], outfile: out, bundle: true, platform: 'node', format: 'cjs', minifySyntax: true, logLevel: 'warning' });
  const r = spawnSync(process.execPath, ['-e', child, out], { encoding: 'utf8' });
  process.stdout.write(r.stdout + r.stderr);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
