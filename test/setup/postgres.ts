// vitest globalSetup: one throwaway PostgreSQL server for the whole run (tools/test-postgres.ts),
// or the server TEST_DATABASE_URL names. Tests get its URL with inject('databaseUrl') and make
// their own databases in it (test/helpers/postgres.ts).
import type { TestProject } from 'vitest/node';
import { startTestPostgres } from '../../tools/test-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('databaseUrl', given);
    return undefined;
  }
  const pg = await startTestPostgres();
  project.provide('databaseUrl', pg.url);
  return () => pg.stop();
}
