// detect_anomaly's result: series ranked by score and bounded (top N, the rest counted),
// anomalies per series bounded (the number left out stated), a hint for the next call, and
// a compact text an agent can act on.
import { commonLabels } from '../prometheus/shape.js';
import { formatDuration, niceStep } from '../time.js';
import type { Analysis, Sensitivity } from './detect.js';
import type { Resolution } from './extremes.js';
import { explain, formatTime, formatValues, modelOf, ratioText, type Unit } from './explain.js';
import type { Kind } from './types.js';

export interface AnomalyOut {
  kind: Kind;
  direction: 'up' | 'down';
  at: string;
  from: string;
  to: string;
  value: number;
  expected: number;
  band: [number, number];
  score: number;
  /** variance_change: noise / usual noise (value, expected and band are then noise σ) */
  ratio?: number;
}

export interface SeriesOut {
  labels: Record<string, string>;
  status: Analysis['status'];
  score: number;
  confidence: number;
  points: number;
  model: string;
  anomalies: AnomalyOut[];
  anomalies_omitted: number;
  explanation: string;
}

export interface Report {
  query: string | null;
  /** the range analysed and what one point stands for (query input only) */
  range: ({ start: string; end: string; step: string } & Resolution) | null;
  series_total: number;
  /** series the query returned beyond the analysed ones (see warnings): not scored */
  series_unanalysed: number;
  series_omitted: number;
  anomalous_series: number;
  series: SeriesOut[];
  warnings: string[];
  next: { tool: string; arguments: Record<string, unknown>; why: string } | null;
}

export interface ReportOptions {
  source: 'query' | 'series';
  query?: string | undefined;
  /** the query's range, and the resolution its values were analysed at */
  range?: ({ start: number; end: number; step: number } & Resolution) | undefined;
  sensitivity: Sensitivity;
  method: string;
  top: number;
  maxAnomalies: number;
  warnings: string[];
  unitOf(labels: Record<string, string>): Unit;
  /** series the query returned but not analysed (too many) */
  unanalysed?: number;
  /** a corrected query (a counter's rate) to run instead: becomes the next step */
  betterQuery?: string | undefined;
}

/** Points of the raw values suggested around the top anomaly when a finer step is needed. */
const NEXT_POINTS = 500;

/** 6 significant digits: enough to act on, short in JSON. */
const round = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(6)) : v);

/** Labels that tell Kubernetes series apart, shown first. */
const KEY_LABELS = ['namespace', 'pod', 'container', 'node', 'instance', 'job', 'deployment', 'service'];

/**
 * A short name for the text: the metric name and the labels that differ between the series
 * of one answer (all of them when there is one), the telling ones first, cut at 120 chars.
 * The structured result keeps every label.
 */
