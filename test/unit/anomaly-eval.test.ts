// The detector against the generated evaluation set, reduced so it runs in a few seconds:
// a change that costs accuracy fails here. Speed is measured by tools/bench-anomaly.ts.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../tools/bench-anomaly.js';
import { generateEvalSet } from '../../tools/anomaly-eval-gen.js';
import type { Analysis } from '../../src/anomaly/detect.js';

describe('evaluation set (reduced)', () => {
  it('the generator is deterministic and labels what it injects', () => {
    const a = generateEvalSet({ seed: 5, count: 12 });
    const b = generateEvalSet({ seed: 5, count: 12 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    for (const s of a) {
      expect(s.labels.length === 0).toBe(s.injected === 'none');
      for (const l of s.labels) expect(l.kind).toBe(s.injected);
    }
  });

  it('the kind-strict F1 counts a window only when the injected kind is found there', () => {
    const set = generateEvalSet({ seed: 5, count: 12 }).filter((s) => s.labels.length > 0);
    const fake = (kindOf: (k: string) => string) => (s: (typeof set)[number]) =>
      ({ points: s.values.length, anomalies: s.labels.map((l) => ({ kind: kindOf(l.kind), at: l.start })) }) as unknown as Analysis;
    const right = evaluate(set, fake((k) => k));
    expect(right.overall.f1).toBe(1);
    expect(right.overall.strictF1).toBe(1);
    const wrong = evaluate(set, fake((k) => (k === 'spike' ? 'dip' : 'spike')));
    expect(wrong.overall.f1).toBe(1); // any detection in the window counts
    expect(wrong.overall.strictF1).toBe(0);
  });

  it('meets the targets: F1 >= 0.8 overall, <= 1 false positive per 1,000 clean points', () => {
    const r = evaluate(generateEvalSet({ seed: 2026, count: 60 }));
    expect(r.overall.windows).toBeGreaterThan(30);
    expect(r.clean.points).toBeGreaterThan(50_000);
    expect(r.overall.f1).toBeGreaterThanOrEqual(0.8);
    expect(r.clean.fpPer1000).toBeLessThanOrEqual(1);
    for (const k of r.kinds) expect(k.recall, k.kind).toBeGreaterThanOrEqual(0.5);
  });
});
