// One paragraph in plain words per analysed series: what the series was compared with, what
// stood out, and how far to trust it. Numbers keep 3 significant digits and their unit.
import { formatDuration } from '../time.js';
import { MIN_POINTS, type Analysis, type Anomaly } from './detect.js';
import { DAY, HOUR, WEEK } from './seasonal.js';

export type Unit = 'bytes' | 'seconds' | undefined;

const SI = ['', 'k', 'M', 'G', 'T', 'P'];
const BIN = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

function sig(v: number, digits: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e4) return String(Number(v.toPrecision(digits)));
  return v.toExponential(digits - 1).replace(/\.?0+e/, 'e').replace('e+', 'e');
}

/** 3 significant digits (or `digits`) with a unit: 1.9 GiB, 250 ms, 12.4k. */
export function formatValue(v: number, unit?: Unit, digits = 3): string {
  if (!Number.isFinite(v)) return 'unknown';
  const a = Math.abs(v);
  if (unit === 'bytes') {
    let k = 0;
    while (a >= 1024 ** (k + 1) && k < BIN.length - 1) k++;
    return `${sig(v / 1024 ** k, digits)} ${BIN[k]}`;
  }
  if (unit === 'seconds') {
    if (a > 0 && a < 1) return `${sig(v * 1000, digits)} ms`;
    return `${sig(v, digits)} s`;
  }
  if (a >= 1e4 && a < 1e18) {
    const k = Math.min(SI.length - 1, Math.floor(Math.log10(a) / 3));
    return `${sig(v / 1000 ** k, digits)}${SI[k]}`;
  }
  return sig(v, digits);
}

/**
 * Values printed side by side (a value and what was expected): 3 significant digits, more
 * where needed so that numbers that differ never print the same ("3.92M (expected 3.92M)").
 */
export function formatValues(values: readonly number[], unit?: Unit): string[] {
  let out = values.map((v) => formatValue(v, unit));
  for (let digits = 4; digits <= 17; digits++) {
    const clash = values.some((v, i) => values.some((w, j) => j > i && v !== w && out[i] === out[j]));
    if (!clash) break;
    out = values.map((v) => formatValue(v, unit, digits));
  }
  return out;
}

/** RFC 3339 in UTC without milliseconds when they are 0: "2026-01-25T14:03:00Z". */
export function formatTime(t: number): string {
  return new Date(t).toISOString().replace(/\.000Z$/, 'Z');
}

/** The cycles with names, in words; any other period is named by its length. */
const CYCLES: Record<number, { name: string; units: string; point: string }> = {
  [HOUR]: { name: 'hourly', units: 'hours', point: 'this minute of the hour' },
  [DAY]: { name: 'daily', units: 'days', point: 'this time of day' },
  [WEEK]: { name: 'weekly', units: 'weeks', point: 'this time of the week' },
};

function periodName(ms: number): string {
  return CYCLES[ms]?.name ?? formatDuration(ms);
}

/** "an hourly", "an 8h", "a daily", "a 12h": by the sound of the first word */
const withArticle = (w: string) => `${/^(hourly|8|11|18)/.test(w) ? 'an' : 'a'} ${w}`;

/** Short model description for the structured result: "daily cycle (7 cycles) + running median of 29 points". */
export function modelOf(a: Analysis): string {
  const base = `running median of ${a.window} points`;
  if (!a.season) return base;
  return `${periodName(a.season.periodMs)} cycle (${a.season.cycles} cycles, autocorrelation ${a.season.acf.toFixed(2)}) + ${base}`;
}

const KIND_WORDS: Record<Anomaly['kind'], string> = {
  spike: 'a spike',
  dip: 'a dip',
  level_shift: 'a level shift',
  trend: 'a drift',
  seasonal_break: 'a break in the usual cycle',
  variance_change: 'a change in volatility',
};

