// Issue 15, item 1, through the real MCP client over stdio: generated series of the shapes
// that used to fail (mostly zero, gaps and uneven steps, smooth cycles, huge outliers) come
// back as results that the client's own check against the output schema accepts, with only
// finite numbers. The many-case property test runs below MCP (test/unit/anomaly-robust.test.ts).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connectStdio, tempDir, text, type Connected } from '../helpers/server.js';
import { nonFinitePaths, pairs, seriesShape } from '../helpers/series-shapes.js';

describe('detect_anomaly over stdio on generated everyday shapes', () => {
  const dir = tempDir();
  let conn: Connected;
  beforeAll(async () => {
    conn = await connectStdio({ DATA_DIR: dir.path });
    await conn.client.listTools(); // so the client checks each result against the output schema too
  });
  afterAll(async () => {
    await conn?.close();
    dir.cleanup();
  });

  it('answers every one with a valid, finite result', async () => {
    const cases = fc.sample(seriesShape, { numRuns: 24, seed: 15 });
    // the smooth sine of the issue
    cases.push({ shape: '10*sin(i/20)', t: Array.from({ length: 100 }, (_, i) => 1_768_867_200 + 60 * i), values: Array.from({ length: 100 }, (_, i) => 10 * Math.sin(i / 20)) });
    for (const c of cases) {
      const r = await call(conn.client, 'detect_anomaly', { series: [{ labels: { shape: c.shape }, values: pairs(c) }] });
      expect(r.isError, `${c.shape}: ${text(r)}`).toBeFalsy();
      expect(nonFinitePaths(r.structuredContent), c.shape).toEqual([]);
      expect(['ok', 'insufficient_data', 'flat']).toContain((r.structuredContent as any).series[0].status);
    }
  });
});
