import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/transports/rate-limit.js';

describe('RateLimiter', () => {
  it('allows a burst, then the rate, and says when to retry', () => {
    const l = new RateLimiter(5, 10);
    const t0 = 1_000_000;
    for (let i = 0; i < 10; i++) expect(l.take('a', t0).ok).toBe(true);
    const refused = l.take('a', t0);
    expect(refused).toEqual({ ok: false, retryAfterS: 1 });
    expect(l.take('b', t0).ok).toBe(true); // clients are separate
    expect(l.take('a', t0 + 200).ok).toBe(true); // 0.2 s at 5/s refills one
    expect(l.take('a', t0 + 200).ok).toBe(false);
  });

  it('computes Retry-After in whole seconds for slow rates', () => {
    const l = new RateLimiter(0.25, 1);
    expect(l.take('a', 0).ok).toBe(true);
    expect(l.take('a', 0)).toEqual({ ok: false, retryAfterS: 4 });
  });

  it('peeks without spending', () => {
    const l = new RateLimiter(1, 2);
    expect(l.peek('a', 0).ok).toBe(true); // unknown: full
    l.take('a', 0);
    l.take('a', 0);
    for (let i = 0; i < 3; i++) expect(l.peek('a', 0)).toEqual({ ok: false, retryAfterS: 1 });
    expect(l.peek('a', 1000).ok).toBe(true);
    expect(l.take('a', 1000).ok).toBe(true); // peeking took nothing
  });

  it('is off at rate 0', () => {
    const l = new RateLimiter(0);
    for (let i = 0; i < 1000; i++) expect(l.take('a').ok).toBe(true);
  });

  it('forgets quiet clients and stays bounded', () => {
    const l = new RateLimiter(10, 20, 100);
    for (let i = 0; i < 100; i++) l.take(`c${i}`, 0);
    expect(l.clients).toBe(100);
    l.take('late', 10_000); // everyone refilled long ago
    expect(l.clients).toBe(1);
    for (let i = 0; i < 500; i++) l.take(`busy${i}`, 20_000);
    expect(l.clients).toBeLessThanOrEqual(100);
  });
});
