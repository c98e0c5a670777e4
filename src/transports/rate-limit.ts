// Per-client token buckets: `rate` requests a second on average, bursts up to `burst`.
// Buckets that have refilled are forgotten, so memory follows the active clients only.

export type Take = { ok: true } | { ok: false; retryAfterS: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private sweptAt = 0;

  constructor(
    readonly rate: number,
    readonly burst: number = Math.max(10, rate * 2),
    private readonly maxClients = 10_000,
  ) {}

  get clients(): number {
    return this.buckets.size;
  }

  take(key: string, now = Date.now()): Take {
    if (this.rate <= 0) return { ok: true };
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxClients) this.sweep(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = this.refilled(b, now);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return this.refusal(b.tokens);
  }

  /** Whether `key` has a request left, without spending it. */
  peek(key: string, now = Date.now()): Take {
    const b = this.rate > 0 ? this.buckets.get(key) : undefined;
    if (!b) return { ok: true };
    const tokens = this.refilled(b, now);
    return tokens >= 1 ? { ok: true } : this.refusal(tokens);
  }

  private refilled(b: Bucket, now: number): number {
    return Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
  }

  private refusal(tokens: number): Take {
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - tokens) / this.rate)) };
  }

  /** Drops buckets that are full again (their clients have been quiet long enough). */
  sweep(now = Date.now()): void {
    if (now - this.sweptAt < 1000 && this.buckets.size < this.maxClients) return;
    this.sweptAt = now;
    const refill = (this.burst / this.rate) * 1000;
    for (const [k, b] of this.buckets) if (now - b.at >= refill) this.buckets.delete(k);
    // Still full of busy clients: forget the oldest, which errs towards letting requests through.
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < this.maxClients) break;
      this.buckets.delete(k);
    }
  }
}
