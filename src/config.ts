// Configuration from environment variables and CLI flags (flags win), validated with zod.
// A bad value stops start-up with one line naming the variable and the rule.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { LOG_LEVELS, type LogLevel } from './log.js';
import { parseDuration } from './time.js';

export interface Config {
  transport: 'stdio' | 'http';
  host: string;
  port: number;
  dataDir: string;
  logLevel: LogLevel;
  incidentRetentionDays: number;
  /** bearer tokens accepted on /mcp (several for rotation); more may come from authTokenFile */
  authTokens: string[];
  authTokenFile: string | null;
  allowUnauthenticated: boolean;
  /** hide and refuse every tool whose readOnlyHint is false */
  readOnly: boolean;
  /** Host header names accepted on /mcp; empty means the defaults for the bind address */
  allowedHosts: string[];
  /** Origin values accepted on /mcp; empty means origins whose host passes the Host rule */
  allowedOrigins: string[];
  maxSessions: number;
  sessionIdleMs: number;
  /** requests per second per client on /mcp; 0 turns the limit off */
  rateLimit: number;
  toolTimeoutMs: number;
  shutdownTimeoutMs: number;
}

/** A configuration error; main prints its message and exits with code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

interface Setting<T> {
  env: string;
  flag?: string;
  rule: string;
  schema: z.ZodType<T, string>;
  /** a flag that takes no value ("--read-only" means true) */
  boolean?: true;
  /** never echo the value in an error message */
  secret?: true;
}

function setting<T>(
  env: string,
  flag: string | undefined,
  rule: string,
  schema: z.ZodType<T, string>,
  extra: Pick<Setting<T>, 'boolean' | 'secret'> = {},
): Setting<T> {
  return flag === undefined ? { env, rule, schema, ...extra } : { env, flag, rule, schema, ...extra };
}

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Comma- or newline-separated values, blanks dropped. */
export const listOf = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(/[,\n]/).map((v) => v.trim()).filter((v) => v !== ''))
    .pipe(z.array(item));

/** Bearer tokens: at least 16 visible ASCII characters, no commas. */
export const TOKEN_RULE = 'tokens of at least 16 visible ASCII characters, separated by commas or newlines';
export const Token = z.string().min(16).regex(/^[\x21-\x2b\x2d-\x7e]+$/);

const intIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** Durations like "10s", "5m", "1h30m"; a bare number means seconds. */
export const durationMs = (minMs: number, maxMs: number) =>
  z
    .string()
    .trim()
    .transform((s, ctx) => {
      const ms = /^\d+(?:\.\d+)?$/.test(s) ? Number(s) * 1000 : parseDuration(s);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: 'not a duration' });
        return z.NEVER;
      }
      return ms;
    })
    .pipe(z.number().min(minMs).max(maxMs));

const SETTINGS = {
  transport: setting('MCP_TRANSPORT', '--transport', '"stdio" or "http"', z.enum(['stdio', 'http'])),
  host: setting('HOST', '--host', 'a host name or IP address to bind', z.string().trim().min(1).max(253)),
  port: setting('PORT', '--port', 'an integer 1-65535', intIn(1, 65535)),
  dataDir: setting('DATA_DIR', '--data-dir', 'a directory path', z.string().trim().min(1)),
  logLevel: setting('LOG_LEVEL', '--log-level', `one of ${LOG_LEVELS.join(', ')}`, z.enum(LOG_LEVELS)),
  incidentRetentionDays: setting(
    'INCIDENT_RETENTION_DAYS',
    undefined,
    'an integer 0-36500 (0 keeps incidents forever)',
    intIn(0, 36500),
  ),
  authTokens: setting('MCP_AUTH_TOKEN', undefined, TOKEN_RULE, listOf(Token), { secret: true }),
  authTokenFile: setting(
    'MCP_AUTH_TOKEN_FILE',
    '--auth-token-file',
    'a file path',
    z.string().trim().transform((s) => (s === '' ? null : resolve(s))),
  ),
  allowUnauthenticated: setting('MCP_ALLOW_UNAUTHENTICATED', '--allow-unauthenticated', 'true or false', bool, { boolean: true }),
  readOnly: setting('MCP_READ_ONLY', '--read-only', 'true or false', bool, { boolean: true }),
  allowedHosts: setting(
    'MCP_ALLOWED_HOSTS',
    '--allowed-hosts',
    'comma-separated host names, optionally with :port, or *',
    listOf(z.string().toLowerCase().regex(/^(\*|\[[0-9a-f:.]+\](:\d+)?|[a-z0-9_.-]+(:\d+)?)$/)),
  ),
  allowedOrigins: setting(
    'MCP_ALLOWED_ORIGINS',
    '--allowed-origins',
    'comma-separated origins like https://agent.example.com, or *',
    listOf(z.string().toLowerCase().regex(/^(\*|https?:\/\/[^/\s]+)$/)),
  ),
  maxSessions: setting('MCP_MAX_SESSIONS', '--max-sessions', 'an integer 1-100000', intIn(1, 100_000)),
  sessionIdleMs: setting('MCP_SESSION_IDLE_TIMEOUT', undefined, 'a duration 1s-7d, e.g. "30m"', durationMs(1000, 7 * 86_400_000)),
  rateLimit: setting('MCP_RATE_LIMIT', '--rate-limit', 'an integer 0-100000 (requests per second per client; 0 = off)', intIn(0, 100_000)),
  toolTimeoutMs: setting('MCP_TOOL_TIMEOUT', undefined, 'a duration 100ms-1h, e.g. "50s"', durationMs(100, 3_600_000)),
  shutdownTimeoutMs: setting('MCP_SHUTDOWN_TIMEOUT', undefined, 'a duration 0s-10m, e.g. "15s"', durationMs(0, 600_000)),
} satisfies Record<keyof Config, Setting<unknown>>;

