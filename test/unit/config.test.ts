import { describe, expect, it } from 'vitest';
import { ConfigError, defaultDataDir, loadConfig } from '../../src/config.js';

const run = (argv: string[], env: Record<string, string> = {}) => {
  const a = loadConfig(argv, env);
  if (a.kind !== 'run') throw new Error(a.kind);
  return a.config;
};

describe('config', () => {
  it('has defaults for local use', () => {
    const c = run([], { HOME: '/home/u' });
    expect(c).toMatchObject({ transport: 'stdio', host: '127.0.0.1', port: 8080, logLevel: 'info', incidentRetentionDays: 90 });
    expect(c.dataDir).toBe(defaultDataDir({ HOME: '/home/u' }));
  });

  it('reads the environment and lets flags win', () => {
    const c = run(['--port', '9000', '--transport=http'], { PORT: '7000', DATA_DIR: '/tmp/x', MCP_TRANSPORT: 'stdio' });
    expect(c.port).toBe(9000);
    expect(c.transport).toBe('http');
    expect(c.dataDir).toBe('/tmp/x');
  });

  it('names the variable and the rule on a bad value', () => {
    expect(() => run([], { PORT: 'abc' })).toThrow(new ConfigError('PORT must be an integer 1-65535, got "abc"'));
    expect(() => run(['--port', '70000'])).toThrow('--port must be an integer 1-65535, got "70000"');
    expect(() => run([], { MCP_TRANSPORT: 'sse' })).toThrow('MCP_TRANSPORT must be "stdio" or "http", got "sse"');
    expect(() => run([], { INCIDENT_RETENTION_DAYS: '-1' })).toThrow(/INCIDENT_RETENTION_DAYS must be an integer 0-36500/);
  });

  it('rejects unknown flags and flags without a value', () => {
    expect(() => run(['--prot', '1'])).toThrow(/unknown option "--prot"/);
    expect(() => run(['--port'])).toThrow('--port needs a value');
  });

  it('recognises --help and --version', () => {
    expect(loadConfig(['--help'], {}).kind).toBe('help');
    expect(loadConfig(['--version'], {}).kind).toBe('version');
  });
});
