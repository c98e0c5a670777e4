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
  prometheusUrl: string | null;
  thanosUrl: string | null;
  queryRoutingThresholdMs: number;
  prometheusTimeoutMs: number;
  prometheusCacheTtlMs: number;
  prometheusCacheMaxMb: number;
  prometheusToken: string | null;
  prometheusTokenFile: string | null;
  prometheusUsername: string | null;
  prometheusPassword: string | null;
  prometheusHeaders: Record<string, string>;
  prometheusCaFile: string | null;
  prometheusInsecureSkipVerify: boolean;
  thanosDedup: boolean | null;
  thanosPartialResponse: boolean | null;
  thanosMaxSourceResolution: string | null;
  featureTimezone: string;
  businessHours: [number, number];
  featureQueryParallelism: number;
  incidentStore: 'file' | 'postgres';
  /** postgres:// URL; null unless set. Holds a password: never log it. */
  databaseUrl: string | null;
  /** bearer tokens accepted on /mcp (several for rotation); more may come from authTokenFile */
  authTokens: string[];
  authTokenFile: string | null;
  allowUnauthenticated: boolean;
  /** hide and refuse every tool whose readOnlyHint is false */
  readOnly: boolean;
  /** Host header names accepted on /mcp; empty means the defaults for the bind address */
  allowedHosts: string[];
  /** Origin values accepted on /mcp; empty means same-origin, plus loopback origins on a loopback bind */
  allowedOrigins: string[];
  /** MCP and webhook requests this process answers at once; one more gets 503 */
  maxConcurrent: number;
  /** requests one client may have in flight: a token's fingerprint, or a remote address when no token is set */
  maxConcurrentPerClient: number;
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
  /** never echo the value in an error */
  secret?: boolean;
  /** for a secret: a safe form of the value to show in the error instead (e.g. a URL without its password) */
  show?: (raw: string) => string;
  /** a flag that takes no value ("--read-only" means true) */
  boolean?: true;
}

function setting<T>(env: string, flag: string | undefined, rule: string, schema: z.ZodType<T, string>, secret = false): Setting<T> {
  const s: Setting<T> = { env, rule, schema };
  if (flag !== undefined) s.flag = flag;
  if (secret) s.secret = true;
  return s;
}

/** Settings with no default are null when unset. */
const optional = <T>(schema: z.ZodType<T, string>) => schema.nullable() as unknown as z.ZodType<T | null, string>;

const httpUrl = z
  .string()
  .trim()
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
    } catch {
      return false;
    }
  });

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** JSON object, or "Name=value" pairs separated by commas or newlines. */
const headerMap = z
  .string()
  .trim()
  .transform((s, ctx) => {
    let out: Record<string, string> = {};
    if (s.startsWith('{')) {
      try {
        out = z.record(z.string(), z.string()).parse(JSON.parse(s));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'bad JSON' });
        return z.NEVER;
      }
    } else {
      for (const part of s.split(/[,\n]/).map((p) => p.trim()).filter(Boolean)) {
        const eq = part.indexOf('=');
        if (eq <= 0) {
          ctx.addIssue({ code: 'custom', message: 'bad pair' });
          return z.NEVER;
        }
        out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
      }
    }
    if (!Object.keys(out).every((k) => /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k))) {
      ctx.addIssue({ code: 'custom', message: 'bad header name' });
      return z.NEVER;
    }
    return out;
  });

/** Comma- or newline-separated values, blanks dropped. */
export const listOf = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(/[,\n]/).map((v) => v.trim()).filter((v) => v !== ''))
    .pipe(z.array(item));

/** Bearer tokens for /mcp: at least 16 visible ASCII characters, no commas. */
export const TOKEN_RULE = 'tokens of at least 16 visible ASCII characters, separated by commas or newlines';
export const Token = z.string().min(16).regex(/^[\x21-\x2b\x2d-\x7e]+$/);

