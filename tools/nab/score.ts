// The Numenta Anomaly Benchmark's scoring (NAB v1.1: sweeper, optimizer, scorer and
// Runner.normalize), for per-point anomaly scores in [0, 1]. The data and labels beside this
// file are NAB's (MIT, NAB_LICENSE.txt). test/unit/nab-score.test.ts checks the numbers
// against the reference scorer the team used (../shared/anomaly-dev/score.mjs).
//
// In short: each labelled window rewards its earliest detection (a scaled sigmoid of the
// position in the window, 1 at the window's start), a missed window costs fnWeight, and each
// detection outside a window costs fpWeight, less the further it is after the last window.
// The first 15% of a file (at most 750 points) is probation and not scored. One threshold is
// chosen for the whole corpus (the one with the best total), and the total is normalised so
// that a detector that never fires scores 0 and a perfect one 100.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export interface Profile {
  tpWeight: number;
  fnWeight: number;
  fpWeight: number;
}

/** NAB's config/profiles.json. */
export const PROFILES: Record<'standard' | 'reward_low_FP_rate' | 'reward_low_FN_rate', Profile> = {
  standard: { tpWeight: 1, fnWeight: 1, fpWeight: 0.11 },
  reward_low_FP_rate: { tpWeight: 1, fnWeight: 1, fpWeight: 0.22 },
  reward_low_FN_rate: { tpWeight: 1, fnWeight: 2, fpWeight: 0.11 },
};
export type ProfileName = keyof typeof PROFILES;

const PROBATION = 0.15;

/** A window as first and last point index. */
export interface Window {
  start: number;
  end: number;
}

export interface NabFile {
  /** e.g. realTweets/Twitter_volume_AAPL.csv */
  rel: string;
  category: string;
  /** epoch ms (the CSV's times are UTC) */
  timestamps: number[];
  values: number[];
  windows: Window[];
}

// ------------------------------------------------------------------ loading

/** "2014-02-19 10:50:00" or "2014-02-19 10:50:00.000000" (labels) as epoch ms. */
export function parseNabTime(s: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/.exec(s.trim());
  if (!m) throw new Error(`unparseable NAB timestamp: ${s}`);
  return Date.parse(`${m[1]}T${m[2]}Z`);
}

export const NAB_DIR = path.join(path.dirname(new URL(import.meta.url).pathname), 'data');

