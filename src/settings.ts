// Every setting, declared once: its environment variable, flag, default, rule (the range it
// accepts, which also parses it) and what it does. Validation (config.ts), `--help` and the
// README's configuration table (tools/config-doc.ts, checked by a test) all read this table.
// No dependencies: `--help` loads nothing else.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseSecondsOrDuration } from './time.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What a value must be, in words for the error message, and the parser that holds it to that. */
export interface Rule<T> {
  text: string;
  /** the values it takes, where it takes only a few (--help shows them) */
  choices?: readonly string[];
  /** the value, or undefined when `raw` breaks the rule */
  parse(raw: string): T | undefined;
}

export interface Setting<T = unknown> {
  env: string;
  flag?: string;
  /** a flag that takes no value ("--read-only" means true) */
  boolean?: true;
  rule: Rule<T>;
  /** parsed like a given value; null: unset unless given */
  default: string | null | ((env: NodeJS.ProcessEnv) => string);
  /** the default as the reference shows it, where the raw one would not say enough */
  shownDefault?: string;
  /** what it does (Markdown: the README shows it as is, --help without backticks) */
  help: string;
  /** never echo the value in an error */
  secret?: true;
  /** a safe form of the value to show in an error (a URL without its password) */
  show?: (raw: string) => string;
}

// ---- rules -----------------------------------------------------------------------------------

const rule = <T>(text: string, parse: (raw: string) => T | undefined): Rule<T> => ({ text, parse });

const oneOf = <const V extends readonly string[]>(values: V, text = values.map((v) => `"${v}"`).join(' or ')): Rule<V[number]> => ({
  ...rule<V[number]>(text, (raw) => values.find((v) => v === raw.trim())),
  choices: values,
});

const intIn = (min: number, max: number, text = `an integer ${min}-${max}`) =>
  rule(text, (raw) => {
    const s = raw.trim();
    const n = Number(s);
    return /^\d+$/.test(s) && n >= min && n <= max ? n : undefined;
  });

/** Durations like "10s", "5m", "1h30m"; a bare number means seconds. */
const durationMs = (minMs: number, maxMs: number, text: string) =>
  rule(text, (raw) => {
    const ms = parseSecondsOrDuration(raw);
    return ms !== null && ms >= minMs && ms <= maxMs ? ms : undefined;
  });

const nonEmpty = (text: string, max = Infinity) =>
  rule(text, (raw) => {
    const s = raw.trim();
    return s.length >= 1 && s.length <= max ? s : undefined;
  });

const bool = rule('true or false', (raw) => {
  const s = raw.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(s)) return true;
  if (['false', '0', 'no'].includes(s)) return false;
  return undefined;
});

function isHttpUrl(s: string): boolean {
  const u = URL.parse(s);
  return u !== null && (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** `text` parsed when it is a JSON object whose values are all strings, else undefined. */
export function stringMapFromJson(text: string): Record<string, string> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const isMap = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === 'string');
  return isMap ? (parsed as Record<string, string>) : undefined;
}

