// Scores the anomaly detector on the generated evaluation set and measures its speed.
//   npx tsx tools/bench-anomaly.ts [--seed N] [--count N] [--sensitivity low|medium|high] [--no-speed] [--verbose]
// Matching: a detection whose timestamp falls inside a labeled window is a true positive,
// once per window (more detections in the same window are not counted again); a detection
// outside every window is a false positive. Per kind, precision counts the false
// positives on the series that carry that kind; overall precision also counts those on
// clean series. "kind ok" is the share of found windows whose best detection has the
// injected kind. The kind-strict columns count a window as found only when a detection of the
// injected kind falls in it; a detection of another kind inside a window is then a false
// positive (a spike reported as a variance change is a miss and a false alarm).
import { pathToFileURL } from 'node:url';
import { analyze, type Analysis, type Sensitivity } from '../src/anomaly/detect.js';
import { generateEvalSet, INJECTED_KINDS, type EvalSeries } from './anomaly-eval-gen.js';

export interface KindScore {
  kind: string;
  series: number;
  windows: number;
  found: number;
  fp: number;
  precision: number;
  recall: number;
  f1: number;
  kindOk: number;
  /** windows found by a detection of the injected kind */
  strictFound: number;
  /** false positives counting detections of another kind inside a window */
  strictFp: number;
  strictF1: number;
}

type Acc = { series: number; windows: number; found: number; fp: number; kindOk: number; strictFound: number; strictFp: number };

export interface EvalResult {
  kinds: KindScore[];
  overall: KindScore;
  clean: { series: number; points: number; fp: number; fpPer1000: number };
}

const ratio = (a: number, b: number) => (b === 0 ? 1 : a / b);
const f1 = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

export function evaluate(
  set: EvalSeries[],
  run: (s: EvalSeries) => Analysis = (s) => analyze(s.timestamps, s.values, {}),
  onSeries?: (s: EvalSeries, a: Analysis, fps: number, missed: number) => void,
): EvalResult {
  const acc = new Map<string, Acc>();
  const clean = { series: 0, points: 0, fp: 0, fpPer1000: 0 };
  for (const s of set) {
    const a = run(s);
    const hit = new Array<boolean>(s.labels.length).fill(false);
    const kindHit = new Array<boolean>(s.labels.length).fill(false);
    const strictHit = new Array<boolean>(s.labels.length).fill(false);
    let fp = 0;
    let strictFp = 0;
    for (const d of a.anomalies) {
      const w = s.labels.findIndex((l) => d.at >= l.start && d.at <= l.end);
      if (w < 0) fp++;
      else {
        if (d.kind === s.labels[w]!.kind) strictHit[w] = true;
        else strictFp++;
        // The first (highest-scored) detection in a window decides whether the kind was right.
        if (!hit[w]) kindHit[w] = d.kind === s.labels[w]!.kind || (s.labels[w]!.kind === 'trend' && d.kind === 'level_shift');
        hit[w] = true;
      }
    }
    onSeries?.(s, a, fp, hit.filter((h) => !h).length);
    if (s.injected === 'none') {
      clean.series++;
      clean.points += a.points;
      clean.fp += fp;
      continue;
    }
    const k = acc.get(s.injected) ?? { series: 0, windows: 0, found: 0, fp: 0, kindOk: 0, strictFound: 0, strictFp: 0 };
    k.series++;
    k.windows += s.labels.length;
    k.found += hit.filter(Boolean).length;
    k.kindOk += kindHit.filter(Boolean).length;
    k.fp += fp;
    k.strictFound += strictHit.filter(Boolean).length;
    k.strictFp += fp + strictFp;
    acc.set(s.injected, k);
  }
  clean.fpPer1000 = (1000 * clean.fp) / Math.max(1, clean.points);
  const score = (kind: string, v: Acc): KindScore => {
    const precision = ratio(v.found, v.found + v.fp);
    const recall = ratio(v.found, v.windows);
    const strictF1 = f1(ratio(v.strictFound, v.strictFound + v.strictFp), ratio(v.strictFound, v.windows));
    return { kind, ...v, precision, recall, f1: f1(precision, recall), kindOk: ratio(v.kindOk, v.found), strictF1 };
  };
  const kinds = INJECTED_KINDS.filter((k) => acc.has(k)).map((k) => score(k, acc.get(k)!));
  const total: Acc = { series: clean.series, windows: 0, found: 0, fp: clean.fp, kindOk: 0, strictFound: 0, strictFp: clean.fp };
  for (const v of acc.values()) {
    total.series += v.series;
    total.windows += v.windows;
    total.found += v.found;
    total.fp += v.fp;
    total.kindOk += v.kindOk;
    total.strictFound += v.strictFound;
    total.strictFp += v.strictFp;
  }
  return { kinds, overall: score('overall', total), clean };
}