/** Every labelled file present under dataDir, in the labels' (sorted) order. */
export function loadCorpus(dataDir = NAB_DIR, only?: RegExp): NabFile[] {
  const labels = JSON.parse(fs.readFileSync(path.join(dataDir, 'labels', 'combined_windows.json'), 'utf8')) as Record<string, [string, string][]>;
  const files: NabFile[] = [];
  for (const rel of Object.keys(labels).sort()) {
    const p = path.join(dataDir, rel);
    if (!fs.existsSync(p) || (only && !only.test(rel))) continue;
    const lines = fs.readFileSync(p, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
    const head = lines[0]!.split(',');
    const ti = head.indexOf('timestamp');
    const vi = head.indexOf('value');
    const timestamps: number[] = [];
    const values: number[] = [];
    for (const line of lines.slice(1)) {
      const c = line.split(',');
      timestamps.push(parseNabTime(c[ti]!));
      values.push(Number(c[vi]));
    }
    const indexOf = (s: string) => {
      const i = timestamps.indexOf(parseNabTime(s));
      if (i < 0) throw new Error(`${rel}: window edge ${s} is not a timestamp of the file`);
      return i;
    };
    const windows = labels[rel]!.map(([a, b]) => ({ start: indexOf(a), end: indexOf(b) }));
    files.push({ rel, category: rel.split('/')[0]!, timestamps, values, windows });
  }
  return files;
}

/** Per-point scores saved as {"<rel>": [scores] or {scores}} (gzipped JSON), as NAB's published results are here. */
export function loadScores(file: string, files: readonly NabFile[]): Float64Array[] {
  let buf = fs.readFileSync(file);
  if (file.endsWith('.gz')) buf = zlib.gunzipSync(buf);
  const all = JSON.parse(buf.toString('utf8')) as Record<string, number[] | { scores: number[] }>;
  return files.map((f) => {
    const e = all[f.rel];
    const s = Array.isArray(e) ? e : e?.scores;
    if (!s || s.length !== f.values.length) throw new Error(`${file}: no scores, or the wrong number, for ${f.rel}`);
    return Float64Array.from(s);
  });
}

// ------------------------------------------------------------------ per-row weights

/** NAB's scaledSigmoid: ~1 for a detection at a window's start, falling to 0 at its end and to -1 well after it. */
function scaledSigmoid(x: number): number {
  return x > 3 ? -1 : 2 / (1 + Math.exp(5 * x)) - 1;
}

export function probationLength(n: number): number {
  return Math.min(Math.floor(PROBATION * n), PROBATION * 5000);
}

/** Outside any window, or in probation. */
const OUTSIDE = -1;
const PROBATION_ROW = -2;

/**
 * Each row's weight if detected, and the window it belongs to (a global id, or OUTSIDE, or
 * PROBATION_ROW). Inside a window the weight falls from ~1 at its start along the sigmoid; after a
 * window a false positive costs less the nearer it is to the window's end (a late detection).
 */
function rowWeights(f: NabFile, cost: Profile, firstId: number): { weight: Float64Array; win: Int32Array } {
  const n = f.values.length;
  const weight = new Float64Array(n);
  const win = new Int32Array(n);
  const top = scaledSigmoid(-1);
  const prob = probationLength(n);
  let k = 0;
  let open: Window | null = null;
  let openId = OUTSIDE;
  let lastEnd: number | null = null;
  let lastWidth = 0;
  for (let i = 0; i < n; i++) {
    const next = f.windows[k];
    if (next && i === next.start) {
      open = next;
      openId = firstId + k;
      k++;
    }
    if (open) {
      weight[i] = (scaledSigmoid(-(open.end - i + 1) / (open.end - open.start + 1)) * cost.tpWeight) / top;
    } else {
      weight[i] = (lastEnd === null ? -1 : scaledSigmoid(Math.abs(lastEnd - i) / (lastWidth - 1))) * cost.fpWeight;
    }
    win[i] = i < prob ? PROBATION_ROW : open ? openId : OUTSIDE;
    if (open && i === open.end) {
      lastEnd = i;
      lastWidth = open.end - open.start + 1;
      open = null;
    }
  }
  return { weight, win };
}

interface Rows {
  score: Float64Array;
  weight: Float64Array;
  win: Int32Array;
}

/** The scored rows of all files, end to end. */
function corpusRows(files: readonly NabFile[], scores: readonly ArrayLike<number>[], cost: Profile): Rows {
  const parts: { weight: Float64Array; win: Int32Array; score: ArrayLike<number> }[] = [];
  let id = 0;
  let m = 0;
  files.forEach((f, i) => {
    const r = rowWeights(f, cost, id);
    id += f.windows.length;
    parts.push({ ...r, score: scores[i]! });
    for (const w of r.win) if (w !== PROBATION_ROW) m++;
  });
  const out: Rows = { score: new Float64Array(m), weight: new Float64Array(m), win: new Int32Array(m) };
  let j = 0;
  for (const p of parts) {
    for (let i = 0; i < p.win.length; i++) {
      if (p.win[i] === PROBATION_ROW) continue;
      out.score[j] = p.score[i]!;
      out.weight[j] = p.weight[i]!;
      out.win[j] = p.win[i]!;
      j++;
    }
  }
  return out;
}

export interface ThresholdScore {
  threshold: number;
  score: number;
  tp: number;
  fp: number;
}

/**
 * The best corpus total over all thresholds. Lowering the threshold through the scores in
 * descending order adds one row at a time: a false positive adds its weight, a row in a window
 * raises that window's credit to its weight if higher (a window's credit starts at -fnWeight).
 * Ties go to the higher threshold, as NAB's optimizer picks the first maximum.
 */
export function bestThreshold(rows: Rows, fnWeight: number): ThresholdScore {
  const m = rows.score.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => rows.score[b]! - rows.score[a]! || a - b);
  const credit = new Map<number, number>();
  for (let i = 0; i < m; i++) if (rows.win[i]! >= 0) credit.set(rows.win[i]!, -fnWeight);
  let windowsTotal = -fnWeight * credit.size;
  let fpTotal = 0;
  let tp = 0;
  let fp = 0;
  let threshold = 1.1;
  let best: ThresholdScore = { threshold, score: windowsTotal, tp, fp };
  const consider = () => {
    const score = windowsTotal + fpTotal;
    if (score > best.score) best = { threshold, score, tp, fp };
  };
  for (const i of order) {
    if (rows.score[i] !== threshold) {
      consider();
      threshold = rows.score[i]!;
    }
    const w = rows.win[i]!;
    if (w < 0) {
      fp++;
      fpTotal += rows.weight[i]!;
    } else {
      tp++;
      const c = credit.get(w)!;
      if (rows.weight[i]! > c) {
        windowsTotal += rows.weight[i]! - c;
        credit.set(w, rows.weight[i]!);
      }
    }
  }
  consider();
  return best;
}

