// The project's NAB scorer (tools/nab/score.ts) against the reference scorer the team measured
// with, on fixed per-point scores: NAB's published outputs of three detectors for the 27 files
// (tools/nab/published/). The expected numbers were produced once by
//   cd ../shared/anomaly-dev && node score.mjs --published ARTime,numenta,relativeEntropy --json out.json
// (score.mjs re-implements NAB v1.1's sweeper, optimizer and normalisation and reproduces NAB's
// published results) and copied from out.json at full precision.
import { describe, expect, it } from 'vitest';
import { loadCorpus, loadScores, nabScores, windowCount } from '../../tools/nab/score.js';

interface Expected {
  /** normalized, threshold, raw; per profile */
  standard: [number, number, number];
  lowFP: [number, number, number];
  lowFN: [number, number, number];
  /** standard profile, per category */
  categories: Record<string, number | null>;
  /** windows found, missed, false-positive points at threshold 0.5 */
  windows: [number, number, number];
}

const EXPECTED: Record<string, Expected> = {
  ARTime: {
    standard: [78.71714583411497, 0.309287, 30.440174584161873],
    lowFP: [69.16707611145863, 0.309287, 20.317100678146154],
    lowFN: [83.92463810324645, 0.309287, 27.44017458416186],
    categories: { artificialNoAnomaly: null, artificialWithAnomaly: 70.347957415849, realAdExchange: 75.12292774238846, realTweets: 81.93030291877456 },
    windows: [45, 8, 69],
  },
  numenta: {
    standard: [70.1896671998823, 0.544449877418, 21.40104723187523],
    lowFP: [64.94449696064197, 0.690527691223, 15.841166778280499],
    lowFN: [74.46606744143094, 0.544449877418, 12.4010472318752],
    categories: { artificialNoAnomaly: null, artificialWithAnomaly: 70.22237761919295, realAdExchange: 76.86367796423998, realTweets: 68.01898801149225 },
    windows: [44, 9, 104],
  },
  relativeEntropy: {
    standard: [52.61965915686699, 1, 2.776838706279002],
    lowFP: [46.37883086670226, 1, -3.8384392812956065],
    lowFN: [56.4634205699868, 1, -16.223161293720988],
    categories: { artificialNoAnomaly: null, artificialWithAnomaly: 56.64795011173521, realAdExchange: 36.811446384278504, realTweets: 59.76042379586787 },
    windows: [34, 19, 62],
  },
};

describe('NAB scorer', () => {
  const files = loadCorpus();

  it('loads the 27 development files and their 53 windows', () => {
    expect(files).toHaveLength(27);
    expect(files.reduce((s, f) => s + f.windows.length, 0)).toBe(53);
    expect(files.reduce((s, f) => s + f.values.length, 0)).toBe(212_593);
  });

  for (const [name, want] of Object.entries(EXPECTED)) {
    it(`gives the reference scorer's numbers for ${name}'s published scores`, () => {
      const scores = loadScores(new URL(`../../tools/nab/published/${name}.json.gz`, import.meta.url).pathname, files);
      const got = nabScores(files, scores);
      const triple = (p: { normalized: number; threshold: number; raw: number }) => [p.normalized, p.threshold, p.raw];
      const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 9));
      close(triple(got.standard), want.standard);
      close(triple(got.reward_low_FP_rate), want.lowFP);
      close(triple(got.reward_low_FN_rate), want.lowFN);
      for (const [c, v] of Object.entries(want.categories)) {
        if (v === null) expect(got.standard.perCategory[c]).toBeNull();
        else expect(got.standard.perCategory[c]).toBeCloseTo(v, 9);
      }
      const w = windowCount(files, scores, 0.5);
      expect([w.found, w.missed, w.fpPoints]).toEqual(want.windows);
    });
  }

  it('scores 100 for detections at each window start only, 0 for none', () => {
    const perfect = files.map((f) => {
      const s = new Float64Array(f.values.length);
      for (const w of f.windows) s[w.start] = 1;
      return s;
    });
    expect(nabScores(files, perfect).standard.normalized).toBeCloseTo(100, 6);
    const none = files.map((f) => new Float64Array(f.values.length));
    expect(nabScores(files, none).standard.normalized).toBe(0);
  });
});
