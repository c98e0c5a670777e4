import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { cachedReadiness } from '../../src/transports/http-ops.js';

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
});