/** A setting whose flag takes no value. */
const flagOnly = <T>(s: Setting<T>): Setting<T> => ({ ...s, boolean: true });

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
  prometheusUrl: {
    // may carry user:password (basic auth)
    ...setting('PROMETHEUS_URL', '--prometheus-url', 'an http(s) URL such as https://thanos-querier.openshift-monitoring.svc:9091', optional(httpUrl)),
    show: redactUrl,
  },
  thanosUrl: {
    // both tiers share one set of credentials (PROMETHEUS_TOKEN, PROMETHEUS_USERNAME, ...)
    ...setting(
      'THANOS_URL',
      undefined,
      'an http(s) URL without user:password (both tiers use the PROMETHEUS_* credentials)',
      optional(httpUrl.refine((s) => !URL.parse(s)?.username)),
    ),
    show: redactUrl,
  },
  queryRoutingThresholdMs: setting('QUERY_ROUTING_THRESHOLD', undefined, 'a duration such as 15m', durationMs(0, 366 * 86_400_000)),
  prometheusTimeoutMs: setting('PROMETHEUS_TIMEOUT', undefined, 'a duration from 1s to 5m, such as 10s', durationMs(1000, 300_000)),
  prometheusCacheTtlMs: setting('PROMETHEUS_CACHE_TTL', undefined, 'a duration up to 24h, such as 5m (0 turns caching off)', durationMs(0, 86_400_000)),
  prometheusCacheMaxMb: setting('PROMETHEUS_CACHE_MAX_MB', undefined, 'an integer 1-16384', intIn(1, 16384)),
  prometheusToken: setting('PROMETHEUS_TOKEN', undefined, 'a bearer token', optional(z.string().trim().min(1)), true),
  prometheusTokenFile: setting('PROMETHEUS_TOKEN_FILE', undefined, 'a file path', optional(z.string().trim().min(1))),
  prometheusUsername: setting('PROMETHEUS_USERNAME', undefined, 'a user name', optional(z.string().min(1))),
  prometheusPassword: setting('PROMETHEUS_PASSWORD', undefined, 'a password', optional(z.string()), true),
  prometheusHeaders: setting(
    'PROMETHEUS_HEADERS',
    undefined,
    'a JSON object or Name=value pairs separated by commas, e.g. X-Scope-OrgID=tenant-a',
    headerMap,
    true,
  ),
  prometheusCaFile: setting('PROMETHEUS_CA_FILE', undefined, 'a file path', optional(z.string().trim().min(1))),
  prometheusInsecureSkipVerify: setting('PROMETHEUS_INSECURE_SKIP_VERIFY', undefined, 'true or false', bool),
  thanosDedup: setting('THANOS_DEDUP', undefined, 'true or false', optional(bool)),
  thanosPartialResponse: setting('THANOS_PARTIAL_RESPONSE', undefined, 'true or false', optional(bool)),
  thanosMaxSourceResolution: setting(
    'THANOS_MAX_SOURCE_RESOLUTION',
    undefined,
    '0s, 5m, 1h or auto',
    optional(z.string().trim().pipe(z.enum(['0s', '5m', '1h', 'auto']))),
  ),
  featureTimezone: setting(
    'FEATURE_TIMEZONE',
    undefined,
    'an IANA time zone such as UTC or Europe/Berlin',
    z.string().trim().refine((tz) => isTimeZone(tz)),
  ),
  businessHours: setting(
    'BUSINESS_HOURS',
    undefined,
    'hours "START-END" within 0-24, such as 9-17',
    z
      .string()
      .trim()
      .regex(/^\d{1,2}-\d{1,2}$/)
      .transform((s) => s.split('-').map(Number) as [number, number])
      .refine(([a, b]) => a < b && b <= 24),
  ),
  featureQueryParallelism: setting('FEATURE_QUERY_PARALLELISM', undefined, 'an integer 1-16', intIn(1, 16)),
  incidentStore: setting('INCIDENT_STORE', undefined, '"file" or "postgres"', z.enum(['file', 'postgres'])),
  databaseUrl: {
    ...setting(
      'DATABASE_URL',
      undefined,
      'a postgres:// or postgresql:// URL',
      optional(z.string().trim().refine((s) => /^postgres(ql)?:$/.test(URL.parse(s)?.protocol ?? ''))),
      true,
    ),
    show: redactUrl,
  },
  authTokens: setting('MCP_AUTH_TOKEN', undefined, TOKEN_RULE, listOf(Token), true),
  authTokenFile: setting('MCP_AUTH_TOKEN_FILE', '--auth-token-file', 'a file path', optional(z.string().trim().min(1).transform((p) => resolve(p)))),
  allowUnauthenticated: flagOnly(setting('MCP_ALLOW_UNAUTHENTICATED', '--allow-unauthenticated', 'true or false', bool)),
  readOnly: flagOnly(setting('MCP_READ_ONLY', '--read-only', 'true or false', bool)),
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
  maxConcurrent: setting('MCP_MAX_CONCURRENT', '--max-concurrent', 'an integer 1-100000', intIn(1, 100_000)),
  maxConcurrentPerClient: setting('MCP_MAX_CONCURRENT_PER_CLIENT', undefined, 'an integer 1-100000', optional(intIn(1, 100_000))),
  rateLimit: setting('MCP_RATE_LIMIT', '--rate-limit', 'an integer 0-100000 (requests per second per client; 0 = off)', intIn(0, 100_000)),
  toolTimeoutMs: setting('MCP_TOOL_TIMEOUT', undefined, 'a duration 100ms-1h, e.g. "50s"', durationMs(100, 3_600_000)),
  shutdownTimeoutMs: setting('MCP_SHUTDOWN_TIMEOUT', undefined, 'a duration 0s-10m, e.g. "15s"', durationMs(0, 600_000)),
} satisfies Record<keyof Config, Setting<unknown>>;

