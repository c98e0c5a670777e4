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
  incidentStore: 'file' | 'postgres';
  /** postgres:// URL; null unless set. Holds a password: never log it. */
  databaseUrl: string | null;
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
  /** the value may hold a password: error messages show it redacted */
  secret?: boolean;
}

function setting<T>(env: string, flag: string | undefined, rule: string, schema: z.ZodType<T, string>): Setting<T> {
  return flag === undefined ? { env, rule, schema } : { env, flag, rule, schema };
}

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
  incidentStore: setting('INCIDENT_STORE', undefined, '"file" or "postgres"', z.enum(['file', 'postgres'])),
  databaseUrl: {
    ...setting(
      'DATABASE_URL',
      undefined,
      'a postgres:// or postgresql:// URL',
      z
        .string()
        .trim()
        .refine((s) => s === '' || /^postgres(ql)?:$/.test(URL.parse(s)?.protocol ?? ''))
        .transform((s) => s || null),
    ),
    secret: true,
  },
} satisfies Record<keyof Config, Setting<unknown>>;

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
  incidentStore: 'file',
  databaseUrl: '',
});

/** A URL with its password (and anything unparsable) hidden, for messages and logs. */
export function redactUrl(raw: string): string {
  const u = URL.parse(raw);
  if (!u) return '(unparsable)';
  if (u.password) u.password = '***';
  return u.href;
}

export const USAGE = `Usage: prom-incident-mcp [options]

Options (each also settable by the environment variable shown):
  --transport stdio|http   MCP_TRANSPORT  transport to serve (default stdio)
  --host HOST              HOST           HTTP bind address (default 127.0.0.1)
  --port PORT              PORT           HTTP port (default 8080)
  --data-dir DIR           DATA_DIR       incident store directory (default ~/.local/share/prom-incident-mcp)
  --log-level LEVEL        LOG_LEVEL      fatal|error|warn|info|debug|trace|silent (default info)
  --help                   print this help
  --version                print the version

Commands:
  export [FILE]            write every incident as JSON lines to FILE (default stdout), for backup
  import FILE              add the incidents in FILE (JSON lines) whose ids are not stored yet

See README.md for every environment variable (Prometheus, retention, INCIDENT_STORE, DATABASE_URL, ...).`;

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
      throw new ConfigError(`${source ?? s.env} must be ${s.rule}, got ${JSON.stringify(s.secret ? redactUrl(raw) : raw)}`);
    }
    out[key] = parsed.data;
  }
  const config = out as unknown as Config;
  if (config.incidentStore === 'postgres' && config.databaseUrl === null) {
    throw new ConfigError('DATABASE_URL must be set when INCIDENT_STORE is "postgres"');
  }
  config.dataDir = resolve(config.dataDir);
  return { kind: 'run', config };
}
