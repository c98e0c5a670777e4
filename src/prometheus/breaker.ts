// A circuit breaker per upstream: after `threshold` consecutive failures it fails fast for
// `openMs`, then lets one probe through; the probe's outcome closes or re-opens it.
// A timeout counts only when nothing from the upstream succeeded within `openMs`: one slow
// query says nothing about an upstream that answers the others.
import type { BreakerState } from './api.js';

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private lastError = '';
  private lastSuccessAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly threshold = 5,
    private readonly openMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  state(): BreakerState {
    if (this.failures < this.threshold) return 'closed';
    return this.now() - this.openedAt >= this.openMs ? 'half_open' : 'open';
  }

  /** Whether a request may go out now; in half-open, only one probe at a time. */
  allow(): boolean {
    const s = this.state();
    if (s === 'closed') return true;
    if (s === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** ms until the next probe is allowed */
  retryInMs(): number {
    return Math.max(0, this.openedAt + this.openMs - this.now());
  }

  get lastFailure(): string {
    return this.lastError;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    this.lastSuccessAt = this.now();
  }

  /** A request that ran out of time: a failure only if the upstream has not answered anything lately. */
  timedOut(message: string): void {
    if (this.now() - this.lastSuccessAt < this.openMs) this.release();
    else this.failure(message);
  }

  failure(message: string): void {
    this.lastError = message;
    this.failures++;
    this.probing = false;
    if (this.failures >= this.threshold) this.openedAt = this.now();
  }

  /** A request that ended without telling us anything about the upstream's health. */
  release(): void {
    this.probing = false;
  }
}
