// Deterministic (seeded) generator of a labeled evaluation set for detect_anomaly: series
// shaped like what a Kubernetes cluster's Prometheus holds (CPU rate, memory working set,
// request rate, p99 latency, error rate), with daily and weekly cycles, noise that grows
// with the level and is autocorrelated, mild background trends and missing points, and
// regular periodic workloads (a CronJob's bursts every 15/30/60 minutes, a sawtooth that
// fills and empties on its own period, which need not divide an hour); into
// some of them one kind of anomaly is injected (1-3 times) and labeled with the window in
// which a detection counts. The rest are clean.
//   npx tsx tools/anomaly-eval-gen.ts [--seed N] [--count N] > set.json
import { pathToFileURL } from 'node:url';

export type InjectedKind = 'spike' | 'dip' | 'level_shift' | 'trend' | 'variance_change' | 'seasonal_break';
export const INJECTED_KINDS: readonly InjectedKind[] = ['spike', 'dip', 'level_shift', 'trend', 'variance_change', 'seasonal_break'];

export interface Label {
  kind: InjectedKind;
  /** epoch ms, inclusive: a detection whose timestamp falls here counts */
  start: number;
  end: number;
}

export interface EvalSeries {
  id: string;
  archetype: string;
  /** ms */
  step: number;
  timestamps: number[];
  /** NaN for a missing point */
  values: number[];
  injected: InjectedKind | 'none';
  labels: Label[];
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Series end here, so every run of the generator gives the same timestamps. */
const END = Date.UTC(2026, 0, 26, 0, 0, 0);

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rand {
  private spare: number | null = null;
  constructor(readonly next: () => number) {}
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hi: number): number {
    return Math.floor(this.uniform(lo, hi + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  poisson(lambda: number): number {
    if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= this.next();
    } while (p > l);
    return k - 1;
  }
}

/** Shape of a working day: low at night, a morning ramp, a lunch dip, an afternoon peak (0..1). */
function dailyShape(t: number, phaseShiftH: number): number {
  const h = (((t / HOUR + phaseShiftH) % 24) + 24) % 24;
  const bump = (c: number, w: number) => {
    const d = Math.min(Math.abs(h - c), 24 - Math.abs(h - c)); // around the clock, no jump at midnight
    return Math.exp(-(d * d) / (2 * w * w));
  };
  return Math.min(1, 0.75 * bump(10.5, 2.2) + 0.9 * bump(15, 2.5) + 0.15 * bump(20, 2));
}

function isWeekend(t: number): boolean {
  const d = new Date(t).getUTCDay();
  return d === 0 || d === 6;
}

interface Signal {
  /** the clean level at each point */
  level: Float64Array;
  /** the daily/weekly component alone (for seasonal breaks) */
  cycle: Float64Array;
  /** noise σ at each point */
  sigma: Float64Array;
  /** AR(1) coefficient of the noise */
  phi: number;
  /** values are counts/rates that cannot go below 0 */
  nonNegative: boolean;
  /** Poisson-like: noise drawn as counts (error rates) */
  poissonScale?: number;
  /** seasonal breaks and dips make sense here */
  seasonal: boolean;
}

type Archetype = (r: Rand, t: Float64Array, days: number) => Signal;

function seasonalLevel(r: Rand, t: Float64Array, days: number, base: number, amp: number, weekendFactor: number) {
  const shift = r.uniform(-3, 3);
  const weekly = days >= 14 ? weekendFactor : r.uniform(0.92, 1);
  const trend = r.uniform(-0.05, 0.08) / (days * DAY);
  const level = new Float64Array(t.length);
  const cycle = new Float64Array(t.length);
  for (let i = 0; i < t.length; i++) {
    const c = base * amp * dailyShape(t[i]!, shift) * (isWeekend(t[i]!) ? weekly : 1);
    cycle[i] = c;
    level[i] = base * (1 + trend * (t[i]! - t[0]!)) + c;
  }
  return { level, cycle };
}

const ARCHETYPES: Record<string, Archetype> = {
  // rate(container_cpu_usage_seconds_total[5m]) of a busy pod, in cores
  cpu_rate(r, t, days) {
    const base = r.uniform(0.2, 2);
    const { level, cycle } = seasonalLevel(r, t, days, base, r.uniform(0.6, 2), r.uniform(0.4, 0.7));
    const rel = r.uniform(0.03, 0.06);
    const sigma = level.map((l) => rel * Math.sqrt(l * base));
    return { level, cycle, sigma, phi: r.uniform(0, 0.6), nonNegative: true, seasonal: true };
  },
  // container_memory_working_set_bytes: a GC sawtooth over a slowly moving level
  memory_ws(r, t, days) {
    const base = r.uniform(200, 2000) * 2 ** 20;
    const growth = r.uniform(-0.02, 0.06) / (days * DAY);
    const daily = r.uniform(0, 0.08);
    const shift = r.uniform(-3, 3);
    const saw = r.uniform(0.01, 0.03);
    const level = new Float64Array(t.length);
    const cycle = new Float64Array(t.length);
    let nextGc = t[0]! + r.uniform(10, 40) * MIN;
    let lastGc = t[0]!;
    for (let i = 0; i < t.length; i++) {
      if (t[i]! >= nextGc) {
        lastGc = nextGc;
        nextGc += r.uniform(10, 40) * MIN;
      }
      const sawPart = saw * Math.min(1, (t[i]! - lastGc) / (30 * MIN));
      cycle[i] = base * daily * dailyShape(t[i]!, shift);
      level[i] = base * (1 + growth * (t[i]! - t[0]!) + sawPart) + cycle[i]!;
    }
    const sigma = new Float64Array(t.length).fill(base * r.uniform(0.004, 0.01));
    return { level, cycle, sigma, phi: r.uniform(0.3, 0.8), nonNegative: true, seasonal: daily > 0.04 };
  },
  // sum(rate(http_requests_total[5m])) of a service, requests/s
  request_rate(r, t, days) {
    const base = r.uniform(20, 2000);
    const { level, cycle } = seasonalLevel(r, t, days, base, r.uniform(1.5, 4), r.uniform(0.3, 0.6));
    const sigma = level.map((l) => Math.max(Math.sqrt(l / 300), l * r.uniform(0.015, 0.02)));
    return { level, cycle, sigma, phi: r.uniform(0, 0.4), nonNegative: true, seasonal: true };
  },
  // histogram_quantile(0.99, ...) latency in seconds: multiplicative noise, busier means slower
  latency_p99(r, t, days) {
    const base = r.uniform(0.05, 0.5);
    const { level, cycle } = seasonalLevel(r, t, days, base, r.uniform(0.1, 0.4), 0.8);
    const rel = r.uniform(0.04, 0.08);
    const sigma = level.map((l) => rel * l);
    return { level, cycle, sigma, phi: r.uniform(0.2, 0.6), nonNegative: true, seasonal: false };
  },
  // sum(rate(http_requests_total{code=~"5.."}[5m])): a trickle of errors, often zero
  error_rate(r, t, days) {
    const lambda = r.uniform(0.002, 0.1);
    const { level, cycle } = seasonalLevel(r, t, days, lambda, r.uniform(0, 1.5), 0.6);
    const sigma = level.map((l) => Math.sqrt(l / 300));
    return { level, cycle, sigma, phi: 0, nonNegative: true, poissonScale: 300, seasonal: false };
  },
  // A CronJob's resource use (or a batch queue): quiet, then a burst of a few minutes every
  // 15, 30 or 60 minutes, a little different each run. The bursts are the normal shape.
  cron_job(r, t) {
    const base = r.uniform(50, 500);
    const period = r.pick([15, 30, 60]) * MIN;
    const dur = Math.round(r.uniform(1, period === 60 * MIN ? 6 : 3)) * MIN;
    const offset = r.int(0, period / MIN - 1) * MIN;
    const height = base * r.uniform(0.4, 2);
    const level = new Float64Array(t.length);
    const cycle = new Float64Array(t.length);
    let run = -1;
    let h = height;
    for (let i = 0; i < t.length; i++) {
      const k = Math.floor((t[i]! - offset) / period);
      if (k !== run) {
        run = k;
        h = height * (1 + 0.03 * r.normal());
      }
      // Sampled as Prometheus does: the burst shows at every scrape inside it (at least one).
      const inBurst = (((t[i]! - offset) % period) + period) % period < Math.max(dur, t[1]! - t[0]!);
      cycle[i] = inBurst ? h : 0;
      level[i] = base + cycle[i]!;
    }
    const sigma = new Float64Array(t.length).fill(base * r.uniform(0.01, 0.03));
    return { level, cycle, sigma, phi: r.uniform(0, 0.4), nonNegative: true, seasonal: false };
  },
  // A queue or buffer that fills steadily and is flushed on its own period (20-180 minutes,
  // usually not a divisor of an hour or a day): a sawtooth.
  sawtooth(r, t) {
    const base = r.uniform(100, 1000);
    const period = Math.round(r.uniform(20, 180)) * MIN;
    const amp = base * r.uniform(0.2, 1);
    const offset = r.uniform(0, period);
    const level = new Float64Array(t.length);
    const cycle = new Float64Array(t.length);
    for (let i = 0; i < t.length; i++) {
      cycle[i] = (amp * ((((t[i]! - offset) % period) + period) % period)) / period;
      level[i] = base + cycle[i]!;
    }
    const sigma = new Float64Array(t.length).fill(amp * r.uniform(0.01, 0.04));
    return { level, cycle, sigma, phi: r.uniform(0, 0.5), nonNegative: true, seasonal: false };
  },
};

/** Scrape layouts: step and how many days. */
const LAYOUTS: { step: number; days: number[] }[] = [
  { step: 30_000, days: [1, 2] },
  { step: MIN, days: [2, 3, 5, 7] },
  { step: 5 * MIN, days: [4, 7, 14, 21] },
];

/** Which kinds each archetype can carry (a dip below zero or a cycle that is not there make no sense). */
function kindsFor(arch: string, sig: Signal, days: number): InjectedKind[] {
  const kinds: InjectedKind[] = ['spike', 'level_shift', 'trend', 'variance_change'];
  if (arch !== 'error_rate') kinds.push('dip');
  if (sig.seasonal && days >= 3) kinds.push('seasonal_break');
  return kinds;
}

function makeSeries(r: Rand, id: number, injectP: number): EvalSeries {
  const archName = r.pick(Object.keys(ARCHETYPES));
  const layout = r.pick(LAYOUTS);
  const days = r.pick(layout.days);
  const step = layout.step;
  const n = Math.round((days * DAY) / step);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = END - (n - 1 - i) * step;
  const sig = ARCHETYPES[archName]!(r, t, days);
  const level = Float64Array.from(sig.level);
  const noiseMul = new Float64Array(n).fill(1);
  const labels: Label[] = [];
  const kind: InjectedKind | 'none' = r.next() < injectP ? r.pick(kindsFor(archName, sig, days)) : 'none';
  const margin = Math.floor(n * 0.06);
  const taken: [number, number][] = [];
  const place = (len: number): number | null => {
    for (let tries = 0; tries < 50; tries++) {
      const s = r.int(margin, n - margin - len);
      if (taken.every(([a, b]) => s + len + margin / 2 < a || s > b + margin / 2)) {
        taken.push([s, s + len]);
        return s;
      }
    }
    return null;
  };
  const sd = (i: number) => sig.sigma[i]! / Math.sqrt(1 - sig.phi * sig.phi);
  const label = (k: InjectedKind, a: number, b: number) =>
    labels.push({ kind: k, start: t[Math.max(0, a)]!, end: t[Math.min(n - 1, b)]! });

  if (kind === 'spike' || kind === 'dip') {
    const count = r.int(1, 3);
    for (let c = 0; c < count; c++) {
      const len = r.next() < 0.7 ? r.int(1, 5) : r.int(6, 20);
      const s = place(len);
      if (s === null) continue;
      const mag = r.uniform(6, 15) * sd(s);
      for (let i = s; i < s + len; i++) {
        const shape = len > 2 ? 0.6 + 0.4 * Math.sin((Math.PI * (i - s + 0.5)) / len) : 1;
        level[i] = kind === 'spike' ? level[i]! + mag * shape : Math.max(0, level[i]! - mag * shape);
      }
      label(kind, s - 1, s + len);
    }
  } else if (kind === 'level_shift') {
    const s = place(Math.floor(n * 0.2))!;
    const sign = r.next() < 0.5 ? -1 : 1;
    let mag = r.uniform(5, 12) * sd(s);
    if (sign < 0) mag = Math.min(mag, level[s]! * 0.9);
    for (let i = s; i < n; i++) level[i] = level[i]! + sign * mag;
    label(kind, s - 5, s + 20);
  } else if (kind === 'trend') {
    const len = Math.min(Math.floor(n * 0.4), Math.round(r.uniform(6, 24) * (HOUR / step)));
    const s = place(len)!;
    const sign = r.next() < 0.65 ? 1 : -1;
    let mag = Math.max(r.uniform(8, 20) * sd(s), r.uniform(0.15, 0.4) * level[s]!);
    if (sign < 0) mag = Math.min(mag, level[s]! * 0.8);
    for (let i = s; i < n; i++) level[i] = level[i]! + sign * mag * Math.min(1, (i - s) / len);
    // A slow drift's first hour is within the noise: its onset can only be placed to ~len/10.
    label(kind, s - Math.round(len * 0.2), s + len);
  } else if (kind === 'variance_change') {
    const len = Math.min(Math.floor(n * 0.3), Math.round(r.uniform(2, 12) * (HOUR / step)));
    const s = place(Math.max(len, 60))!;
    const f = r.uniform(3, 6);
    noiseMul.fill(f, s, s + len);
    label(kind, s - Math.round(len * 0.05), s + len);
  } else if (kind === 'seasonal_break') {
    // One day's cycle does not happen around its peak (an outage of the traffic source, a holiday).
    const dayStart = Math.floor(r.int(1, days - 2) * (DAY / step));
    const s = dayStart + Math.round(r.uniform(7, 10) * (HOUR / step));
    const len = Math.round(r.uniform(6, 10) * (HOUR / step));
    for (let i = s; i < Math.min(n, s + len); i++) level[i] = level[i]! - sig.cycle[i]! * r.uniform(0.95, 1);
    label(kind, s, s + len);
  }

  // Noise: AR(1) around the level, counts for the error trickle; then missing points.
  const values = new Array<number>(n);
  let e = 0;
  for (let i = 0; i < n; i++) {
    const sigma = sig.sigma[i]! * noiseMul[i]!;
    e = sig.phi * e + sigma * r.normal();
    let v: number;
    if (sig.poissonScale) {
      const lam = Math.max(0, level[i]!) * sig.poissonScale;
      // More volatile counts at the same mean: the rate itself jitters (lognormal, mean 1).
      const s = noiseMul[i]! > 1 ? Math.log(noiseMul[i]!) : 0;
      v = r.poisson(lam * Math.exp(s * r.normal() - (s * s) / 2)) / sig.poissonScale;
    } else v = level[i]! + e;
    values[i] = sig.nonNegative ? Math.max(0, v) : v;
  }
  const dropP = r.uniform(0, 0.02);
  for (let i = 0; i < n; i++) if (r.next() < dropP) values[i] = NaN;
  if (r.next() < 0.3) {
    const len = r.int(5, 60);
    const s = r.int(0, n - len - 1);
    // A scrape outage: not over an injected window's start, so every label stays visible.
    if (labels.every((l) => t[s + len]! < l.start || t[s]! > l.start)) for (let i = s; i < s + len; i++) values[i] = NaN;
  }
  return { id: `s${String(id).padStart(3, '0')}-${archName}`, archetype: archName, step, timestamps: Array.from(t), values, injected: kind, labels };
}

/** The evaluation set: `count` series, about 60% with one kind of anomaly injected. */
export function generateEvalSet(opts: { seed?: number; count?: number } = {}): EvalSeries[] {
  const r = new Rand(rng(opts.seed ?? 20260125));
  const out: EvalSeries[] = [];
  for (let i = 0; i < (opts.count ?? 200); i++) out.push(makeSeries(r, i, 0.6));
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string, def: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : def;
  };
  const set = generateEvalSet({ seed: arg('--seed', 20260125), count: arg('--count', 200) });
  process.stdout.write(JSON.stringify(set.map((s) => ({ ...s, values: s.values.map((v) => (Number.isNaN(v) ? null : v)) }))));
  process.stdout.write('\n');
}