export function seriesName(labels: Record<string, string>, common: ReadonlySet<string> = new Set()): string {
  const { __name__: name, ...rest } = labels;
  const keys = Object.keys(rest)
    .filter((k) => !common.has(k))
    .sort((a, b) => (KEY_LABELS.indexOf(a) + 1 || 99) - (KEY_LABELS.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const s = `${name ?? ''}{${keys.map((k) => `${k}=${JSON.stringify(rest[k])}`).join(',')}}`;
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** Labels with the same value in every series (none when there is only one). */
/** Names of the labels every series shares (the metric name aside), to leave out of their names. */
function sharedLabels(all: Record<string, string>[]): Set<string> {
  return new Set(Object.keys(commonLabels(all)).filter((k) => k !== '__name__'));
}

const finite = (...v: (number | undefined)[]) => v.every((x) => x === undefined || Number.isFinite(x));

/**
 * Last line of defence: an anomaly with a non-finite figure (a detector bug; the detectors
 * are tested not to produce one) is left out and said to be, rather than failing the whole
 * result against its schema; a non-finite score or confidence becomes 0.
 */
function withFiniteFigures(a: Analysis): { analysis: Analysis; dropped: number } {
  const anomalies = a.anomalies.filter((x) => finite(x.at, x.from, x.to, x.value, x.expected, x.band[0], x.band[1], x.score, x.ratio));
  const dropped = a.anomalies.length - anomalies.length;
  if (dropped === 0 && finite(a.score, a.confidence)) return { analysis: a, dropped };
  const score = anomalies.reduce((m, x) => Math.max(m, x.score), 0);
  return { analysis: { ...a, anomalies, score, confidence: finite(a.confidence) ? a.confidence : 0 }, dropped };
}

type Item = { labels: Record<string, string>; analysis: Analysis; note?: string | undefined };

/** Items with only finite figures; a series that had some left out says so in its note and a warning. */
function guarded(items: Item[], warnings: string[]): Item[] {
  let total = 0;
  const out = items.map((it) => {
    const { analysis, dropped } = withFiniteFigures(it.analysis);
    if (dropped === 0) return { ...it, analysis };
    total += dropped;
    const note = `${dropped} anomal${dropped === 1 ? 'y was' : 'ies were'} left out: ${dropped === 1 ? 'its' : 'their'} figures could not be computed.`;
    return { ...it, analysis, note: it.note ? `${it.note} ${note}` : note };
  });
  if (total > 0) warnings.push(`${total} anomal${total === 1 ? 'y' : 'ies'} left out because a figure was not a finite number (a detector bug: please report the series)`);
  return out;
}

export function buildReport(input: Item[], o: ReportOptions): Report {
  const warnings = [...o.warnings];
  const items = guarded(input, warnings);
  const ranked = items
    .map((it, i) => ({ ...it, i }))
    .sort((a, b) => b.analysis.score - a.analysis.score || b.analysis.confidence - a.analysis.confidence || a.i - b.i);
  const shown = ranked.slice(0, o.top);
  const series = shown.map(({ labels, analysis: a, note }): SeriesOut => {
    const unit = o.unitOf(labels);
    const anomalies = a.anomalies.slice(0, o.maxAnomalies).map((an) => ({
      kind: an.kind,
      direction: an.direction,
      at: formatTime(an.at),
      from: formatTime(an.from),
      to: formatTime(an.to),
      value: round(an.value),
      expected: round(an.expected),
      band: [round(an.band[0]), round(an.band[1])] as [number, number],
      score: an.score,
      ...(an.ratio !== undefined ? { ratio: an.ratio } : {}),
    }));
    return {
      labels,
      status: a.status,
      score: a.score,
      confidence: a.confidence,
      points: a.points,
      model: a.status === 'ok' ? modelOf(a) : 'none',
      anomalies,
      anomalies_omitted: a.anomalies.length - anomalies.length,
      explanation: note ? `${note} ${explain(a, { unit, shown: anomalies.length })}` : explain(a, { unit, shown: anomalies.length }),
    };
  });
  const top = shown[0];
  let next: Report['next'] = null;
  if (o.source === 'query' && o.betterQuery && o.range) {
    next = {
      tool: 'detect_anomaly',
      arguments: { query: o.betterQuery, start: formatTime(o.range.start), end: formatTime(o.range.end), step: formatDuration(o.range.step) },
      why: 'the same range as a per-second rate: the query analysed a raw counter',
    };
  } else if (o.source === 'query' && o.query && o.range && top && top.analysis.anomalies.length > 0) {
    const an = top.analysis.anomalies[0]!;
    const pad = Math.max(30 * o.range.step, (an.to - an.from) / 2);
    const start = Math.max(o.range.start, an.from - pad);
    const end = Math.min(o.range.end, an.to + pad);
    // When peaks within each step were analysed, a finer step shows them in the raw values.
    const step = o.range.within_step === 'max_min' ? Math.min(o.range.step, niceStep(end - start, NEXT_POINTS, 15_000)) : o.range.step;
    next = {
      tool: 'query_metrics',
      arguments: { query: o.query, start: formatTime(start), end: formatTime(end), step: formatDuration(step) },
      why: `raw values around the top anomaly (${an.kind} of ${seriesName(top.labels, sharedLabels(items.map((it) => it.labels)))})`,
    };
  }
  return {
    query: o.query ?? null,
    range: o.range
      ? { start: formatTime(o.range.start), end: formatTime(o.range.end), step: formatDuration(o.range.step), within_step: o.range.within_step, resolution: o.range.resolution }
      : null,
    series_total: items.length,
    series_unanalysed: o.unanalysed ?? 0,
    series_omitted: items.length - shown.length,
    anomalous_series: items.filter((it) => it.analysis.anomalies.length > 0).length,
    series,
    warnings,
    next,
  };
}

export function renderReport(r: Report, o: Pick<ReportOptions, 'sensitivity' | 'method' | 'unitOf'>): string {
  const lines: string[] = [];
  const within = r.range?.within_step === 'max_min' ? ", with each step's max and min" : '';
  const where = r.query !== null && r.range ? `${r.query} from ${r.range.start} to ${r.range.end} (step ${r.range.step}${within})` : 'inline data';
  const of = r.series_unanalysed > 0 ? `${r.series_total} analysed (${r.series_unanalysed} more returned, not analysed: see the warning)` : `${r.series_total}`;
  lines.push(`${r.anomalous_series} of ${of} series anomalous; ${where}; sensitivity ${o.sensitivity}, method ${o.method}.`);
  for (const w of r.warnings) lines.push(`Warning: ${w}`);
  const common = sharedLabels(r.series.map((s) => s.labels));
  r.series.forEach((s, i) => {
    const head = `${i + 1}. ${seriesName(s.labels, common)} score ${s.score}, confidence ${s.confidence}`;
    if (s.anomalies.length === 0) {
      lines.push(`${head}: ${s.status === 'ok' ? 'no anomalies' : s.explanation}`);
      return;
    }
    lines.push(`${head}: ${s.anomalies.length + s.anomalies_omitted} anomal${s.anomalies.length + s.anomalies_omitted === 1 ? 'y' : 'ies'}`);
    const unit = o.unitOf(s.labels);
    for (const a of s.anomalies) {
      const [v, e] = formatValues([a.value, a.expected], unit);
      const what = a.ratio !== undefined ? `noise ±${v} (usual ±${e}, ${ratioText(a.ratio)})` : `${v} (expected ${e})`;
      lines.push(`   - ${a.kind} ${a.direction} at ${a.at}: ${what}, score ${a.score}${a.to !== a.from ? `, until ${a.to}` : ''}`);
    }
    if (s.anomalies_omitted > 0) lines.push(`   (${s.anomalies_omitted} more not shown; the strongest are listed)`);
    lines.push(`   ${s.explanation}`);
  });
  if (r.series_omitted > 0) lines.push(`${r.series_omitted} more series not shown (ranked lower); raise top to see them.`);
  if (r.next) lines.push(`Next: ${r.next.tool} ${JSON.stringify(r.next.arguments)} for ${r.next.why}.`);
  return lines.join('\n');
}
