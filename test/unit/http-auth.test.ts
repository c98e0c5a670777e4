import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { TokenAuth, parseTokenFile } from '../../src/transports/http-auth.js';
import { captureLogger } from '../helpers/log.js';
import { tempDir } from '../helpers/server.js';

const A = 'token-a-0123456789abcdef';
const B = 'token-b-0123456789abcdef';
const C = 'token-c-0123456789abcdef';
const dirs: { cleanup(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));
function file(content: string): string {
  const d = tempDir();
  dirs.push(d);
  const p = join(d.path, 'tokens');
  writeFileSync(p, content);
  return p;
}

describe('bearer tokens', () => {
  it('parses token files: lines, commas, comments; reports bad lines', () => {
    expect(parseTokenFile(`# rotation\n${A}\n\n${B}, ${C}  # new\n`)).toEqual({ tokens: [A, B, C], badLines: [] });
    expect(parseTokenFile(`${A}\nshort\n`).badLines).toEqual([2]);
  });

  it('accepts any configured token and names the client by fingerprint, never by token', () => {
    const { log } = captureLogger();
    const auth = new TokenAuth({ tokens: [A, B], file: null, log });
    const a = auth.check(`Bearer ${A}`);
    const b = auth.check(`bearer ${B}`);
    expect(a).toMatchObject({ ok: true, client: expect.stringMatching(/^tok-[0-9a-f]{8}$/) });
    expect(b.ok && a.ok && b.client !== a.client).toBe(true);
    expect(JSON.stringify(a)).not.toContain(A);
    expect(auth.check(undefined)).toEqual({ ok: false, error: 'missing' });
    expect(auth.check(`Bearer ${A}x`)).toEqual({ ok: false, error: 'invalid' });
    expect(auth.check(`Bearer ${A.slice(0, -1)}`)).toEqual({ ok: false, error: 'invalid' });
    expect(auth.check(`Basic ${A}`)).toEqual({ ok: false, error: 'invalid' });
    expect(auth.check('Bearer')).toEqual({ ok: false, error: 'invalid' });
  });

  it('refuses an unusable token file at start-up', () => {
    const { log } = captureLogger();
    expect(() => new TokenAuth({ tokens: [], file: '/nonexistent/tokens', log })).toThrow(ConfigError);
    expect(() => new TokenAuth({ tokens: [], file: file('# nothing\n'), log })).toThrow(/holds no token/);
    expect(() => new TokenAuth({ tokens: [], file: file(`${A}\nshort\n`), log })).toThrow(/line 2 must hold tokens of at least 16/);
  });

  it('re-reads the file when it changes, as a Kubernetes Secret update does', () => {
    const { log, lines } = captureLogger();
    const path = file(`${A}\n`);
    const auth = new TokenAuth({ tokens: [], file: path, log, recheckMs: 0 });
    let now = 1000;
    expect(auth.check(`Bearer ${A}`, now).ok).toBe(true);
    // rotation step 1: both tokens; written aside and renamed in, like the kubelet's atomic writer
    writeFileSync(`${path}.new`, `${A}\n${B}\n`);
    renameSync(`${path}.new`, path);
    expect(auth.check(`Bearer ${B}`, ++now).ok).toBe(true);
    expect(auth.check(`Bearer ${A}`, ++now).ok).toBe(true);
    // step 2: the old token removed
    writeFileSync(`${path}.new`, `${B}\n`);
    renameSync(`${path}.new`, path);
    expect(auth.check(`Bearer ${A}`, ++now).ok).toBe(false);
    expect(auth.check(`Bearer ${B}`, ++now).ok).toBe(true);
    // a file missing for a moment keeps the last tokens
    rmSync(path);
    expect(auth.check(`Bearer ${B}`, ++now).ok).toBe(true);
    // emptied on purpose: nothing passes (fail closed), and the log says so
    writeFileSync(path, '\n');
    expect(auth.check(`Bearer ${B}`, ++now).ok).toBe(false);
    expect(lines().some((l) => /no valid token left/.test(l.msg))).toBe(true);
    expect(JSON.stringify(lines())).not.toContain(B);
  });

  it('checks the file at most once per interval', () => {
    const { log } = captureLogger();
    const path = file(`${A}\n`);
    const auth = new TokenAuth({ tokens: [], file: path, log, recheckMs: 1000 });
    expect(auth.check(`Bearer ${A}`, 10_000).ok).toBe(true);
    // (a different size, so the change shows even within one mtime tick)
    writeFileSync(path, `${B}-longer\n`);
    expect(auth.check(`Bearer ${B}-longer`, 10_500).ok).toBe(false);
    expect(auth.check(`Bearer ${B}-longer`, 11_001).ok).toBe(true);
  });
});