/** Every environment variable this table reads (the examples' tests check against it). */
export const SETTING_ENV_VARS: readonly string[] = Object.values(SETTINGS).map((s) => s.env);

/** Where incidents live when DATA_DIR is not set: per user, so every client shares one store. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME?.trim() || join(homedir(), '.local', 'share');
  return join(base, 'prom-incident-mcp');
}

const DEFAULTS = (env: NodeJS.ProcessEnv): Record<keyof Config, string> => ({
  transport: 'stdio',
  host: '127.0.0.1',
  port: '8080',
  dataDir: defaultDataDir(env),
  logLevel: 'info',
  incidentRetentionDays: '90',
  authTokens: '',
  authTokenFile: '',
  allowUnauthenticated: 'false',
  readOnly: 'false',
  allowedHosts: '',
  allowedOrigins: '',
  maxSessions: '500',
  sessionIdleMs: '30m',
  rateLimit: '50',
  toolTimeoutMs: '50s',
  shutdownTimeoutMs: '15s',
});

export const USAGE = `Usage: prom-incident-mcp [options]

Options (each also settable by the environment variable shown):
  --transport stdio|http   MCP_TRANSPORT  transport to serve (default stdio)
  --host HOST              HOST           HTTP bind address (default 127.0.0.1)
  --port PORT              PORT           HTTP port (default 8080)
  --data-dir DIR           DATA_DIR       incident store directory (default ~/.local/share/prom-incident-mcp)
  --log-level LEVEL        LOG_LEVEL      fatal|error|warn|info|debug|trace|silent (default info)
  --read-only              MCP_READ_ONLY  hide and refuse the tools that change incidents
  --auth-token-file FILE   MCP_AUTH_TOKEN_FILE  bearer tokens for /mcp, one a line (or MCP_AUTH_TOKEN)
  --allow-unauthenticated  MCP_ALLOW_UNAUTHENTICATED  serve a non-loopback address without a token
  --allowed-hosts LIST     MCP_ALLOWED_HOSTS    Host names accepted on /mcp (default: see README)
  --allowed-origins LIST   MCP_ALLOWED_ORIGINS  browser Origins accepted on /mcp (default: see README)
  --max-sessions N         MCP_MAX_SESSIONS     concurrent HTTP sessions (default 500)
  --rate-limit N           MCP_RATE_LIMIT       requests per second per client (default 50; 0 = off)
  --help                   print this help
  --version                print the version

See README.md for every environment variable (Prometheus, retention, ...).`;

export type CliAction = { kind: 'run'; config: Config } | { kind: 'help' } | { kind: 'version' };

function parseFlags(argv: readonly string[]): Map<string, string> | 'help' | 'version' {
  const known = new Map(
    Object.values(SETTINGS)
      .filter((s): s is typeof s & { flag: string } => 'flag' in s && s.flag !== undefined)
      .map((s) => [s.flag, s]),
  );
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--version') return 'version';
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!known.has(name)) {
      throw new ConfigError(`unknown option ${JSON.stringify(arg)}; run with --help for the options`);
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (known.get(name)!.boolean) value = 'true';
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) throw new ConfigError(`${name} needs a value`);
    values.set(name, value);
  }
  return values;
}

/** Reads the configuration; throws ConfigError with a one-line message on a bad value. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliAction {
  const flags = parseFlags(argv);
  if (flags === 'help' || flags === 'version') return { kind: flags };
  const defaults = DEFAULTS(env);
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [keyof Config, Setting<unknown>][]) {
    const fromFlag = s.flag !== undefined ? flags.get(s.flag) : undefined;
    const fromEnv = env[s.env];
    const source = fromFlag !== undefined ? s.flag! : fromEnv !== undefined && fromEnv !== '' ? s.env : undefined;
    const raw = fromFlag ?? (source === s.env ? fromEnv! : defaults[key]);
    const parsed = s.schema.safeParse(raw);
    if (!parsed.success) {
      const shown = s.secret ? `a value of ${raw.length} characters` : JSON.stringify(raw);
      throw new ConfigError(`${source ?? s.env} must be ${s.rule}, got ${shown}`);
    }
    out[key] = parsed.data;
  }
  const config = out as unknown as Config;
  config.dataDir = resolve(config.dataDir);
  return { kind: 'run', config };
}
