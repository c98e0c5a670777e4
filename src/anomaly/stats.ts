// Robust statistics over Float64Arrays in which NaN marks a missing point.

/** Normal-consistency factor: 1.4826 × MAD estimates σ for Gaussian data. */
export const MAD_TO_SIGMA = 1.4826;

/** The present (non-NaN) values, copied. */
export function present(x: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i]!)) n++;
  const out = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i]!)) out[j++] = x[i]!;
  return out;
}

/** Quantile (0-1, linear interpolation) of the present values; NaN when there are none. */
export function quantile(x: ArrayLike<number>, q: number): number {
  return quantileInPlace(present(x), q);
}

/**
 * Quantile of v, reordering v: quickselect (Hoare), O(n) expected, which matters because
 * medians of whole series are taken several times per analysis.
 */
export function quantileInPlace(v: Float64Array, q: number): number {
  const n = v.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const a = select(v, lo, 0, n - 1);
  if (pos === lo) return a;
  // The next order statistic is the minimum of the part above lo.
  let b = Infinity;
  for (let i = lo + 1; i < n; i++) if (v[i]! < b) b = v[i]!;
  return a + (b - a) * (pos - lo);
}

/** Puts the k-th smallest of v[left..right] at v[k] (and smaller ones before it); returns it. */
function select(v: Float64Array, k: number, left: number, right: number): number {
  while (right > left) {
    const pivot = v[(left + right) >> 1]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (v[i]! < pivot) i++;
      while (v[j]! > pivot) j--;
      if (i <= j) {
        const t = v[i]!;
        v[i] = v[j]!;
        v[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return v[k]!;
}

export function quantileSorted(v: Float64Array, q: number): number {
  if (v.length === 0) return NaN;
  const pos = (v.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(v.length - 1, lo + 1);
  return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
}

export function median(x: ArrayLike<number>): number {
  return quantile(x, 0.5);
}

/** Median absolute deviation from the median (unscaled). */
export function mad(x: ArrayLike<number>, center = median(x)): number {
  const v = present(x);
  for (let i = 0; i < v.length; i++) v[i] = Math.abs(v[i]! - center);
  return quantileInPlace(v, 0.5);
}

/**
 * A robust σ of values scattered around `center`: 1.4826 × MAD. When most values sit
 * exactly on the center (step-like and 0/1 series, rare events) the MAD is 0; then the
 * larger of the mean absolute deviation and the 99.5th percentile / 2.81 (its Gaussian
 * value), so that a series where 1 point in 50 is a 1 does not call every 1 an anomaly,
 * while a single 1 in a long run of 0s still stands out (without `tail`, just the mean
 * absolute deviation: for statistics that are 0 except around the few events being sought).
 * Never 0 unless all values equal.
 */
export function robustScale(x: ArrayLike<number>, center?: number, tail = true): number {
  const v = present(x);
  if (v.length === 0) return NaN;
  const c = center ?? quantileInPlace(Float64Array.from(v), 0.5);
  let sumAbs = 0;
  for (let i = 0; i < v.length; i++) {
    v[i] = Math.abs(v[i]! - c);
    sumAbs += v[i]!;
  }
  const m = quantileInPlace(v, 0.5);
  if (m > 0) return MAD_TO_SIGMA * m;
  const meanAbs = (1.2533 * sumAbs) / v.length;
  return tail ? Math.max(meanAbs, quantileInPlace(v, 0.995) / 2.81) : meanAbs;
}

export function mean(x: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isNaN(v)) {
      s += v;
      n++;
    }
  }
  return n === 0 ? NaN : s / n;
}

/** Index of the first element > v in a sorted prefix a[0..len). */
function upperBound(a: Float64Array, len: number, v: number): number {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lowerBound(a: Float64Array, len: number, v: number): number {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Median of the window [i-before, i+after] (clipped to the series) for every i, skipping
 * missing points; NaN where a window holds none. A sorted window with binary-search
 * insert/remove: O(n·log w) comparisons plus a memmove of at most w doubles per step,
 * which for the windows used here (≤ a few hundred points) is linear in practice.
 */
export function rollingMedian(x: ArrayLike<number>, before: number, after: number): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  const win = new Float64Array(before + after + 1);
  let len = 0;
  let hi = -1; // last index added
  let lo = 0; // first index still in the window
  for (let i = 0; i < n; i++) {
    // Remove before adding, so the window never holds more than before + after + 1 values.
    const wantLo = Math.max(0, i - before);
    while (lo < wantLo) {
      const v = x[lo]!;
      if (!Number.isNaN(v) && lo <= hi) {
        const at = lowerBound(win, len, v);
        win.copyWithin(at, at + 1, len);
        len--;
      }
      lo++;
    }
    const wantHi = Math.min(n - 1, i + after);
    while (hi < wantHi) {
      hi++;
      const v = x[hi]!;
      if (!Number.isNaN(v)) {
        const at = upperBound(win, len, v);
        win.copyWithin(at + 1, at, len);
        win[at] = v;
        len++;
      }
    }
    out[i] = len === 0 ? NaN : len & 1 ? win[len >> 1]! : (win[(len >> 1) - 1]! + win[len >> 1]!) / 2;
  }
  return out;
}

/** Medians of consecutive blocks of `size` points (NaN for blocks with fewer than minPresent values). */
export function blockMedians(x: ArrayLike<number>, size: number, minPresent = 1): Float64Array {
  const blocks = Math.ceil(x.length / size);
  const out = new Float64Array(blocks);
  const buf = new Float64Array(size);
  for (let b = 0; b < blocks; b++) {
    let k = 0;
    const end = Math.min(x.length, (b + 1) * size);
    for (let i = b * size; i < end; i++) if (!Number.isNaN(x[i]!)) buf[k++] = x[i]!;
    out[b] = k < minPresent ? NaN : quantileInPlace(buf.subarray(0, k), 0.5);
  }
  return out;
}

/** Standard normal upper-tail probability, for Mann–Kendall p-values (Abramowitz–Stegun 7.1.26). */
export function normalTail(z: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(z) / Math.SQRT2));
  const y =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) *
    Math.exp(-(z * z) / 2);
  return z >= 0 ? y / 2 : 1 - y / 2;
}

