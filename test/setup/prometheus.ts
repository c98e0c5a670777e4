// vitest globalSetup: one real Prometheus with the fixture cluster for the whole run.
import type { TestProject } from 'vitest/node';
import { startFixturePrometheus } from '../../tools/test-prometheus.js';

declare module 'vitest' {
  export interface ProvidedContext {
    prometheusUrl: string;
    fixtureNow: number;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = await startFixturePrometheus({ log: (s) => process.stderr.write(`[test-prometheus] ${s}\n`) });
  project.provide('prometheusUrl', env.url);
  project.provide('fixtureNow', env.fixtureNow);
  return () => env.stop();
}
