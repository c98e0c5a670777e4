import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ConfigError, defaultDataDir, loadConfig } from '../../src/config.js';
import { SETTINGS, usage, type Setting } from '../../src/settings.js';
import { README, withSettingsTable } from '../../tools/config-doc.js';

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

  it('reads the HTTP endpoint settings, with valueless boolean flags', () => {
    const c = run(['--read-only', '--allow-unauthenticated', '--rate-limit', '5', '--allowed-hosts', 'MCP.example.com, [::1]:8080'], {
      MCP_AUTH_TOKEN: 'aaaaaaaaaaaaaaaa1,\nbbbbbbbbbbbbbbbb2',
      MCP_ALLOWED_ORIGINS: 'https://agent.example.com',
      MCP_TOOL_TIMEOUT: '2s',
      MCP_MAX_CONCURRENT: '20',
    });
    expect(c).toMatchObject({
      readOnly: true,
      allowUnauthenticated: true,
      rateLimit: 5,
      allowedHosts: ['mcp.example.com', '[::1]:8080'],
      allowedOrigins: ['https://agent.example.com'],
      authTokens: ['aaaaaaaaaaaaaaaa1', 'bbbbbbbbbbbbbbbb2'],
      toolTimeoutMs: 2000,
      maxConcurrent: 20,
      authTokenFile: null,
    });
    const d = run([], {});
    expect(d).toMatchObject({ readOnly: false, allowUnauthenticated: false, authTokens: [], allowedHosts: [], rateLimit: 50, maxConcurrent: 500 });
    expect(run([], { MCP_READ_ONLY: 'TRUE' }).readOnly).toBe(true);
    expect(run(['--read-only=false']).readOnly).toBe(false);
  });

  it('caps requests in flight per client at a quarter of MCP_MAX_CONCURRENT unless set, and never above it', () => {
    expect(run([], {}).maxConcurrentPerClient).toBe(125);
    expect(run([], { MCP_MAX_CONCURRENT: '3' }).maxConcurrentPerClient).toBe(1);
    expect(run([], { MCP_MAX_CONCURRENT: '10', MCP_MAX_CONCURRENT_PER_CLIENT: '10' }).maxConcurrentPerClient).toBe(10);
    expect(() => run([], { MCP_MAX_CONCURRENT: '10', MCP_MAX_CONCURRENT_PER_CLIENT: '11' })).toThrow(
      new ConfigError('MCP_MAX_CONCURRENT_PER_CLIENT must be at most MCP_MAX_CONCURRENT (10), got 11'),
    );
    expect(() => run([], { MCP_MAX_CONCURRENT_PER_CLIENT: '0' })).toThrow('MCP_MAX_CONCURRENT_PER_CLIENT must be an integer 1-100000, got "0"');
  });

  it('never echoes a token in an error', () => {
    let message = '';
    try {
      run([], { MCP_AUTH_TOKEN: 'short-secret' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^MCP_AUTH_TOKEN must be tokens of at least 16 visible ASCII characters/);
    expect(message).not.toContain('short-secret');
    expect(() => run([], { MCP_READ_ONLY: 'maybe' })).toThrow('MCP_READ_ONLY must be true or false, got "maybe"');
    expect(() => run([], { MCP_ALLOWED_ORIGINS: 'evil.com/path' })).toThrow(/MCP_ALLOWED_ORIGINS must be comma-separated origins/);
  });
});

describe('the one table of settings', () => {
  it("is what the README's configuration table says (npx tsx tools/config-doc.ts rewrites it)", () => {
    const readme = readFileSync(README, 'utf8');
    expect(readme).toBe(withSettingsTable(readme));
  });

  it('is what --help lists: every variable, every flag, and each default', () => {
    const help = usage();
    for (const s of Object.values(SETTINGS) as Setting[]) {
      expect(help).toContain(s.env);
      if (s.flag) expect(help).toContain(s.flag);
      if (typeof s.default === 'string' && s.default !== '' && !s.shownDefault) expect(help).toContain(`(default ${s.default})`);
    }
  });

  it('parses each default with its own rule', () => {
    for (const s of Object.values(SETTINGS) as Setting[]) {
      const raw = typeof s.default === 'function' ? s.default({ HOME: '/home/u' }) : s.default;
      if (raw !== null) expect([s.env, s.rule.parse(raw)]).not.toEqual([s.env, undefined]);
    }
  });
});

describe('retired settings', () => {
  it('warns about a retired variable that is still set, naming what replaced it, and starts', () => {
    const a = loadConfig([], { MCP_MAX_SESSIONS: '20', MCP_SESSION_IDLE_TIMEOUT: '10m' });
    expect(a.kind).toBe('run');
    const warnings = a.kind === 'run' ? a.warnings : [];
    expect(warnings).toEqual([
      'MCP_MAX_SESSIONS is set but no longer read; use MCP_MAX_CONCURRENT (requests in flight: the server keeps no sessions since MCP 2026-07-28)',
      'MCP_SESSION_IDLE_TIMEOUT is set but no longer read; the server keeps no sessions since MCP 2026-07-28',
    ]);
    const quiet = loadConfig([], {});
    expect(quiet.kind === 'run' && quiet.warnings).toEqual([]);
  });

  it('refuses a retired flag, naming the one that replaced it', () => {
    expect(() => loadConfig(['--max-sessions', '20'], {})).toThrow(new ConfigError('--max-sessions is gone; use --max-concurrent (requests in flight: the server keeps no sessions since MCP 2026-07-28)'));
  });
});
