// Bearer tokens for /mcp: from MCP_AUTH_TOKEN and/or a file (a mounted Secret), several at
// once so a new token can be rolled out before the old one is removed. The file is re-read
// when it changes (checked at most once a second, so a Kubernetes Secret update takes effect
// without a restart). Comparison is constant-time: every candidate is hashed and compared
// with every known digest, so neither the length nor the matching prefix leaks.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { ConfigError, TOKEN_RULE, isToken } from '../config.js';
import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';

export type AuthResult = { ok: true; client: string } | { ok: false; error: 'missing' | 'invalid' };

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Parses a token file: one token a line (commas also separate), "#" starts a comment. */
export function parseTokenFile(text: string): { tokens: string[]; badLines: number[] } {
  const tokens: string[] = [];
  const badLines: number[] = [];
  text.split('\n').forEach((line, i) => {
    for (const raw of line.replace(/#.*/, '').split(',')) {
      const t = raw.trim();
      if (t === '') continue;
      if (isToken(t)) tokens.push(t);
      else badLines.push(i + 1);
    }
  });
  return { tokens, badLines };
}

export interface TokenAuthOptions {
  tokens: readonly string[];
  file: string | null;
  log: Logger;
  /** how often the file's stat is checked, ms */
  recheckMs?: number;
}

export class TokenAuth {
  private digests: Buffer[] = [];
  private fileStamp = '';
  private checkedAt = 0;
  private readonly recheckMs: number;

  /** Throws ConfigError when the token file cannot be used at start-up. */
  constructor(private readonly opts: TokenAuthOptions) {
    this.recheckMs = opts.recheckMs ?? 1000;
    if (opts.file !== null) {
      const problem = this.loadFile(true);
      if (problem) throw new ConfigError(problem);
    } else this.setTokens([]);
  }

  /** whether any token is configured (the file may later drop to none: then nothing passes) */
  get enabled(): boolean {
    return this.opts.file !== null || this.opts.tokens.length > 0;
  }

  get count(): number {
    return this.digests.length;
  }

  private setTokens(fromFile: readonly string[]): void {
    this.digests = [...new Set([...this.opts.tokens, ...fromFile])].map(sha256);
  }

  private stamp(): string {
    const st = statSync(this.opts.file!);
    return `${st.ino}:${st.mtimeMs}:${st.size}`;
  }

  /** Reads the file; returns a problem message at start-up, logs it later. */
  private loadFile(startup: boolean): string | null {
    const file = this.opts.file!;
    let text: string;
    let stamp: string;
    try {
      stamp = this.stamp();
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const msg = `MCP_AUTH_TOKEN_FILE ${file} cannot be read: ${messageOf(err)}`;
      if (startup) return msg;
      // Keep the tokens we have: a Secret update swaps files, and a missing file is more
      // likely a moment in that swap than a revocation.
      this.opts.log.warn({ file, err: messageOf(err) }, 'token file unreadable; keeping the tokens already loaded');
      return null;
    }
    const { tokens, badLines } = parseTokenFile(text);
    if (startup && badLines.length > 0) return `MCP_AUTH_TOKEN_FILE ${file} line ${badLines[0]} must hold ${TOKEN_RULE}`;
    if (startup && tokens.length === 0 && this.opts.tokens.length === 0) return `MCP_AUTH_TOKEN_FILE ${file} holds no token`;
    if (badLines.length > 0) this.opts.log.error({ file, lines: badLines }, 'token file lines ignored: not valid tokens');
    this.fileStamp = stamp;
    this.setTokens(tokens);
    if (!startup) this.opts.log.info({ file, tokens: this.digests.length }, 'token file changed; tokens reloaded');
    if (this.digests.length === 0) this.opts.log.error({ file }, 'no valid token left: every /mcp request will get 401');
    return null;
  }

  private maybeReload(now: number): void {
    if (this.opts.file === null || now - this.checkedAt < this.recheckMs) return;
    this.checkedAt = now;
    let stamp: string;
    try {
      stamp = this.stamp();
    } catch {
      return; // mid-swap; the next check will see the new file
    }
    if (stamp !== this.fileStamp) this.loadFile(false);
  }

  /** Checks an Authorization header; `client` is a short fingerprint of the token, safe to log. */
  check(header: string | undefined, now = Date.now()): AuthResult {
    this.maybeReload(now);
    const m = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!m) return { ok: false, error: header === undefined ? 'missing' : 'invalid' };
    const candidate = sha256(m[1]!);
    let hit = -1;
    for (let i = 0; i < this.digests.length; i++) {
      // no early exit: the time taken does not depend on which token matched
      if (timingSafeEqual(candidate, this.digests[i]!) && hit === -1) hit = i;
    }
    if (hit === -1) return { ok: false, error: 'invalid' };
    return { ok: true, client: `tok-${candidate.subarray(0, 4).toString('hex')}` };
  }
}
