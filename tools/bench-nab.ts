// detect_anomaly on real, labelled series: the 27 NAB files in tools/nab/data, run through the
// tool's own code path (detectAnomalies with inline values and timestamps, as the handler calls
// it) and scored as NAB scores them (tools/nab/score.ts), beside NAB's published detectors.
//   npx tsx tools/bench-nab.ts [--mark onset|peak|span] [--sensitivity S] [--files REGEX] [--per-file] [--no-speed]
// How anomalies become per-point scores (docs/anomaly-benchmark.md): each reported anomaly puts
// its score on its onset (`from`; --mark peak: on `at`; --mark span: on every point from..to);
// every other point scores 0. The threshold NAB optimises then runs over the anomalies' scores.
import { pathToFileURL } from 'node:url';
import { detectAnomalies } from '../src/anomaly/service.js';
import { throughput } from './bench-anomaly.js';
import { loadCorpus, loadScores, nabScores, windowCount, type NabFile, type ProfileName } from './nab/score.js';

export type Mark = 'onset' | 'peak' | 'span';

/** Published per-point outputs shipped with the data, strongest first. */
const ANCHORS = ['ARTime', 'contextOSE', 'numenta', 'twitterADVec', 'randomCutForest', 'relativeEntropy'];
const CATEGORIES = ['realAdExchange', 'realTweets', 'artificialWithAnomaly', 'artificialNoAnomaly'];
/** The threshold the window counts are given at (the reference scorer's): what medium sensitivity reports. */
const WINDOW_THRESHOLD = 0.5;

/** Index of the timestamp nearest to t (timestamps ascending). */
function nearest(ts: readonly number[], t: number): number {
  let lo = 0;
  let hi = ts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && t - ts[lo - 1]! < ts[lo]! - t ? lo - 1 : lo;
}

/** The tool's anomalies for one file as one score per point. */
export async function toolScores(f: NabFile, mark: Mark, sensitivity: string): Promise<Float64Array> {
  const values = f.timestamps.map((t, i) => [String(t / 1000), String(f.values[i])]);
  const { report } = await detectAnomalies(null, { series: [{ values }], sensitivity, method: 'auto', top: 1 });
  const out = new Float64Array(f.values.length);
  const put = (i: number, s: number) => (out[i] = Math.max(out[i]!, s));
  for (const a of report.series[0]?.anomalies ?? []) {
    const from = nearest(f.timestamps, Date.parse(a.from));
    const to = nearest(f.timestamps, Date.parse(a.to));
    if (mark === 'onset') put(from, a.score);
    else if (mark === 'peak') put(nearest(f.timestamps, Date.parse(a.at)), a.score);
    else for (let i = from; i <= to; i++) put(i, a.score);
  }
  return out;
}

const f2 = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : v.toFixed(1));

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  return rows.map((r, k) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]!) : c.padStart(w[j]!))).join('  ') + (k === 0 ? `\n${'-'.repeat(w.reduce((a, b) => a + b + 2, -2))}` : '')).join('\n');
}

/** One detector's row: the three NAB profiles, per category, and window counts. */
function row(name: string, files: NabFile[], scores: Float64Array[]): string[] {
  const r = nabScores(files, scores);
  const w = windowCount(files, scores, WINDOW_THRESHOLD);
  const p = (k: ProfileName) => f2(r[k].normalized);
  // artificialNoAnomaly has no windows to score: its false positives are counted instead.
  const noAnomaly = files.map((f, i) => ({ f, i })).filter((x) => x.f.category === 'artificialNoAnomaly');
  const quiet = windowCount(noAnomaly.map((x) => x.f), noAnomaly.map((x) => scores[x.i]!), r.standard.threshold).fpPoints;
  return [
    name,
    p('standard'),
    p('reward_low_FP_rate'),
    p('reward_low_FN_rate'),
    r.standard.threshold.toPrecision(3),
    ...CATEGORIES.map((c) => (c === 'artificialNoAnomaly' ? `${quiet} FP` : f2(r.standard.perCategory[c]))),
    `${w.found}/${w.found + w.missed}`,
    w.precision.toFixed(3),
    w.recall.toFixed(3),
    String(w.fpPoints),
  ];
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const mark = (arg('--mark') ?? 'onset') as Mark;
  const sensitivity = arg('--sensitivity') ?? 'medium';
  const only = arg('--files');
  const files = loadCorpus(undefined, only ? new RegExp(only) : undefined);
  const started = performance.now();
  const ours: Float64Array[] = [];
  for (const f of files) ours.push(await toolScores(f, mark, sensitivity));
  const seconds = (performance.now() - started) / 1000;
  const points = files.reduce((s, f) => s + f.values.length, 0);
  console.log(
    `NAB development set: ${files.length} files, ${points} points, ${files.reduce((s, f) => s + f.windows.length, 0)} windows; ` +
      `detect_anomaly (sensitivity ${sensitivity}, scores on each anomaly's ${mark}) took ${seconds.toFixed(1)} s`,
  );
  const head = ['detector', 'NAB std', 'low FP', 'low FN', 'thr', ...CATEGORIES, `windows@${WINDOW_THRESHOLD}`, 'P', 'R', 'FP points'];
  const rows = [head, row('detect_anomaly', files, ours)];
  if (!only) for (const a of ANCHORS) rows.push(row(a, files, loadScores(new URL(`nab/published/${a}.json.gz`, import.meta.url).pathname, files)));
  console.log(table(rows));
  console.log(
    `categories: NAB standard score at the corpus threshold (artificialNoAnomaly: false-positive points there); ` +
      `windows, P (found / (found + FP points)), R and FP points at threshold ${WINDOW_THRESHOLD}`,
  );
  if (argv.includes('--per-file')) {
    const thr = nabScores(files, ours).standard.threshold;
    for (const [i, f] of files.entries()) {
      const w = windowCount([f], [ours[i]!], thr);
      console.log(`${f.rel.padEnd(50)} windows ${w.found}/${w.found + w.missed}  FP points ${w.fpPoints}`);
    }
  }
  if (!argv.includes('--no-speed')) {
    console.log('\nspeed of the analysis (one series, 1-minute steps, daily cycle; best of up to 20 runs):');
    for (const [n, budget] of [
      [10_000, 50],
      [100_000, 1000],
    ] as const) {
      const { ms } = throughput(n);
      console.log(`${String(n).padStart(7)} points ${ms.toFixed(1).padStart(7)} ms  (budget ${budget} ms: ${(ms / budget).toFixed(2)}x)`);
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv);
