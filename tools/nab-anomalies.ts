// Every anomaly detect_anomaly reports on the NAB development set, with what it hit: for
// looking at how the score ranks true against routine anomalies across kinds and series.
//   npx tsx tools/nab-anomalies.ts [--sensitivity S] [--tsv FILE]
// Each anomaly (analyze's full list: the tool's cap of 20 per series is not applied) is a TP
// when its onset (`from`, where bench-nab.ts puts its score) falls in a labelled window (pos: 0
// at the window's start, 1 at its end), `late` within one window length after a window (NAB
// charges those less), `probation` in the first 15% that NAB does not score, else an FP.
// Prints, per kind, the counts and the AUC (how often a TP outranks an FP) of the score and of
// the other features, then per category the TP/FP counts by score band: one threshold serves
// the whole corpus, so a band should mean the same odds in every category.
import fs from 'node:fs';
import { analyze, type Sensitivity } from '../src/anomaly/detect.js';
import { robustScale } from '../src/anomaly/stats.js';
import { loadCorpus, probationLength } from './nab/score.js';

interface Row {
  file: string;
  kind: string;
  dir: string;
  score: number;
  points: number;
  /** the series' 99th percentile |first difference| over its robust σ: how heavy its tail is */
  tail: number;
  label: 'TP' | 'FP' | 'late' | 'probation';
  pos: number;
  /** onset minus the peak, in points (≤ 0) */
  lead: number;
}

/** Share of pairs where a TP's feature is above an FP's (ties count half). */
export function auc(tp: number[], fp: number[]): number {
  if (tp.length === 0 || fp.length === 0) return NaN;
  let s = 0;
  for (const a of tp) for (const b of fp) s += a > b ? 1 : a === b ? 0.5 : 0;
  return s / (tp.length * fp.length);
}

function tailOf(values: number[]): number {
  const d = new Float64Array(values.length - 1);
  for (let i = 1; i < values.length; i++) d[i - 1] = values[i]! - values[i - 1]!;
  const s = robustScale(d);
  const a = Array.from(d, (v) => Math.abs(v)).sort((x, y) => x - y);
  return s > 0 ? a[Math.floor(0.99 * (a.length - 1))]! / s : 0;
}

function main(argv: string[]): void {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const given = arg('--sensitivity') ?? 'high';
  const sensitivity: Sensitivity = given === 'low' || given === 'medium' || given === 'high' ? given : Number(given);
  const rows: Row[] = [];
  for (const f of loadCorpus()) {
    const a = analyze(f.timestamps, f.values, { sensitivity, method: 'auto' });
    const idx = (ms: number) => f.timestamps.indexOf(ms);
    const tail = tailOf(f.values);
    const prob = probationLength(f.values.length);
    for (const an of a.anomalies) {
      const from = idx(an.from);
      const w = f.windows.find((x) => from >= x.start && from <= x.end);
      const after = f.windows.some((x) => from > x.end && from <= x.end + (x.end - x.start));
      const label = from < prob ? 'probation' : w ? 'TP' : after ? 'late' : 'FP';
      rows.push({
        file: f.rel.replace(/\.csv$/, ''),
        kind: an.kind,
        dir: an.direction,
        score: an.score,
        points: idx(an.to) - from + 1,
        tail,
        label,
        pos: w ? (from - w.start) / (w.end - w.start) : NaN,
        lead: from - idx(an.at),
      });
    }
  }
  const tsv = arg('--tsv');
  if (tsv) fs.writeFileSync(tsv, [Object.keys(rows[0]!).join('\t'), ...rows.map((r) => Object.values(r).join('\t'))].join('\n') + '\n');
  const kinds = ['all', ...new Set(rows.map((r) => r.kind))];
  console.log('kind             TP   FP  late  AUC(score) AUC(points) AUC(tail)  score TP med / FP med  pos TP med');
  for (const k of kinds) {
    const of = rows.filter((r) => k === 'all' || r.kind === k);
    const tp = of.filter((r) => r.label === 'TP');
    const fp = of.filter((r) => r.label === 'FP');
    const med = (v: number[]) => (v.length ? v.sort((x, y) => x - y)[Math.floor(v.length / 2)]!.toFixed(2) : '-');
    const au = (g: (r: Row) => number) => auc(tp.map(g), fp.map(g)).toFixed(2);
    console.log(
      `${k.padEnd(15)} ${String(tp.length).padStart(4)} ${String(fp.length).padStart(4)} ${String(of.filter((r) => r.label === 'late').length).padStart(5)}` +
        `  ${au((r) => r.score).padStart(9)} ${au((r) => r.points).padStart(11)} ${au((r) => r.tail).padStart(9)}` +
        `  ${med(tp.map((r) => r.score)).padStart(12)} / ${med(fp.map((r) => r.score))}  ${med(tp.map((r) => r.pos)).padStart(9)}`,
    );
  }
  const bands = [0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95, 1.001];
  console.log(`\nTP/FP (FP: outside windows, late included) by score band, from ${bands.slice(0, -1).join(', ')}`);
  for (const cat of new Set(rows.map((r) => r.file.split('/')[0]!))) {
    const cells = bands.slice(0, -1).map((lo, k) => {
      const of = rows.filter((r) => r.file.startsWith(`${cat}/`) && r.score >= lo && r.score < bands[k + 1]!);
      return `${of.filter((r) => r.label === 'TP').length}/${of.filter((r) => r.label === 'FP' || r.label === 'late').length}`.padStart(7);
    });
    console.log(`${cat.padEnd(22)}${cells.join('')}`);
  }
}

main(process.argv);