export function formatTable(r: EvalResult): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`.padStart(7);
  const lines = ['kind             series windows found    fp precision  recall      F1  kind ok  strict F1'];
  for (const k of [...r.kinds, r.overall]) {
    lines.push(
      `${k.kind.padEnd(16)} ${String(k.series).padStart(6)} ${String(k.windows).padStart(7)} ${String(k.found).padStart(5)} ${String(k.fp).padStart(5)}   ${pct(k.precision)} ${pct(k.recall)} ${pct(k.f1)}  ${pct(k.kindOk)}    ${pct(k.strictF1)}`,
    );
  }
  lines.push(
    `clean series: ${r.clean.series}, ${r.clean.points} points, ${r.clean.fp} false positives = ${r.clean.fpPer1000.toFixed(3)} per 1,000 points`,
  );
  lines.push('strict F1: a window counts only when a detection of the injected kind falls in it; other kinds there are false positives');
  return lines.join('\n');
}

/** Points per second of analyze() on one realistic series of n points (best of a few runs, bounded in time). */
export function throughput(n: number): { n: number; ms: number; pps: number } {
  const step = 60_000;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  let e = 0;
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < n; i++) {
    t[i] = 1_700_000_000_000 + i * step;
    e = 0.5 * e + (rnd() + rnd() + rnd() - 1.5);
    v[i] = 100 + 40 * Math.sin((2 * Math.PI * i) / 1440) + 3 * e + (i % 2477 === 0 ? 60 : 0);
  }
  analyze(t, v); // warm-up
  let best = Infinity;
  const started = performance.now();
  for (let k = 0; k < 20 && performance.now() - started < 5000; k++) {
    const s = performance.now();
    analyze(t, v);
    best = Math.min(best, performance.now() - s);
  }
  return { n, ms: best, pps: (n / best) * 1000 };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv;
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i > 0 ? argv[i + 1] : undefined;
  };
  const seed = Number(arg('--seed') ?? 20260125);
  const count = Number(arg('--count') ?? 200);
  const sens = arg('--sensitivity');
  const sensitivity: Sensitivity = sens === undefined ? 'medium' : /^[\d.]+$/.test(sens) ? Number(sens) : (sens as Sensitivity);
  const set = generateEvalSet({ seed, count });
  const points = set.reduce((s, x) => s + x.values.length, 0);
  console.log(`evaluation set: seed ${seed}, ${set.length} series, ${points} points; sensitivity ${sensitivity}`);
  const verbose = argv.includes('--verbose');
  const result = evaluate(
    set,
    (s) => analyze(s.timestamps, s.values, { sensitivity }),
    verbose
      ? (s, a, fp, missed) => {
          if (fp === 0 && missed === 0) return;
          const got = a.anomalies.map((d) => `${d.kind}@${new Date(d.at).toISOString().slice(5, 16)}(${d.score})`).join(' ');
          const want = s.labels.map((l) => `${l.kind}[${new Date(l.start).toISOString().slice(5, 16)}..${new Date(l.end).toISOString().slice(5, 16)}]`).join(' ');
          console.log(`${s.id} step=${s.step / 1000}s n=${s.values.length} season=${a.season?.periodMs ?? '-'} fp=${fp} missed=${missed}\n   want ${want}\n   got  ${got}`);
        }
      : undefined,
  );
  console.log(formatTable(result));
  const ok = result.overall.f1 >= 0.8 && result.clean.fpPer1000 <= 1;
  console.log(`targets (F1 >= 0.8 overall, <= 1 false positive per 1,000 clean points): ${ok ? 'met' : 'NOT met'}`);
  if (!argv.includes('--no-speed')) {
    console.log('\nthroughput of analyze() on one series (1-minute steps, daily cycle, AR noise):');
    console.log('points        ms   points/s');
    for (const n of [1_000, 10_000, 100_000]) {
      const r = throughput(n);
      console.log(`${String(n).padStart(7)} ${r.ms.toFixed(2).padStart(9)} ${Math.round(r.pps).toLocaleString('en-US').padStart(10)}`);
    }
  }
}
