// Credentials for Prometheus/Thanos: a bearer token (literal, or from a file such as the
// in-cluster ServiceAccount token, re-read when it rotates), basic auth, extra headers.
import { readFileSync, statSync } from 'node:fs';

export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const RECHECK_MS = 10_000;

export interface AuthSettings {
  token: string | null;
  tokenFile: string | null;
  username: string | null;
  password: string | null;
  headers: Record<string, string>;
}

export class Credentials {
  private fileToken: string | null = null;
  private fileMtime = -1;
  private checkedAt = 0;

  constructor(
    private readonly s: AuthSettings,
    private readonly now: () => number = Date.now,
  ) {
    if (s.tokenFile) this.readTokenFile(true);
  }

  /** True when requests carry a bearer token or basic auth. */
  get configured(): boolean {
    return Boolean(this.s.token || this.s.tokenFile || this.s.username);
  }

  private readTokenFile(force: boolean): void {
    const file = this.s.tokenFile;
    if (!file) return;
    if (!force && this.now() - this.checkedAt < RECHECK_MS) return;
    this.checkedAt = this.now();
    try {
      const mtime = statSync(file).mtimeMs;
      if (mtime !== this.fileMtime || force) {
        this.fileToken = readFileSync(file, 'utf8').trim() || null;
        this.fileMtime = mtime;
      }
    } catch (err) {
      if (force) throw new Error(`cannot read the token file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      // keep the token we had; the file may be mid-rotation
    }
  }

  /** Forces a re-read of the token file, e.g. after a 401. */
  refresh(): void {
    try {
      this.readTokenFile(true);
    } catch {
      // keep the token we had
    }
  }

  headers(): Record<string, string> {
    this.readTokenFile(false);
    const h: Record<string, string> = { ...this.s.headers };
    const token = this.s.token ?? this.fileToken;
    if (token) h.authorization = `Bearer ${token}`;
    else if (this.s.username) {
      h.authorization = `Basic ${Buffer.from(`${this.s.username}:${this.s.password ?? ''}`).toString('base64')}`;
    }
    return h;
  }
}
