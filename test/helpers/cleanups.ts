// Per-test clean-up: register what to undo (servers, clients, directories); it runs after
// each test, last registered first.
import { afterEach } from 'vitest';
import { tempDir } from './server.js';

export function useCleanups(): { cleanups: (() => unknown)[]; dirFor(): string } {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    cleanups,
    /** a temporary directory removed after the test */
    dirFor() {
      const d = tempDir();
      cleanups.push(() => d.cleanup());
      return d.path;
    },
  };
}