/** A min-heap of numbers (store -v for a max-heap). */
class MinHeap {
  private a: Float64Array;
  size = 0;
  constructor(capacity: number) {
    this.a = new Float64Array(Math.max(1, capacity));
  }
  top(): number {
    return this.a[0]!;
  }
  push(v: number): void {
    const a = this.a;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }
  pop(): number {
    const a = this.a;
    const out = a[0]!;
    const v = a[--this.size]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.size) break;
      if (c + 1 < this.size && a[c + 1]! < a[c]!) c++;
      if (a[c]! >= v) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = v;
    return out;
  }
}

/**
 * For every i, the k-th largest of the present values before i, with k = ⌈share × their
 * count⌉ but at least minCount (the (1 - k/count) quantile of the history); NaN while there
 * is no history. Two
 * heaps (the k largest, the rest), so O(n log n) in all.
 */
export function runningUpperQuantile(x: ArrayLike<number>, share: number, minCount = 1): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  const high = new MinHeap(n);
  const low = new MinHeap(n); // negated: a max-heap of the rest
  let m = 0;
  for (let i = 0; i < n; i++) {
    out[i] = m === 0 ? NaN : high.top();
    const v = x[i]!;
    if (Number.isNaN(v)) continue;
    m++;
    if (high.size > 0 && v > high.top()) high.push(v);
    else low.push(-v);
    const k = Math.min(m, Math.max(minCount, Math.ceil(share * m)));
    while (high.size < k && low.size > 0) high.push(-low.pop());
    while (high.size > k) low.push(-high.pop());
  }
  return out;
}
