// Configuration from environment variables and CLI flags (flags win), checked against the one
// table of settings (settings.ts). A bad value stops start-up with one line naming the variable
// and the rule.
import { parseArgs } from 'node:util';
import { INFLIGHT_MB_DEFAULT, RETIRED, SETTINGS, type Setting, type SettingKey, type Settings } from './settings.js';

export { SETTING_ENV_VARS, TOKEN_RULE, defaultDataDir, isTimeZone, isToken, redactUrl } from './settings.js';

/** `prom-incident-mcp export …` and `import …` (src/cli.ts) */
export const SUBCOMMANDS = ['export', 'import'] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

/** Every setting, parsed; the ones whose default depends on others are filled in. */
export type Config = Omit<Settings, 'prometheusMaxInflightMb' | 'maxConcurrentPerClient'> & {
  /** answer bytes held in memory at once by the whole process, MiB (at least prometheusMaxAnswerMb) */
  prometheusMaxInflightMb: number;
  /** requests one client may have in flight: a token's fingerprint, or a remote address when no token is set */
  maxConcurrentPerClient: number;
};

/** A configuration error; main prints its message and exits with code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** `warnings`: retired variables that are still set (main logs them once it has a logger). */
export type CliAction = { kind: 'run'; config: Config; warnings: string[] } | { kind: 'help' } | { kind: 'version' };

const FLAGGED = (Object.values(SETTINGS) as Setting[]).filter((s): s is Setting & { flag: string } => s.flag !== undefined);

/**
 * The flags' values by flag name. parseArgs splits the arguments; the checks are ours, so that a
 * valueless flag may still be given a value (`--read-only=false`) and errors name the flag.
 */
function parseFlags(argv: readonly string[]): Map<string, string> | 'help' | 'version' {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } };
  for (const s of FLAGGED) options[s.flag.slice(2)] = { type: s.boolean ? 'boolean' : 'string' };
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const values = new Map<string, string>();
  for (const t of tokens) {
    if (t.kind === 'positional') throw new ConfigError(`unexpected argument ${JSON.stringify(t.value)}; run with --help for the options`);
    if (t.kind !== 'option') continue;
    if (t.name === 'help' || t.name === 'version') return t.name;
    const s = FLAGGED.find((f) => f.flag === `--${t.name}`);
    const retired = RETIRED[`--${t.name}`];
    if (!s && retired) throw new ConfigError(`--${t.name} is gone; ${retired}`);
    if (!s) throw new ConfigError(`unknown option ${JSON.stringify(t.rawName)}; run with --help for the options`);
    const value = t.value ?? (s.boolean ? 'true' : undefined);
    if (value === undefined) throw new ConfigError(`${s.flag} needs a value`);
    values.set(s.flag, value);
  }
  return values;
}

/** The raw value of one setting and where it came from; null when unset with no default. */
function rawValue(s: Setting, flags: Map<string, string>, env: NodeJS.ProcessEnv): { raw: string | null; source: string } {
  const fromFlag = s.flag !== undefined ? flags.get(s.flag) : undefined;
  if (fromFlag !== undefined) return { raw: fromFlag, source: s.flag! };
  const fromEnv = env[s.env];
  if (fromEnv !== undefined && fromEnv !== '') return { raw: fromEnv, source: s.env };
  return { raw: typeof s.default === 'function' ? s.default(env) : s.default, source: s.env };
}

function rejected(s: Setting, source: string, raw: string): ConfigError {
  if (s.show) return new ConfigError(`${source} must be ${s.rule.text}, got ${JSON.stringify(s.show(raw))}`);
  if (s.secret) return new ConfigError(`${source} must be ${s.rule.text} (a value that is not)`);
  return new ConfigError(`${source} must be ${s.rule.text}, got ${JSON.stringify(raw)}`);
}

/** Reads the configuration; throws ConfigError with a one-line message on a bad value. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliAction {
  const flags = parseFlags(argv);
  if (flags === 'help' || flags === 'version') return { kind: flags };
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [SettingKey, Setting][]) {
    const { raw, source } = rawValue(s, flags, env);
    if (raw === null) {
      out[key] = null;
      continue;
    }
    const value = s.rule.parse(raw);
    if (value === undefined) throw rejected(s, source, raw);
    out[key] = value;
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
  const inflight = config.prometheusMaxInflightMb as number | null;
  if (inflight === null) config.prometheusMaxInflightMb = Math.max(INFLIGHT_MB_DEFAULT, config.prometheusMaxAnswerMb);
  else if (config.prometheusMaxAnswerMb > inflight) {
    // else an answer between the two would always be refused as "busy"
    throw new ConfigError(
      `PROMETHEUS_MAX_ANSWER_MB must be at most PROMETHEUS_MAX_INFLIGHT_MB (${config.prometheusMaxInflightMb}), got ${config.prometheusMaxAnswerMb}`,
    );
  }
  const warnings = Object.entries(RETIRED)
    .filter(([name]) => !name.startsWith('--') && env[name] !== undefined && env[name] !== '')
    .map(([name, advice]) => `${name} is set but no longer read; ${advice}`);
  return { kind: 'run', config, warnings };
}
