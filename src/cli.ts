// The export and import subcommands: `prom-incident-mcp export [FILE] [options]` and
// `prom-incident-mcp import FILE [options]`, run against the configured store (DATA_DIR or
// DATABASE_URL), also while servers are using it. Returns the exit code.
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { ConfigError, loadConfig } from './config.js';
import { StoreError, messageOf } from './errors.js';
import { exportLine, parseImport } from './incidents/backup.js';
import { openStore } from './incidents/open-store.js';
import type { IncidentStore } from './incidents/store.js';
import { createLogger } from './log.js';

export const SUBCOMMANDS = ['export', 'import'] as const;
/** bad lines listed before "and N more" */
const SHOWN_ERRORS = 20;

function say(line: string): void {
  process.stderr.write(`prom-incident-mcp: ${line}\n`);
}

async function exportTo(store: IncidentStore, file: string | undefined): Promise<number> {
  // A file is written beside its final name and renamed at the end: never a half backup.
  const tmp = file === undefined ? undefined : `${file}.tmp-${process.pid}`;
  const out = tmp === undefined ? process.stdout : createWriteStream(tmp, { mode: 0o600 });
  let n = 0;
  for await (const batch of store.exportAll()) {
    if (!out.write(batch.map(exportLine).join(''))) await once(out, 'drain');
    n += batch.length;
  }
  if (tmp !== undefined && file !== undefined) {
    await new Promise<void>((resolve, reject) => (out as ReturnType<typeof createWriteStream>).end((err?: Error | null) => (err ? reject(err) : resolve())));
    await rename(tmp, file);
  }
  say(`exported ${n} incidents${file ? ` to ${file}` : ''}`);
  return 0;
}

async function importFrom(store: IncidentStore, file: string): Promise<number> {
  const { incidents, errors } = parseImport(readFileSync(file, 'utf8'));
  if (errors.length > 0) {
    const more = errors.length > SHOWN_ERRORS ? [`... and ${errors.length - SHOWN_ERRORS} more`] : [];
    say(`${file}: ${errors.length} bad line(s); nothing was imported:\n${[...errors.slice(0, SHOWN_ERRORS), ...more].map((e) => `  ${e}`).join('\n')}`);
    return 1;
  }
  const r = await store.importMany(incidents);
  say(`imported ${r.added} incidents from ${file}; ${r.skipped} skipped (id already stored, or its dedup_key is held by an active incident)`);
  return 0;
}

export async function runSubcommand(cmd: (typeof SUBCOMMANDS)[number], args: string[]): Promise<number> {
  const file = args[0] !== undefined && !args[0].startsWith('-') ? args[0] : undefined;
  if (cmd === 'import' && file === undefined) {
    say('import needs a FILE: prom-incident-mcp import FILE [options]');
    return 2;
  }
  let config;
  try {
    const action = loadConfig(file === undefined ? args : args.slice(1));
    if (action.kind !== 'run') throw new ConfigError(`--help and --version do not apply to ${cmd}`);
    config = action.config;
  } catch (err) {
    if (err instanceof ConfigError) {
      say(err.message);
      return 2;
    }
    throw err;
  }
  let store: IncidentStore;
  try {
    store = await openStore(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel).child({ component: 'store' }));
  } catch (err) {
    if (err instanceof StoreError) {
      say(err.message);
      return 1;
    }
    throw err;
  }
  try {
    return cmd === 'export' ? await exportTo(store, file) : await importFrom(store, file!);
  } catch (err) {
    say(`${cmd} failed: ${messageOf(err)}`);
    return 1;
  } finally {
    await store.close();
  }
}