function describe(an: Anomaly, unit: Unit, end: number, periodMs = DAY): string {
  const dur = an.to > an.from ? `, lasting ${formatDuration(an.to - an.from)}` : '';
  const at = formatTime(an.at);
  const [v, e, edge] = formatValues([an.value, an.expected, an.kind === 'dip' ? an.band[0] : an.band[1]], unit);
  switch (an.kind) {
    case 'spike':
    case 'dip':
      return `${KIND_WORDS[an.kind]} to ${v} at ${at} (expected about ${e}, normal ${an.kind === 'spike' ? 'up to' : 'down to'} ${edge})${dur}`;
    case 'level_shift':
      return `${KIND_WORDS[an.kind]} ${an.direction} at ${at} from about ${e} to ${v}${an.to >= end ? ', still in effect at the end' : dur}`;
    case 'trend':
      return `${KIND_WORDS[an.kind]} ${an.direction} starting ${at}: about ${v} by ${formatTime(an.to)} where the earlier course pointed to ${e}`;
    case 'variance_change':
      return `${an.direction === 'up' ? 'unusually volatile' : 'unusually calm (a stuck value?)'} from ${at}${dur}: noise ±${v} where ±${e} is usual (${ratioText(an.ratio ?? an.value / an.expected)} usual)`;
    case 'seasonal_break':
      return `${KIND_WORDS[an.kind]} around ${at}: ${v} where ${cyclePoint(periodMs)} is usually about ${e}${dur}`;
  }
}

/** Where in its cycle a point is: the cycle's, not how long the break lasted (a daily cycle broken for 2 days is still "this time of day"). */
function cyclePoint(periodMs: number): string {
  return CYCLES[periodMs]?.point ?? `this point of the ${formatDuration(periodMs)} cycle`;
}

/** "3.1x", or "0.2x" for calmer: the noise relative to the usual. */
export function ratioText(r: number): string {
  // 2 digits of Number.MAX_VALUE (an overflowing ratio, capped) round past it to Infinity.
  const v = Number(r.toPrecision(2));
  return Number.isFinite(v) ? `${v}x` : `${r.toPrecision(2)}x`;
}

export interface ExplainContext {
  unit?: Unit;
  /** anomalies shown in the result (the rest are counted) */
  shown: number;
}

export function explain(a: Analysis, ctx: ExplainContext): string {
  const left = a.nonFinite > 0 ? ` ${a.nonFinite} point${a.nonFinite === 1 ? ' was' : 's were'} NaN or ±Inf and left out.` : '';
  return explainOnly(a, ctx) + left;
}

function explainOnly(a: Analysis, ctx: ExplainContext): string {
  const unit = ctx.unit;
  if (a.status === 'insufficient_data') {
    return `Not enough history: ${a.points} point${a.points === 1 ? '' : 's'}, need ${MIN_POINTS}. Widen the range or use a smaller step.`;
  }
  if (a.status === 'flat') {
    return `Flat: all ${a.points} points equal ${formatValue(a.flatValue ?? NaN, unit)}, so nothing stands out (a stuck or idle value, if it should move).`;
  }
  const parts: string[] = [];
  const span = a.end - a.start + a.step;
  const basis = a.season
    ? `Each point was compared with the same time in the other ${a.season.cycles - 1} ${CYCLES[a.season.periodMs]?.units ?? 'cycles'} (${withArticle(periodName(a.season.periodMs))} cycle was found) and with its neighbours`
    : 'Each point was compared with a running median of its neighbours (no daily or weekly cycle was found)';
  parts.push(`${a.points} points at ${formatDuration(a.step)} over ${formatDuration(span)}${a.rate ? ', as a per-second rate of the counter' : ''}. ${basis}; usual noise is about ±${formatValue(a.noise, unit)}.`);
  if (a.anomalies.length === 0) {
    parts.push('Nothing unusual: no spike, dip, level shift, drift or change in volatility beyond that.');
  } else {
    const shown = a.anomalies.slice(0, Math.min(3, ctx.shown)).map((an) => describe(an, unit, a.end, a.season?.periodMs));
    const more = a.anomalies.length - shown.length;
    parts.push(`Found ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}.`);
  }
  if (a.trend && a.trend.p < 0.01 && Math.abs(a.trend.change) > 3 * a.noise && !a.anomalies.some((x) => x.kind === 'trend')) {
    parts.push(`Over the whole range it ${a.trend.change > 0 ? 'rose' : 'fell'} steadily by about ${formatValue(Math.abs(a.trend.change), unit)} (Theil–Sen; Mann–Kendall p < 0.01).`);
  }
  if (!a.season && span < 2 * DAY) {
    parts.push('With under 2 days of data a daily cycle cannot be learnt; a range of 3d or more compares each hour with the same hour on other days.');
  }
  parts.push(`Confidence ${a.confidence.toFixed(2)}${a.missing > 0 ? ` (${Math.round((100 * a.missing) / (a.points + a.missing))}% of points missing)` : ''}.`);
  return parts.join(' ');
}
