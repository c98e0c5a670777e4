// Query results cached for a TTL, bounded by entries and bytes; identical requests in
// flight at the same time share one upstream call.
import { LRUCache } from 'lru-cache';

export interface Cached<T> {
  value: T;
  /** how the caller got it: from the cache, from another caller's request, or fetched */
  source: 'hit' | 'shared' | 'miss';
}

export class ResultCache<T extends object> {
  private readonly lru: LRUCache<string, { value: T; size: number }>;
  private readonly inflight = new Map<string, Promise<{ value: T; size: number; ttlMs?: number | undefined }>>();
  /** a TTL of 0 turns caching off (lru-cache would read 0 as "forever") */
  private readonly enabled: boolean;
  private readonly ttlMs: number;

  constructor(opts: { ttlMs: number; maxEntries: number; maxBytes: number }) {
    this.enabled = opts.ttlMs > 0;
    this.ttlMs = Math.max(1, opts.ttlMs);
    this.lru = new LRUCache({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: (e) => Math.max(1, e.size),
      ttl: this.ttlMs,
      // an entry larger than a tenth of the cache is not worth evicting others for
      maxEntrySize: Math.max(1, Math.floor(opts.maxBytes / 10)),
    });
  }

  get size(): number {
    return this.lru.size;
  }

  /**
   * Returns the cached value for key, or runs load once however many callers ask at the
   * same time. `load` resolves with the value and its size in bytes. Failures are not cached.
   */
  async get(key: string, load: () => Promise<{ value: T; size: number; ttlMs?: number | undefined }>): Promise<Cached<T>> {
    const hit = this.enabled ? this.lru.get(key) : undefined;
    if (hit) return { value: hit.value, source: 'hit' };
    const pending = this.inflight.get(key);
    if (pending) return { value: (await pending).value, source: 'shared' };
    const p = load();
    this.inflight.set(key, p);
    try {
      const entry = await p;
      // an entry may ask for a shorter life than the cache's TTL, never a longer one
      if (this.enabled) this.lru.set(key, { value: entry.value, size: entry.size }, entry.ttlMs !== undefined ? { ttl: Math.min(entry.ttlMs, this.ttlMs) } : {});
      return { value: entry.value, source: 'miss' };
    } finally {
      this.inflight.delete(key);
    }
  }

  clear(): void {
    this.lru.clear();
  }
}