/** Every environment variable this table reads (the examples' tests check against it). */
export const SETTING_ENV_VARS: readonly string[] = Object.values(SETTINGS).map((s) => s.env);

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Where incidents live when DATA_DIR is not set: per user, so every client shares one store. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME?.trim() || join(homedir(), '.local', 'share');
  return join(base, 'prom-incident-mcp');
}

const DEFAULTS = (env: NodeJS.ProcessEnv): Record<keyof Config, string | null> => ({
  transport: 'stdio',
  host: '127.0.0.1',
  port: '8080',
  dataDir: defaultDataDir(env),
  logLevel: 'info',
  incidentRetentionDays: '90',
  prometheusUrl: null,
  thanosUrl: null,
  queryRoutingThresholdMs: '15m',
  prometheusTimeoutMs: '10s',
  prometheusCacheTtlMs: '5m',
  prometheusCacheMaxMb: '64',
  prometheusToken: null,
  prometheusTokenFile: null,
  prometheusUsername: null,
  prometheusPassword: null,
  prometheusHeaders: '',
  prometheusCaFile: null,
  prometheusInsecureSkipVerify: 'false',
  thanosDedup: null,
  thanosPartialResponse: null,
  thanosMaxSourceResolution: null,
  featureTimezone: 'UTC',
  businessHours: '9-17',
  featureQueryParallelism: '2',
  incidentStore: 'file',
  databaseUrl: null,
  authTokens: '',
  authTokenFile: null,
  allowUnauthenticated: 'false',
  readOnly: 'false',
  allowedHosts: '',
  allowedOrigins: '',
  maxConcurrent: '500',
  maxConcurrentPerClient: null, // a quarter of maxConcurrent
  rateLimit: '50',
  toolTimeoutMs: '50s',
  shutdownTimeoutMs: '15s',
});

/**
 * A URL as people may see it: the password masked (a user name alone is masked too, since
 * some services take a token there), no lone trailing slash; anything unparsable hidden.
 */
export function redactUrl(raw: string): string {
  const u = URL.parse(raw);
  if (!u) return '(unparsable)';
  if (u.password) u.password = '***';
  else if (u.username) u.username = '***';
  return u.pathname === '/' && !u.search ? u.href.replace(/\/$/, '') : u.href;
}

export const USAGE = `Usage: prom-incident-mcp [options]

Options (each also settable by the environment variable shown):
  --transport stdio|http   MCP_TRANSPORT  transport to serve (default stdio)
  --host HOST              HOST           HTTP bind address (default 127.0.0.1)
  --port PORT              PORT           HTTP port (default 8080)
  --data-dir DIR           DATA_DIR       incident store directory (default ~/.local/share/prom-incident-mcp)
  --log-level LEVEL        LOG_LEVEL      fatal|error|warn|info|debug|trace|silent (default info)
  --prometheus-url URL     PROMETHEUS_URL Prometheus or Thanos Querier base URL (metric tools)
  --read-only              MCP_READ_ONLY  hide and refuse the tools that change incidents
  --auth-token-file FILE   MCP_AUTH_TOKEN_FILE  bearer tokens for /mcp, one a line (or MCP_AUTH_TOKEN)
  --allow-unauthenticated  MCP_ALLOW_UNAUTHENTICATED  serve a non-loopback address without a token
  --allowed-hosts LIST     MCP_ALLOWED_HOSTS    Host names accepted on /mcp (default: see README)
  --allowed-origins LIST   MCP_ALLOWED_ORIGINS  browser Origins accepted on /mcp (default: see README)
  --max-concurrent N       MCP_MAX_CONCURRENT   HTTP requests answered at once (default 500)
  --rate-limit N           MCP_RATE_LIMIT       requests per second per client (default 50; 0 = off)
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
      if (s.show && raw !== null) throw new ConfigError(`${source ?? s.env} must be ${s.rule}, got ${JSON.stringify(s.show(raw))}`);
      const got = s.secret ? 'a value that is not' : `got ${JSON.stringify(raw)}`;
      throw new ConfigError(s.secret ? `${source ?? s.env} must be ${s.rule} (${got})` : `${source ?? s.env} must be ${s.rule}, ${got}`);
    }
    out[key] = parsed.data;
  }
  const config = out as unknown as Config;
  if (config.incidentStore === 'postgres' && config.databaseUrl === null) {
    throw new ConfigError('DATABASE_URL must be set when INCIDENT_STORE is "postgres"');
  }
  const perClient = config.maxConcurrentPerClient as number | null;
  if (perClient === null) config.maxConcurrentPerClient = Math.max(1, Math.floor(config.maxConcurrent / 4));
  else if (perClient > config.maxConcurrent) {
    throw new ConfigError(`MCP_MAX_CONCURRENT_PER_CLIENT must be at most MCP_MAX_CONCURRENT (${config.maxConcurrent}), got ${perClient}`);
  }
  config.dataDir = resolve(config.dataDir);
  return { kind: 'run', config };
}
