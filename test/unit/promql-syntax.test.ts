// The questions detect_anomaly and the Prometheus client ask of a query, answered from
// Prometheus's grammar: queries whose comments, label values, modifiers, subqueries and
// names fooled the regular expressions these answers were read with before. Expected
// values are what Prometheus makes of each query (PromQL's own rules), not this code's.
import { describe, expect, it } from 'vitest';
import { planExtremes } from '../../src/anomaly/extremes.js';
import { isCounterQuery, rawCounterFix, unitOf } from '../../src/anomaly/input.js';
import { shapeOf } from '../../src/prometheus/promql-syntax.js';

const HOUR = 3_600_000;
const answers = {
  plain: (q: string) => shapeOf(q)?.plain != null,
  counter: (q: string) => isCounterQuery(shapeOf(q)),
  lookbackMs: (q: string) => shapeOf(q)?.lookbackMs ?? 0,
  earliestAtMs: (q: string) => shapeOf(q)?.earliestAtMs,
  fix: (q: string) => rawCounterFix(q, shapeOf(q), '5m'),
  unit: (q: string) => unitOf(shapeOf(q), {}),
  extremes: (q: string) => planExtremes(q, shapeOf(q), { start: 0, end: 3 * 24 * HOUR, step: 120_000 }, 'auto', false)!.query,
};

