// The official MCP conformance suite against the built server over HTTP: the 2026-07-28
// requirements and the 2025-11-25 active suite, each with a baseline of the scenarios that need
// the reference server's fixtures or features we do not offer (test/conformance/*.yml, each
// entry with its reason). A new failure, or a baseline entry that starts passing, fails the run.
// The suite needs Node >= 22: npx takes it from the `node` npm package, not from the system.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startHttpServer, tempDir, type HttpServer } from '../helpers/server.js';

const SUITE = '@modelcontextprotocol/conformance@0.2.0-alpha.12';

function conformance(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn('npx', ['-y', '-p', 'node@22', '-p', SUITE, 'conformance', 'server', ...args], { cwd: tempDir('pim-conformance-').path, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => resolve({ code, out }));
  });
}

const summary = (out: string) => /Total: (\d+) passed, (\d+) failed/.exec(out)?.slice(1).map(Number) ?? [];

describe('MCP conformance suite', () => {
  let srv: HttpServer;
  const dir = tempDir();
  beforeAll(async () => {
    srv = await startHttpServer({ DATA_DIR: dir.path });
  });
  afterAll(async () => {
    await srv?.stop();
    dir.cleanup();
  });

  it.each([
    ['2026-07-28 requirements', ['--requirements', '2026-07-28'], 'expected-failures.2026-07-28.yml'],
    ['2025-11-25 active suite', ['--spec-version', '2025-11-25'], 'expected-failures.2025-11-25.yml'],
  ])('passes the %s except its baseline', async (_name, args, baseline) => {
    const r = await conformance(['--url', srv.url, ...args, '--expected-failures', join(ROOT, 'test/conformance', baseline)]);
    expect(r.out, r.out).toMatch(/Baseline check passed: all failures are expected/);
    expect(r.code).toBe(0);
    const [passed] = summary(r.out);
    expect(passed).toBeGreaterThan(0);
    expect(srv.stderr()).not.toMatch(/"level":50/); // nothing the suite sent made the server log an error
  }, 600_000);
});
