// Turning Prometheus answers into something that fits an agent's context: labels shared by
// every series shown once, per-series summary statistics, a bounded number of points chosen
// to keep the shape (largest-triangle-three-buckets), and compact numbers.
import type { Labels } from './api.js';

/** A JSON-safe value: NaN and infinities become the strings Prometheus uses. */
export type Num = number | 'NaN' | '+Inf' | '-Inf';

export function num(v: number): Num {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  // full precision: values can be timestamps (kube_pod_start_time) or exact byte counts;
  // only the text rendering rounds (short())
  return v;
}

/** Labels with the same value in every set (a label missing from one set is not common). */
export function commonLabels(sets: Labels[]): Labels {
  if (sets.length < 2) return sets.length === 1 && sets[0]!.__name__ ? { __name__: sets[0]!.__name__ } : {};
  const out: Labels = { ...sets[0] };
  for (const s of sets.slice(1)) {
    for (const k of Object.keys(out)) if (s[k] !== out[k]) delete out[k];
  }
  return out;
}

export function without(labels: Labels, common: Labels): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(labels)) if (common[k] !== v) out[k] = v;
  return out;
}

/**
 * The fewest label names that still tell the sets apart (greedy: the most varied first),
 * for compact text; the metric name is kept when it varies.
 */
export function distinguishing(sets: Labels[]): string[] {
  const names = [...new Set(sets.flatMap((l) => Object.keys(l)))];
  const variety = (k: string) => new Set(sets.map((l) => l[k] ?? '')).size;
  const chosen: string[] = [];
  const key = (l: Labels) => chosen.map((k) => l[k] ?? '').join('\u0000');
  const unique = () => new Set(sets.map(key)).size === sets.length;
  for (const k of names.sort((a, b) => variety(b) - variety(a) || (a < b ? -1 : 1))) {
    if (unique()) break;
    if (variety(k) > 1) chosen.push(k);
  }
  if (names.includes('__name__') && variety('__name__') > 1 && !chosen.includes('__name__')) chosen.unshift('__name__');
  return chosen;
}

export function pick(labels: Labels, names: string[]): Labels {
  const out: Labels = {};
  for (const k of names) if (labels[k] !== undefined) out[k] = labels[k];
  return out;
}

export function selector(labels: Labels): string {
  const name = labels.__name__ ?? '';
  const rest = Object.entries(labels)
    .filter(([k]) => k !== '__name__')
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return rest.length ? `${name}{${rest.join(',')}}` : name || '{}';
}

export interface Stats {
  count: number;
  min: Num;
  max: Num;
  avg: Num;
  last: Num;
}

export function stats(values: number[]): Stats {
  let count = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    count++;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const last = values.length ? values[values.length - 1]! : Number.NaN;
  if (count === 0) return { count: values.length, min: 'NaN', max: 'NaN', avg: 'NaN', last: num(last) };
  return { count: values.length, min: num(min), max: num(max), avg: num(sum / count), last: num(last) };
}

/**
 * Picks at most `max` points that keep the series' shape (Steinarsson's
 * largest-triangle-three-buckets); first and last points are always kept.
 */
export function downsample(ts: number[], vs: number[], max: number): [number, number][] {
  const n = ts.length;
  const pts: [number, number][] = [];
  if (n <= max || max < 3) {
    for (let i = 0; i < n; i += n <= max ? 1 : Math.ceil(n / Math.max(1, max))) pts.push([ts[i]!, vs[i]!]);
    return pts;
  }
  const y = (i: number) => (Number.isFinite(vs[i]!) ? vs[i]! : 0);
  const every = (n - 2) / (max - 2);
  let a = 0;
  pts.push([ts[0]!, vs[0]!]);
  for (let b = 0; b < max - 2; b++) {
    const nextStart = Math.floor((b + 1) * every) + 1;
    const nextEnd = Math.min(n, Math.floor((b + 2) * every) + 1);
    let avgX = 0;
    let avgY = 0;
    for (let i = nextStart; i < nextEnd; i++) {
      avgX += ts[i]!;
      avgY += y(i);
    }
    const len = Math.max(1, nextEnd - nextStart);
    avgX /= len;
    avgY /= len;
    const from = Math.floor(b * every) + 1;
    const to = Math.floor((b + 1) * every) + 1;
    let best = from;
    let bestArea = -1;
    for (let i = from; i < to; i++) {
      const area = Math.abs((ts[a]! - avgX) * (y(i) - y(a)) - (ts[a]! - ts[i]!) * (avgY - y(a)));
      if (area > bestArea) {
        bestArea = area;
        best = i;
      }
    }
    pts.push([ts[best]!, vs[best]!]);
    a = best;
  }
  pts.push([ts[n - 1]!, vs[n - 1]!]);
  return pts;
}

const BARS = '▁▂▃▄▅▆▇█';

/** A unicode sparkline of at most `width` characters. */
export function sparkline(values: number[], width = 24): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '';
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const buckets = Math.min(width, values.length);
  let out = '';
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * values.length) / buckets);
    const to = Math.max(from + 1, Math.floor(((b + 1) * values.length) / buckets));
    let m = Number.NEGATIVE_INFINITY;
    for (let i = from; i < to; i++) if (Number.isFinite(values[i]!) && values[i]! > m) m = values[i]!;
    out += m === Number.NEGATIVE_INFINITY ? ' ' : BARS[hi === lo ? 3 : Math.round(((m - lo) / (hi - lo)) * 7)];
  }
  return out;
}

const SI = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
] as const;

/** A short human form for text tables: 4 significant digits, SI suffixes for large values. */
export function short(v: Num): string {
  if (typeof v === 'string') return v;
  const a = Math.abs(v);
  for (const [size, suffix] of SI) if (a >= size) return `${Number((v / size).toPrecision(4))}${suffix}`;
  return String(Number(v.toPrecision(4)));
}
