import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only fight over the CPU the servers under test need.
    maxWorkers: 2,
    // One entry per real server the tests need; each is its own file.
    globalSetup: ['./test/helpers/postgres-setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