describe('PromQL read with Prometheus grammar', () => {
  it('finds the earliest time an @ modifier pins the query to, and only a number pins it', () => {
    expect(answers.earliestAtMs('up @ 1700000000')).toBe(1.7e12);
    expect(answers.earliestAtMs('rate(x[5m] @ 1.7e9) - rate(x[5m] @ 1600000000)')).toBe(1.6e12);
    expect(answers.earliestAtMs('up offset 1h @ 1700000000')).toBe(1.7e12);
    expect(answers.earliestAtMs('max_over_time(rate(x[5m])[1h:5m] @ 1700000000)')).toBe(1.7e12);
    // start() and end() are the query's own range; a comment is no modifier
    expect(answers.earliestAtMs('up @ start() + up @ end()')).toBeNull();
    expect(answers.earliestAtMs('up # @ 1700000000')).toBeNull();
  });

  it('ignores a # comment, whatever it says', () => {
    expect(answers.fix('sum(x_total) # no rate( yet')).toBe('sum(rate(x_total[5m])) # no rate( yet');
    expect(answers.unit('max(container_memory_working_set_bytes) # used / limit')).toBe('bytes');
    expect(answers.lookbackMs('rate(x[5m]) # was [30d] offset 7d')).toBe(HOUR / 12);
    expect(answers.plain('up{job="a"} # all pods')).toBe(true);
    // the selector alone gets the range: the comment would swallow the bracket
    expect(answers.extremes('up{job="a"} # all pods')).toContain('max_over_time(up{job="a"}[2m])');
  });

  it('reads a label value or regex as a string, whatever it contains', () => {
    expect(answers.fix('sum(x_total{path="}"})')).toBe('sum(rate(x_total{path="}"}[5m]))');
    expect(answers.fix('sum(x_total{path=~"/rate(.*)"})')).toBe('sum(rate(x_total{path=~"/rate(.*)"}[5m]))');
    expect(answers.fix("sum(x_total{a='{', b=\"x_total\"})")).toBe("sum(rate(x_total{a='{', b=\"x_total\"}[5m]))");
    expect(answers.unit('up{job="node_bytes"}')).toBeUndefined();
    expect(answers.unit('node_memory_MemFree_bytes{source="rate(x)"}')).toBe('bytes');
    expect(answers.plain('up{a="{", b=~"x{2}"}')).toBe(true);
    // a metric named by its __name__ matcher is still that metric
    expect(answers.counter('{__name__="http_requests_total", job="api"}')).toBe(true);
  });

  it('keeps offset and @ modifiers, in any case, with the selector they modify', () => {
    expect(answers.fix('sum(x_total @ 1.7e9)')).toBe('sum(rate(x_total[5m] @ 1.7e9))');
    expect(answers.fix('sum(x_total OFFSET 1h)')).toBe('sum(rate(x_total[5m] OFFSET 1h))');
    expect(answers.fix('sum(x_total @ start() offset 1h)')).toBe('sum(rate(x_total[5m] @ start() offset 1h))');
    expect(answers.lookbackMs('rate(x[5m] OFFSET 1d)')).toBe(HOUR / 12 + 24 * HOUR);
    expect(answers.lookbackMs('rate(x[5m] @ start() offset -1d)')).toBe(HOUR / 12);
    expect(answers.plain('up @ start()')).toBe(false);
  });

  it('binds offset and @ to the operand just before them, as Prometheus does, not to the whole expression', () => {
    // Prometheus reads x - x offset 1d as x - (x offset 1d); lezer-promql's tree puts the
    // offset around the subtraction, and rate(...) offset 1d is no valid PromQL.
    expect(answers.fix('x_total - x_total offset 1d')).toBe('rate(x_total[5m]) - rate(x_total[5m] offset 1d)');
    expect(answers.fix('x_total / y_total @ end()')).toBe('rate(x_total[5m]) / rate(y_total[5m] @ end())');
    expect(answers.fix('a_total - b_total - c_total offset 1h @ 100')).toBe(
      'rate(a_total[5m]) - rate(b_total[5m]) - rate(c_total[5m] offset 1h @ 100)',
    );
    expect(answers.fix('-x_total offset 1h')).toBe('-rate(x_total[5m] offset 1h)');
    expect(answers.fix('x_total offset 1h - y_total')).toBe('rate(x_total[5m] offset 1h) - rate(y_total[5m])');
  });

  it('measures subquery windows, written as durations or sums of them', () => {
    expect(answers.lookbackMs('max_over_time(rate(x[5m])[1h+30m:5m])')).toBe(1.5 * HOUR);
    expect(answers.lookbackMs('max_over_time(x[1h:] offset 30m)')).toBe(1.5 * HOUR);
    expect(answers.fix('max_over_time(sum(x_total)[1h:5m])')).toBe('max_over_time(sum(rate(x_total[5m]))[1h:5m])');
    expect(answers.fix('max_over_time(x_total[1h:5m])')).toBeNull();
  });

  it('tells a metric named like a function or a number from the function or the number', () => {
    expect(answers.plain('rate{job="a"}')).toBe(true);
    expect(answers.plain('Inf')).toBe(false);
    expect(answers.plain('NaN')).toBe(false);
    expect(answers.counter('histogram_count{job="a"}')).toBe(true);
    expect(answers.fix('sum(histogram_count)')).toBe('sum(rate(histogram_count[5m]))');
    expect(answers.fix('histogram_count(sum(x_bucket))')).toBe('histogram_count(sum(rate(x_bucket[5m])))');
  });

  it('sees through nested aggregations with by (...)', () => {
    expect(answers.unit('sum by (job) (count by (job, pod) (container_memory_working_set_bytes))')).toBeUndefined();
    expect(answers.fix('sum by (job) (max by (job, le) (x_bucket{le="+Inf"}))')).toBe('sum by (job) (max by (job, le) (rate(x_bucket{le="+Inf"}[5m])))');
    expect(answers.fix('sum(max(x_total) by (instance)) by (job) / on (job) group_left (team) sum(y_total) by (job)')).toBe(
      'sum(max(rate(x_total[5m])) by (instance)) by (job) / on (job) group_left (team) sum(rate(y_total[5m])) by (job)',
    );
  });

  it('leaves a query it cannot parse to Prometheus: not plain, no rewrite, no lookback', () => {
    for (const q of ['sum(x_total', 'up{', 'up}', 'up up', '', '# only a comment']) {
      expect(answers.plain(q), q).toBe(false);
      expect(answers.fix(q), q).toBeNull();
      expect(answers.lookbackMs(q), q).toBe(0);
    }
  });
});