/** A JSON object of strings, or "Name=value" pairs separated by commas or newlines. */
function parseHeaders(raw: string): Record<string, string> | undefined {
  const s = raw.trim();
  let out: Record<string, string> = {};
  if (s.startsWith('{')) {
    const parsed = stringMapFromJson(s);
    if (!parsed) return undefined;
    out = parsed;
  } else {
    for (const part of splitList(s)) {
      const eq = part.indexOf('=');
      if (eq <= 0) return undefined;
      out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
  }
  return Object.keys(out).every((k) => HEADER_NAME.test(k)) ? out : undefined;
}

/** Comma- or newline-separated values, blanks dropped. */
const splitList = (s: string) =>
  s
    .split(/[,\n]/)
    .map((v) => v.trim())
    .filter((v) => v !== '');

/** A list each item of which passes `ok` (after `normalise`). */
const listOf = (text: string, ok: (item: string) => boolean, normalise = (s: string) => s) =>
  rule(text, (raw) => {
    const items = splitList(raw).map(normalise);
    return items.every(ok) ? items : undefined;
  });

/** Bearer tokens for /mcp: at least 16 visible ASCII characters, no commas. */
export const TOKEN_RULE = 'tokens of at least 16 visible ASCII characters, separated by commas or newlines';
export const isToken = (s: string) => s.length >= 16 && /^[\x21-\x2b\x2d-\x7e]+$/.test(s);

export function isTimeZone(tz: string): boolean {
  // The default needs no check, and the check loads ICU's zone data: tens of ms at every start.
  if (tz === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

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

/** Where incidents live when DATA_DIR is not set: per user, so every client shares one store. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME?.trim() || join(homedir(), '.local', 'share');
  return join(base, 'prom-incident-mcp');
}

/**
 * Answer bytes in memory at once. A 60 MiB matrix takes the process from about 125 MiB to 290 MiB
 * of RSS while it is decoded, parsed and shaped (tools/large-answers.ts), under 3 times its size;
 * 64 MiB keeps the process, with PROMETHEUS_CACHE_MAX_MB of results, well under the example
 * Deployment's 512Mi limit.
 */
export const INFLIGHT_MB_DEFAULT = 64;

// ---- the table -------------------------------------------------------------------------------

const HTTP_URL = 'an http(s) URL such as https://thanos-querier.openshift-monitoring.svc:9091';
const file = nonEmpty('a file path');
/** A path, made absolute against the working directory the server was started in. */
const absolutePath = (text: string) => rule(text, (raw) => (raw.trim() === '' ? undefined : resolve(raw.trim())));

export const SETTINGS = {
  transport: { env: 'MCP_TRANSPORT', flag: '--transport', rule: oneOf(['stdio', 'http'] as const), default: 'stdio', help: '`stdio` or `http`' },
  host: { env: 'HOST', flag: '--host', rule: nonEmpty('a host name or IP address to bind', 253), default: '127.0.0.1', help: 'HTTP bind address' },
  port: { env: 'PORT', flag: '--port', rule: intIn(1, 65535), default: '8080', help: 'HTTP port; the endpoint is `/mcp`, liveness is `GET /healthz`' },
  dataDir: {
    env: 'DATA_DIR',
    flag: '--data-dir',
    rule: absolutePath('a directory path'),
    default: (env) => defaultDataDir(env),
    shownDefault: '`$XDG_DATA_HOME/prom-incident-mcp` or `~/.local/share/prom-incident-mcp`',
    help: 'where incidents live; use `/app/data` (a volume) in containers',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    flag: '--log-level',
    rule: oneOf(LOG_LEVELS, `one of ${LOG_LEVELS.join(', ')}`),
    default: 'info',
    help: 'pino level; logs are JSON on stderr (stdout belongs to stdio)',
  },
  incidentRetentionDays: {
    env: 'INCIDENT_RETENTION_DAYS',
    rule: intIn(0, 36500, 'an integer 0-36500 (0 keeps incidents forever)'),
    default: '90',
    help: 'days to keep resolved/cancelled incidents after their last update; `0` keeps them forever',
  },
  incidentStore: { env: 'INCIDENT_STORE', rule: oneOf(['file', 'postgres'] as const), default: 'file', help: '`file` (the journal in `DATA_DIR`) or `postgres`' },
  databaseUrl: {
    env: 'DATABASE_URL',
    rule: rule('a postgres:// or postgresql:// URL', (raw) => (/^postgres(ql)?:$/.test(URL.parse(raw.trim())?.protocol ?? '') ? raw.trim() : undefined)),
    default: null,
    help: '`postgres://user:password@host:5432/db` (libpq parameters such as `?sslmode=require` work); required with `INCIDENT_STORE=postgres`; shown with the password as `***`',
    secret: true,
    show: redactUrl,
  },
  prometheusUrl: {
    env: 'PROMETHEUS_URL',
    flag: '--prometheus-url',
    // may carry user:password (basic auth)
    rule: rule(HTTP_URL, (raw) => (isHttpUrl(raw.trim()) ? raw.trim() : undefined)),
    default: null,
    help: 'Prometheus or Thanos Querier base URL; unset, the metric tools say what to set',
    show: redactUrl,
  },
  thanosUrl: {
    env: 'THANOS_URL',
    // both tiers share one set of credentials (PROMETHEUS_TOKEN, PROMETHEUS_USERNAME, ...)
    rule: rule('an http(s) URL without user:password (both tiers use the PROMETHEUS_* credentials)', (raw) =>
      isHttpUrl(raw.trim()) && !URL.parse(raw.trim())?.username ? raw.trim() : undefined,
    ),
    default: null,
    help: 'optional second tier for long ranges (then `PROMETHEUS_URL` is the short-range Prometheus)',
    show: redactUrl,
  },
  queryRoutingThresholdMs: {
    env: 'QUERY_ROUTING_THRESHOLD',
    rule: durationMs(0, 366 * 86_400_000, 'a duration such as 15m'),
    default: '15m',
    help: 'requests reaching further back than this go to `THANOS_URL`',
  },
  prometheusTimeoutMs: {
    env: 'PROMETHEUS_TIMEOUT',
    rule: durationMs(1000, 300_000, 'a duration from 1s to 5m, such as 10s'),
    default: '10s',
    help: 'deadline of one call, retries included',
  },
  prometheusCacheTtlMs: {
    env: 'PROMETHEUS_CACHE_TTL',
    rule: durationMs(0, 86_400_000, 'a duration up to 24h, such as 5m (0 turns caching off)'),
    default: '5m',
    help: 'result cache lifetime (instant queries at "now": at most 30 s)',
  },
  prometheusCacheMaxMb: { env: 'PROMETHEUS_CACHE_MAX_MB', rule: intIn(1, 16384), default: '64', help: 'result cache size bound, MiB' },
  prometheusMaxAnswerMb: {
    env: 'PROMETHEUS_MAX_ANSWER_MB',
    rule: intIn(1, 16384),
    default: '64',
    help: 'the largest Prometheus/Thanos answer accepted, MiB; a larger one is refused (narrow the query)',
  },
  prometheusMaxInflightMb: {
    env: 'PROMETHEUS_MAX_INFLIGHT_MB',
    rule: intIn(1, 65536),
    default: null,
    shownDefault: `\`${INFLIGHT_MB_DEFAULT}\`, or \`PROMETHEUS_MAX_ANSWER_MB\` if larger`,
    help: 'answer MiB the process holds at once; past it calls are refused as busy. An answer costs up to 3 times its size while parsed: keep about `125 MiB + 3 x this + PROMETHEUS_CACHE_MAX_MB` under the container\'s memory limit',
  },
  prometheusToken: { env: 'PROMETHEUS_TOKEN', rule: nonEmpty('a bearer token'), default: null, help: 'bearer token', secret: true },
  prometheusTokenFile: {
    env: 'PROMETHEUS_TOKEN_FILE',
    rule: file,
    default: null,
    shownDefault: 'the ServiceAccount token, for https URLs, when it exists',
    help: 'bearer token file, re-read when it changes (rotation) and after a 401',
  },
  prometheusUsername: {
    env: 'PROMETHEUS_USERNAME',
    rule: rule('a user name', (raw) => (raw === '' ? undefined : raw)),
    default: null,
    help: 'basic auth user (when no token is set); `https://user:password@host` in the URL works too',
  },
  prometheusPassword: { env: 'PROMETHEUS_PASSWORD', rule: rule('a password', (raw) => raw), default: null, help: 'basic auth password', secret: true },
  prometheusHeaders: {
    env: 'PROMETHEUS_HEADERS',
    rule: rule('a JSON object or Name=value pairs separated by commas, e.g. X-Scope-OrgID=tenant-a', parseHeaders),
    default: '',
    help: 'extra headers, `X-Scope-OrgID=tenant-a,Other=x` or a JSON object (multi-tenant Thanos/Cortex/Mimir)',
    secret: true,
  },
  prometheusCaFile: {
    env: 'PROMETHEUS_CA_FILE',
    rule: file,
    default: null,
    shownDefault: "OpenShift's service CA or the cluster CA, for https URLs, when present",
    help: 'CA bundle added to the system roots',
  },
  prometheusInsecureSkipVerify: { env: 'PROMETHEUS_INSECURE_SKIP_VERIFY', rule: bool, default: 'false', help: 'skip TLS verification (logged as a warning)' },
  thanosDedup: { env: 'THANOS_DEDUP', rule: bool, default: null, help: "passed to Thanos as `dedup` when set" },
  thanosPartialResponse: { env: 'THANOS_PARTIAL_RESPONSE', rule: bool, default: null, help: 'passed to Thanos as `partial_response` when set' },
  thanosMaxSourceResolution: {
    env: 'THANOS_MAX_SOURCE_RESOLUTION',
    rule: oneOf(['0s', '5m', '1h', 'auto'] as const, '0s, 5m, 1h or auto'),
    default: null,
    help: 'passed to Thanos as `max_source_resolution` when set',
  },
  featureTimezone: {
    env: 'FEATURE_TIMEZONE',
    rule: rule('an IANA time zone such as UTC or Europe/Berlin', (raw) => (isTimeZone(raw.trim()) ? raw.trim() : undefined)),
    default: 'UTC',
    help: "IANA time zone of build_features' time-of-day features",
  },
  businessHours: {
    env: 'BUSINESS_HOURS',
    rule: rule('hours "START-END" within 0-24, such as 9-17', (raw): [number, number] | undefined => {
      const m = /^(\d{1,2})-(\d{1,2})$/.exec(raw.trim());
      const [a, b] = [Number(m?.[1]), Number(m?.[2])];
      return m && a < b && b <= 24 ? [a, b] : undefined;
    }),
    default: '9-17',
    help: 'business hours (local, Monday-Friday) for `is_business_hours`',
  },
  featureQueryParallelism: {
    env: 'FEATURE_QUERY_PARALLELISM',
    rule: intIn(1, 16),
    default: '2',
    help: 'PromQL requests one feature vector is split into (at least 2, the 24h history being a range query of its own); 3-6 suit a Prometheus or Thanos with more than 2 cores',
  },
  readOnly: { env: 'MCP_READ_ONLY', flag: '--read-only', boolean: true, rule: bool, default: 'false', help: 'hide and refuse every tool whose `readOnlyHint` is false' },
  toolTimeoutMs: {
    env: 'MCP_TOOL_TIMEOUT',
    rule: durationMs(100, 3_600_000, 'a duration 100ms-1h, e.g. "50s"'),
    default: '50s',
    help: 'per tool call; past it the call answers with a tool error',
  },
  stdioMaxMessageMb: {
    env: 'MCP_STDIO_MAX_MESSAGE_MB',
    rule: intIn(1, 1024, 'an integer 1-1024 (MiB)'),
    // the SDK's own stdio limit: room for detect_anomaly's 100,000 inline points (about 3 MB as JSON)
    default: '10',
    help: 'stdio: the largest message (one JSON line) read, MiB; a larger one is skipped and answered (a tool error for `tools/call`, else JSON-RPC `-32600`), and the connection stays open',
  },
  authTokens: {
    env: 'MCP_AUTH_TOKEN',
    rule: listOf(TOKEN_RULE, isToken),
    default: '',
    help: 'HTTP: bearer tokens for `/mcp`, separated by commas or newlines (at least 16 characters each)',
    secret: true,
  },
  authTokenFile: {
    env: 'MCP_AUTH_TOKEN_FILE',
    flag: '--auth-token-file',
    rule: absolutePath('a file path'),
    default: null,
    help: 'HTTP: a file of tokens, one a line (`#` comments); re-read when it changes',
  },
  allowUnauthenticated: {
    env: 'MCP_ALLOW_UNAUTHENTICATED',
    flag: '--allow-unauthenticated',
    boolean: true,
    rule: bool,
    default: 'false',
    help: 'HTTP: allow a non-loopback `HOST` without a token',
  },
  allowedHosts: {
    env: 'MCP_ALLOWED_HOSTS',
    flag: '--allowed-hosts',
    rule: listOf('comma-separated host names, optionally with :port, or *', (h) => /^(\*|\[[0-9a-f:.]+\](:\d+)?|[a-z0-9_.-]+(:\d+)?)$/.test(h), (h) => h.toLowerCase()),
    default: '',
    shownDefault: 'loopback names on a loopback bind',
    help: 'HTTP: `Host` names accepted on `/mcp` (`name` or `name:port`, or `*`, which turns DNS-rebinding protection off and is logged as a warning)',
  },
  allowedOrigins: {
    env: 'MCP_ALLOWED_ORIGINS',
    flag: '--allowed-origins',
    rule: listOf('comma-separated origins like https://agent.example.com, or *', (o) => /^(\*|https?:\/\/[^/\s]+)$/.test(o), (o) => o.toLowerCase()),
    default: '',
    shownDefault: 'same-origin, plus loopback origins on a loopback bind',
    help: 'HTTP: browser `Origin`s accepted on `/mcp` (`https://name[:port]`, or `*`, which lets any web page send requests and is logged as a warning)',
  },
  maxConcurrent: {
    env: 'MCP_MAX_CONCURRENT',
    flag: '--max-concurrent',
    rule: intIn(1, 100_000),
    default: '500',
    help: 'HTTP: MCP and webhook requests this process answers at once; one more gets 503',
  },
  maxConcurrentPerClient: {
    env: 'MCP_MAX_CONCURRENT_PER_CLIENT',
    rule: intIn(1, 100_000),
    default: null,
    shownDefault: 'a quarter of `MCP_MAX_CONCURRENT`, at least 1',
    help: 'HTTP: requests one client (a token, or an address when no token is set) may have in flight, at most `MCP_MAX_CONCURRENT`; one more gets 503',
  },
  rateLimit: {
    env: 'MCP_RATE_LIMIT',
    flag: '--rate-limit',
    rule: intIn(0, 100_000, 'an integer 0-100000 (requests per second per client; 0 = off)'),
    default: '50',
    help: 'HTTP: requests per second per client (token and address), bursts of twice that (at least 10); `0` = off',
  },
  shutdownTimeoutMs: {
    env: 'MCP_SHUTDOWN_TIMEOUT',
    rule: durationMs(0, 600_000, 'a duration 0s-10m, e.g. "15s"'),
    default: '15s',
    help: 'HTTP: how long SIGTERM/SIGINT waits for calls in flight',
  },
} satisfies Record<string, Setting>;

/**
 * Settings that are gone, and what took their place: an upgrade that still sets one is told so
 * (a variable with a warning, a flag with an error) rather than having it ignored.
 */
export const RETIRED: Readonly<Record<string, string>> = {
  MCP_MAX_SESSIONS: 'use MCP_MAX_CONCURRENT (requests in flight: the server keeps no sessions since MCP 2026-07-28)',
  MCP_MAX_SESSIONS_PER_CLIENT: 'use MCP_MAX_CONCURRENT_PER_CLIENT (requests in flight per client)',
  MCP_SESSION_IDLE_TIMEOUT: 'the server keeps no sessions since MCP 2026-07-28',
  '--max-sessions': 'use --max-concurrent (requests in flight: the server keeps no sessions since MCP 2026-07-28)',
};

export type SettingKey = keyof typeof SETTINGS;
/** Each setting's parsed type; null where it has no default and was not given. */
export type Settings = {
  [K in SettingKey]: (typeof SETTINGS)[K] extends { rule: Rule<infer T>; default: null } ? T | null : (typeof SETTINGS)[K] extends { rule: Rule<infer T> } ? T : never;
};

/** Every environment variable the table reads (the examples' tests check against it). */
export const SETTING_ENV_VARS: readonly string[] = Object.values(SETTINGS).map((s) => s.env);

// ---- --help ----------------------------------------------------------------------------------

const plain = (md: string) => md.replace(/`/g, '');

/** The default as the reference shows it (Markdown), or '' for none. */
function defaultText(s: Setting): string {
  if (s.shownDefault !== undefined) return s.shownDefault;
  if (typeof s.default === 'string' && s.default !== '') return `\`${s.default}\``;
  return '';
}

/** `--help`: every setting with its flag, variable, default and what it does. */
export function usage(): string {
  const all = Object.values(SETTINGS) as Setting[];
  const line = (s: Setting) => {
    const choices = s.rule.choices !== undefined && s.rule.choices.length <= 3 ? s.rule.choices.join('|') : undefined;
    const arg = choices ?? (s.rule.text.startsWith('an integer') ? 'N' : 'VALUE');
    const flag = s.flag === undefined ? '' : s.boolean ? s.flag : `${s.flag} ${arg}`;
    const def = plain(defaultText(s));
    return `  ${flag.padEnd(24)} ${s.env.padEnd(30)} ${plain(s.help)}${def ? ` (default ${def})` : ''}`;
  };
  return [
    'Usage: prom-incident-mcp [options]',
    '       prom-incident-mcp export [FILE]   write every incident as JSON lines to FILE (default stdout), for backup',
    '       prom-incident-mcp import FILE     add the incidents in FILE (JSON lines) whose ids are not stored yet',
    '',
    'Settings (flags win over environment variables):',
    ...all.filter((s) => s.flag !== undefined).map(line),
    ...all.filter((s) => s.flag === undefined).map(line),
    `  ${'--help'.padEnd(24)} ${''.padEnd(30)} print this help`,
    `  ${'--version'.padEnd(24)} ${''.padEnd(30)} print the version`,
  ].join('\n');
}

// ---- the README's table ----------------------------------------------------------------------

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The configuration table as Markdown, in the README between its markers. */
export function settingsTable(): string {
  const rows = (Object.values(SETTINGS) as Setting[]).map((s) => {
    const def = defaultText(s);
    return `| \`${s.env}\` | ${s.flag ? `\`${s.flag}\`` : ''} | ${cell(def)} | ${cell(s.rule.text)} | ${cell(s.help)} |`;
  });
  return ['| variable | flag | default | accepts | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
