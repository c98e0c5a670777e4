// tools/load-http.ts as a smoke test: a handful of sessions for two seconds through the real
// tool (server, token, seeded store, mixed calls), so the load tool keeps working and the
// endpoint keeps answering every call of the mix without an error. Figures are not judged:
// the README's are measured with the full run.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, serverEnv } from '../helpers/server.js';

describe('tools/load-http.ts', () => {
  it('runs a short load with no errors and reports every call of the mix', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'tools/load-http.ts'), '--sessions', '8', '--duration', '2', '--think', '50', '--seed', '50'],
        { cwd: ROOT, env: serverEnv({}), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);
    const summary = /(\d+) calls in ([\d.]+) s: (\d+) calls\/s, (\d+) errors/.exec(out.stdout);
    expect(summary, out.stdout).not.toBeNull();
    const [, calls, wall, , errors] = summary!;
    expect(Number(errors)).toBe(0);
    // 8 sessions, 2 s, 50-75 ms apart: dozens of calls at least, in about the time asked
    expect(Number(calls)).toBeGreaterThan(20);
    expect(Number(wall)).toBeGreaterThanOrEqual(2);
    expect(Number(wall)).toBeLessThan(10);
    for (const op of ['list_incidents', 'list_incidents(filtered)', 'list_incidents(all,labels)', 'create_incident', 'tools/list']) {
      expect(out.stdout).toMatch(new RegExp(`^${op.replace(/[()/]/g, '\\$&')}\\s+\\d+\\s+[\\d.]+`, 'm'));
    }
    // the server's own view came from /metrics, and 50 seeded plus the created ones are stored
    expect(out.stdout).toMatch(/server: list_incidents handler mean [\d.]+ ms over \d+ calls/);
    const incidents = /incidents (\d+)/.exec(out.stdout.split('\n').find((l) => l.startsWith('server: CPU')) ?? '');
    expect(Number(incidents?.[1])).toBeGreaterThanOrEqual(50);
    expect(out.stdout).not.toMatch(/^error x/m);
  }, 30_000);
});
