import { describe, expect, it } from 'vitest';
import { loadConfig, redactUrl } from '../../src/config.js';

const run = (env: Record<string, string>) => {
  const a = loadConfig([], env);
  if (a.kind !== 'run') throw new Error('expected run');
  return a.config;
};

describe('store settings', () => {
  it('defaults to the file store and accepts postgres with a URL', () => {
    expect(run({})).toMatchObject({ incidentStore: 'file', databaseUrl: null });
    expect(run({ INCIDENT_STORE: 'postgres', DATABASE_URL: 'postgresql://u:p@db:5432/x?sslmode=require' })).toMatchObject({
      incidentStore: 'postgres',
      databaseUrl: 'postgresql://u:p@db:5432/x?sslmode=require',
    });
  });

  it('rejects a DATABASE_URL that is not postgres without showing its password', () => {
    expect(() => run({ DATABASE_URL: 'http://u:hunter2@db/x' })).toThrow('DATABASE_URL must be a postgres:// or postgresql:// URL, got "http://u:***@db/x"');
    expect(() => run({ DATABASE_URL: 'not a url hunter2' })).toThrow('got "(unparsable)"');
    expect(() => run({ INCIDENT_STORE: 'postgres' })).toThrow('DATABASE_URL must be set when INCIDENT_STORE is "postgres"');
  });

  it('redacts only the password', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/incidents')).toBe('postgres://app:***@db:5432/incidents');
    expect(redactUrl('postgres://db/incidents')).toBe('postgres://db/incidents');
  });
});
