// Sixteen ~60 MiB Prometheus answers at once must not take the server past the example
// Deployment's memory limit: past PROMETHEUS_MAX_INFLIGHT_MB a call is refused with a clear tool
// error, and the process lives on. A fake Prometheus serves the answers (a real one cannot
// produce a 60 MiB matrix on demand cheaply); the process's peak RSS is read from /proc.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { largeMatrix, largeQueries, peakRss, serveLargeAnswer, type LargeAnswerServer } from '../../tools/large-answers.js';
import { connectStdio, ROOT, tempDir, text, type Connected } from '../helpers/server.js';

/** The memory limit of the example Deployment, in bytes. */
function manifestLimit(): number {
  const yaml = readFileSync(join(ROOT, 'examples/kubernetes/deployment.yaml'), 'utf8');
  const m = /limits:\s*\n(?:\s+\w+: .*\n)*?\s+memory: (\d+)Mi/.exec(yaml);
  if (!m) throw new Error('no memory limit in examples/kubernetes/deployment.yaml');
  return Number(m[1]) * 1048576;
}

const REFUSED = /^This server (is busy with other large answers: .*PROMETHEUS_MAX_INFLIGHT_MB|refused Prometheus's answer: .*PROMETHEUS_MAX_ANSWER_MB)/;

describe.skipIf(process.platform !== 'linux')('large Prometheus answers, many at once', () => {
  const dir = tempDir();
  let fake: LargeAnswerServer | undefined;
  let conn: Connected | undefined;
  afterAll(async () => {
    await conn?.close();
    await fake?.close();
    dir.cleanup();
  });

  it('keeps the server under the Deployment memory limit, answering or refusing each call clearly', async () => {
    fake = await serveLargeAnswer(largeMatrix(60));
    conn = await connectStdio({ PROMETHEUS_URL: fake.url, DATA_DIR: dir.path, PROMETHEUS_TIMEOUT: '100s', MCP_TOOL_TIMEOUT: '110s' });
    const results = await Promise.all(largeQueries(conn.client, 16));
    const peak = peakRss(conn.pid);
    const limit = manifestLimit();

    expect(process.kill(conn.pid, 0)).toBe(true); // alive
    // 15% of the limit left over: the pod must not live on the edge of an OOM kill (measured: 330 MiB
    // with SDK 1.x, 368 MiB with v2 on a quiet machine, up to 399 MiB under load; was 1,014 MiB)
    expect(peak / 1048576, `peak RSS in MiB, limit ${limit / 1048576} MiB`).toBeLessThan((limit * 0.85) / 1048576);
    const answered = results.filter((r) => !r.isError);
    for (const r of answered) expect(r.structuredContent).toMatchObject({ kind: 'range', total: 1000 });
    for (const r of results.filter((x) => x.isError)) expect(text(r)).toMatch(REFUSED);
    expect(answered.length).toBeGreaterThanOrEqual(1); // the budget refuses the excess, not everything
    // and it serves the next call
    expect((await conn.client.listTools()).tools.length).toBeGreaterThan(0);
  }, 240_000);
});