/** The total of some rows when detections are scores >= threshold. */
function totalAt(rows: Rows, threshold: number, fnWeight: number): number {
  const credit = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < rows.score.length; i++) {
    const w = rows.win[i]!;
    const hit = rows.score[i]! >= threshold;
    if (w < 0) {
      if (hit) total += rows.weight[i]!;
      continue;
    }
    if (!credit.has(w)) credit.set(w, -fnWeight);
    if (hit && rows.weight[i]! > credit.get(w)!) credit.set(w, rows.weight[i]!);
  }
  for (const c of credit.values()) total += c;
  return total;
}

export interface ProfileResult {
  /** 0 = never fires, 100 = perfect */
  normalized: number;
  raw: number;
  threshold: number;
  /** detected rows in windows / outside, at the threshold */
  tp: number;
  fp: number;
  /** per category, at the corpus threshold, normalised with the category's own null and perfect totals; null without windows */
  perCategory: Record<string, number | null>;
}

const normalise = (raw: number, zero: number, perfect: number) => (100 * (raw - zero)) / (perfect - zero);

export function nabScore(files: readonly NabFile[], scores: readonly ArrayLike<number>[], cost: Profile): ProfileResult {
  const rows = corpusRows(files, scores, cost);
  const best = bestThreshold(rows, cost.fnWeight);
  // The null detector (0.5 everywhere) through the same optimiser is NAB's zero.
  const nullScores = files.map((f) => new Float64Array(f.values.length).fill(0.5));
  const nullRows = corpusRows(files, nullScores, cost);
  const nullBest = bestThreshold(nullRows, cost.fnWeight);
  const windows = files.reduce((s, f) => s + f.windows.length, 0);
  const perCategory: Record<string, number | null> = {};
  for (const c of [...new Set(files.map((f) => f.category))]) {
    const sub = files.map((f, i) => ({ f, i })).filter((x) => x.f.category === c);
    const subFiles = sub.map((x) => x.f);
    const perfect = subFiles.reduce((s, f) => s + f.windows.length, 0) * cost.tpWeight;
    // Per file, as NAB totals them (each file's windows keep their own ids).
    let raw = 0;
    let zero = 0;
    for (const x of sub) {
      raw += totalAt(corpusRows([x.f], [scores[x.i]!], cost), best.threshold, cost.fnWeight);
      zero += totalAt(corpusRows([x.f], [nullScores[x.i]!], cost), nullBest.threshold, cost.fnWeight);
    }
    perCategory[c] = perfect > 0 ? normalise(raw, zero, perfect) : null;
  }
  return {
    normalized: normalise(best.score, nullBest.score, windows * cost.tpWeight),
    raw: best.score,
    threshold: best.threshold,
    tp: best.tp,
    fp: best.fp,
    perCategory,
  };
}

export function nabScores(files: readonly NabFile[], scores: readonly ArrayLike<number>[]): Record<ProfileName, ProfileResult> {
  return {
    standard: nabScore(files, scores, PROFILES.standard),
    reward_low_FP_rate: nabScore(files, scores, PROFILES.reward_low_FP_rate),
    reward_low_FN_rate: nabScore(files, scores, PROFILES.reward_low_FN_rate),
  };
}

// ------------------------------------------------------------------ windows found

export interface WindowCount {
  threshold: number;
  found: number;
  missed: number;
  /** detected points outside every window (after probation) */
  fpPoints: number;
  precision: number;
  recall: number;
}

/**
 * Window-level counts at a fixed threshold: a window is found when any of its scored points
 * reaches it; every point outside the windows that does is a false positive. Precision is
 * found / (found + false-positive points), as the reference scorer counts it.
 */
export function windowCount(files: readonly NabFile[], scores: readonly ArrayLike<number>[], threshold: number): WindowCount {
  let found = 0;
  let missed = 0;
  let fpPoints = 0;
  files.forEach((f, fi) => {
    const s = scores[fi]!;
    const prob = probationLength(f.values.length);
    const inside = new Int32Array(f.values.length).fill(-1);
    f.windows.forEach((w, k) => inside.fill(k, w.start, w.end + 1));
    const hit = f.windows.map(() => false);
    const scored = f.windows.map(() => false);
    for (let i = Math.ceil(prob); i < f.values.length; i++) {
      const det = s[i]! >= threshold;
      const k = inside[i]!;
      if (k >= 0) {
        scored[k] = true;
        if (det) hit[k] = true;
      } else if (det) fpPoints++;
    }
    f.windows.forEach((_, k) => {
      if (!scored[k]) return;
      if (hit[k]) found++;
      else missed++;
    });
  });
  return {
    threshold,
    found,
    missed,
    fpPoints,
    precision: found + fpPoints > 0 ? found / (found + fpPoints) : 0,
    recall: found + missed > 0 ? found / (found + missed) : 0,
  };
}
