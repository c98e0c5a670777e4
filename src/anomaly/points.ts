// Spikes and dips: the Hampel identifier (Hampel, 1974; Pearson, 2002). Each point is
// compared with the running median of its neighbourhood, in units of a robust (MAD) scale;
// runs of flagged points with the same sign form one event.
import type { Candidate } from './types.js';

/** |z| at medium sensitivity, where z = (y - running median) / local robust σ. */
export const POINT_Z = 5.5;

/**
 * Events where |y - base| / scale ≥ POINT_Z × uMin. A run may bridge `gap` unflagged or
 * missing points (a burst, such as a restart storm, is one event); a sign change ends it.
 */
export function pointAnomalies(y: Float64Array, base: Float64Array, scale: Float64Array, uMin: number, gap = 1): Candidate[] {
  const thr = POINT_Z * uMin;
  const out: Candidate[] = [];
  let cur: { sign: number; from: number; to: number; at: number; peak: number } | null = null;
  const close = () => {
    if (!cur) return;
    out.push({
      kind: cur.sign > 0 ? 'spike' : 'dip',
      direction: cur.sign > 0 ? 'up' : 'down',
      at: cur.at,
      from: cur.from,
      to: cur.to,
      strength: cur.peak / POINT_Z,
    });
    cur = null;
  };
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    const s = scale[i]!;
    if (Number.isNaN(v) || Number.isNaN(base[i]!) || !(s > 0)) continue;
    const z = (v - base[i]!) / s;
    const az = Math.abs(z);
    if (az < thr) {
      if (cur && i - cur.to > gap + 1) close();
      continue;
    }
    const sign = z > 0 ? 1 : -1;
    if (cur && (cur.sign !== sign || i - cur.to > gap + 1)) close();
    if (!cur) cur = { sign, from: i, to: i, at: i, peak: az };
    cur.to = i;
    if (az > cur.peak) {
      cur.peak = az;
      cur.at = i;
    }
  }
  close();
  return out;
}
