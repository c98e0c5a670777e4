import { describe, expect, it } from 'vitest';
import {
  commonLabels, distinguishing, downsample, num, short, sparkline, stats, without } from '../../src/prometheus/shape.js';

describe('shaping results', () => {
  it('finds labels shared by every series and what remains per series', () => {
    const sets: Record<string, string>[] = [
      { __name__: 'm', job: 'kubelet', pod: 'a', node: 'n1' },
      { __name__: 'm', job: 'kubelet', pod: 'b', node: 'n1' },
      { __name__: 'm', job: 'kubelet', pod: 'c' },
    ];
    const common = commonLabels(sets);
    expect(common).toEqual({ __name__: 'm', job: 'kubelet' });
    expect(without(sets[0]!, common)).toEqual({ pod: 'a', node: 'n1' });
    expect(distinguishing(sets)).toEqual(['pod']);
  });

  it('keeps a spike when downsampling, and the first and last points', () => {
    const ts = Array.from({ length: 1000 }, (_, i) => i);
    const vs = ts.map((i) => (i === 517 ? 100 : Math.sin(i / 50)));
    const pts = downsample(ts, vs, 50);
    expect(pts).toHaveLength(50);
    expect(pts[0]).toEqual([0, vs[0]]);
    expect(pts[49]).toEqual([999, vs[999]]);
    expect(pts.some(([t]) => t === 517)).toBe(true);
    expect(downsample([1, 2, 3], [4, 5, 6], 50)).toEqual([[1, 4], [2, 5], [3, 6]]);
  });

  it('summarises values, skipping NaN, and keeps special values JSON-safe', () => {
    expect(stats([1, 2, Number.NaN, 3])).toEqual({ count: 4, min: 1, max: 3, avg: 2, last: 3 });
    expect(stats([Number.NaN])).toEqual({ count: 1, min: 'NaN', max: 'NaN', avg: 'NaN', last: 'NaN' });
    expect(num(Number.POSITIVE_INFINITY)).toBe('+Inf');
    expect(num(1 / 3)).toBe(1 / 3);
    expect(num(1769012345)).toBe(1769012345); // a timestamp as a value keeps every digit
  });

  it('writes short numbers and sparklines', () => {
    expect(short(1_234_567)).toBe('1.235M');
    expect(short(0.000123456)).toBe('0.0001235');
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([5, 5, 5])).toBe('▄▄▄');
  });
});
