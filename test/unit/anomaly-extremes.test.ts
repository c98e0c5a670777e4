// How detect_anomaly asks for each step's max and min (issue 15, item 2): which queries read
// raw samples, which need a subquery, when nothing extra is fetched, and how the answer is
// paired back with the value series. The fetch itself runs against the real fixture
// Prometheus in test/e2e/detect-anomaly-fixture.test.ts.
import { describe, expect, it } from 'vitest';
import type { Method } from '../../src/anomaly/detect.js';
import { pairExtremes, planExtremes, resolutionOf, seriesKey } from '../../src/anomaly/extremes.js';
import { shapeOf } from '../../src/prometheus/promql-syntax.js';

const DAY = 86_400_000;
const isPlainSelector = (q: string) => shapeOf(q)?.plain != null;
const planFor = (q: string, r: ReturnType<typeof range>, method: Method, counter: boolean) => planExtremes(q, shapeOf(q), r, method, counter);
const range = (days: number, stepMs: number) => ({ start: 0, end: days * DAY, step: stepMs });

describe("each step's max and min", () => {
  it('reads a plain selector over its raw samples, and any other expression as a subquery', () => {
    expect(isPlainSelector('container_memory_working_set_bytes{pod="a", x="}"}')).toBe(true);
    expect(isPlainSelector('{__name__="up"}')).toBe(true);
    expect(isPlainSelector('sum(up)')).toBe(false);
    expect(isPlainSelector('up offset 1h')).toBe(false);
    expect(planFor('up{job="a"}', range(3, 120_000), 'auto', false)!.query).toBe(
      'label_replace(max_over_time(up{job="a"}[2m]), "__extreme__", "max", "", "") or label_replace(min_over_time(up{job="a"}[2m]), "__extreme__", "min", "", "")',
    );
    // 7 days within 11,000 sub-steps: 1m; the query on lines of its own so a comment cannot swallow the bracket
    const plan = planFor('sum(rate(x[5m])) # comment', range(7, 300_000), 'auto', false)!;
    expect(plan.query).toContain('max_over_time((\nsum(rate(x[5m])) # comment\n)[5m:1m])');
    expect(plan.source).toBe('a 1m subquery');
  });

  it('fetches nothing extra when the step samples finely, for a counter, or for sustained-change methods', () => {
    expect(planFor('up', range(1, 30_000), 'auto', false)).toBeNull();
    expect(planFor('up', range(1, 60_000), 'auto', false)).toBeNull();
    expect(planFor('x_total', range(7, 300_000), 'auto', true)).toBeNull();
    expect(planFor('up', range(7, 300_000), 'level_shift', false)).toBeNull();
    expect(planFor('up', range(7, 300_000), 'robust', false)).not.toBeNull();
    expect(resolutionOf(range(7, 300_000), null, false)).toMatchObject({ within_step: 'sampled', resolution: expect.stringMatching(/shorter than 5m may fall between/) });
  });

  it('pairs the max and min with the value series by labels, the metric name aside', () => {
    const t = [0, 60_000];
    const paired = pairExtremes([
      { labels: { pod: 'a', __extreme__: 'max' }, timestamps: t, values: [2, 3] },
      { labels: { pod: 'a', __extreme__: 'min' }, timestamps: t, values: [0, 1] },
      { labels: { pod: 'b', __extreme__: 'max' }, timestamps: t, values: [5, 5] },
    ]);
    expect([...paired.keys()]).toEqual([seriesKey({ __name__: 'm', pod: 'a' })]);
    expect(paired.get(seriesKey({ pod: 'a' }))!.max.values).toEqual([2, 3]);
  });
});
