import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { defaultStep, planQuery, type QueryArgs } from '../../src/prometheus/explore.js';

const NOW = Date.parse('2026-01-25T12:00:00Z');
const H = 3_600_000;
const base: QueryArgs = { limit: 50, max_points: 60 };
const plan = (a: Partial<QueryArgs>) => planQuery({ ...base, ...a }, NOW);
const fails = (a: Partial<QueryArgs>, field: string, rule: RegExp) => {
  let err: unknown;
  try {
    plan(a);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).field).toBe(field);
  expect((err as InputError).rule).toMatch(rule);
};

describe('planQuery', () => {
  it('plans instant, range and discovery requests', () => {
    expect(plan({ query: 'up' })).toEqual({ kind: 'instant', query: 'up', time: undefined });
    expect(plan({ query: 'up', range: 6 * H })).toEqual({ kind: 'range', query: 'up', start: NOW - 6 * H, end: NOW, step: 120_000 });
    expect(plan({ query: 'up', start: NOW - H, end: NOW - H / 2, step: 15_000 })).toMatchObject({ kind: 'range', step: 15_000 });
    const d = plan({ discover: 'metrics', filter: 'MEM' });
    expect(d).toMatchObject({ kind: 'metrics', start: NOW - H, end: NOW });
    expect((d as { filter: (s: string) => boolean }).filter('container_memory_working_set_bytes')).toBe(true);
    // a regex never runs in JavaScript: it becomes a matcher for Prometheus (RE2)
    expect(plan({ discover: 'metrics', filter: '/^kube_pod_/' })).toMatchObject({ match: '{__name__=~".*(?:^kube_pod_).*"}', filter: null });
    expect(plan({ discover: 'label_values', label: 'pod', filter: '/API"}/i' })).toMatchObject({ match: '{pod=~"(?i).*(?:API\\"}).*"}', filter: null });
  });

  it('chooses about 250 points by default, rounded to a familiar step', () => {
    expect(defaultStep(H)).toBe(15_000);
    expect(defaultStep(24 * H)).toBe(600_000);
    expect(defaultStep(7 * 24 * H)).toBe(3_600_000);
  });

  it('rejects contradictory or impossible requests before any upstream call', () => {
    fails({}, 'query', /either query .* or discover/);
    fails({ query: 'up', discover: 'metrics' }, 'query', /not both/);
    fails({ query: 'up', step: 60_000 }, 'step', /needs a range query/);
    fails({ query: 'up', range: H, time: NOW }, 'time', /instant queries/);
    fails({ query: 'up', range: H, start: NOW - H }, 'range', /range or start, not both/);
    fails({ query: 'up', end: NOW - H }, 'start', /is required with end/);
    fails({ query: 'up', start: NOW, end: NOW - H }, 'start', /must be before end/);
    fails({ query: 'up', range: 7 * 24 * H, step: 1000 }, 'step', /604801 points per series; Prometheus allows 11000: use a step of at least 56s/);
    // counted on the grid the client sends: a whole-second step, start and end floored to it
    fails({ query: 'up', range: 4 * H, step: 1400 }, 'step', /^1s over 4h gives 14401 points/);
    fails({ query: 'up', start: 90_000, end: 135_000 + 10_999 * 60_000, step: 60_000 }, 'step', /gives 11001 points/);
    fails({ query: 'up', filter: 'x' }, 'filter', /is for discover/);
    fails({ discover: 'label_values' }, 'label', /required/);
    fails({ discover: 'label_values', label: '0bad' }, 'label', /must be a label name/);
    fails({ discover: 'series' }, 'match', /required/);
    fails({ discover: 'metrics', filter: '/([/' }, 'filter', /not a valid regular expression/);
    fails({ discover: 'labels', filter: '/^a/' }, 'filter', /a \/regex\/ only with discover "metrics" or "label_values"/);
    fails({ discover: 'metrics', filter: '/^a/', match: 'up' }, 'filter', /cannot be combined with match/);
    fails({ discover: 'labels', step: 1000 }, 'step', /not for discover/);
  });
});
