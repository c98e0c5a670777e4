import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { cachedReadiness, readiness } from '../../src/transports/http-ops.js';

describe('/readyz', () => {
  it('checks its dependencies at most once per interval, however often it is asked', async () => {
    let checks = 0;
    const app = {
      store: { health: async () => ({ ok: true, backend: 'file' }) },
      prometheus: {
        health: async () => {
          checks++;
          return [{ ok: true, url: 'http://p', tier: 'prometheus', ms: 1 }];
        },
      },
    } as unknown as App;
    const ready = cachedReadiness(app, 200);
    const answers = await Promise.all(Array.from({ length: 50 }, () => ready({ draining: false })));
    expect(answers.every((a) => a.ready)).toBe(true);
    expect(checks).toBe(1);
    await new Promise((r) => setTimeout(r, 250));
    await ready({ draining: false });
    expect(checks).toBe(2);
    expect((await ready({ draining: true })).ready).toBe(false); // draining is never cached
  });

  it('checks the store and Prometheus at the same time, so slow ones do not add up', async () => {
    // each answers only once the other has been asked: one after the other, both would time out
    let storeAsked!: () => void;
    let promAsked!: () => void;
    const store = new Promise<void>((r) => (storeAsked = r));
    const prom = new Promise<void>((r) => (promAsked = r));
    const app = {
      store: {
        health: async () => {
          storeAsked();
          await prom;
          return { ok: true, backend: 'file' };
        },
      },
      prometheus: {
        health: async () => {
          promAsked();
          await store;
          return [{ ok: true, url: 'http://p', tier: 'prometheus', ms: 1 }];
        },
      },
    } as unknown as App;
    const r = await readiness(app, { draining: false, timeoutMs: 500 });
    expect(r.body).toMatchObject({ status: 'ready', dependencies: { store: 'file, writable', prometheus: 'connected' } });
  });

  it('reports a dependency that does not answer in time', async () => {
    const app = {
      store: { health: () => new Promise(() => {}) },
      prometheus: { health: () => new Promise(() => {}) },
    } as unknown as App;
    const r = await readiness(app, { draining: false, timeoutMs: 50 });
    expect(r.ready).toBe(false);
    expect(r.body.problems).toEqual(['store: the store did not answer within 50 ms', 'prometheus: Prometheus did not answer within 50 ms']);
  });
});
