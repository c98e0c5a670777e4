// The export and import subcommands: `prom-incident-mcp export [FILE] [options]` and
// `prom-incident-mcp import FILE [options]`, run against the configured store (DATA_DIR or
// DATABASE_URL), also while servers are using it. Returns the exit code.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { ConfigError, loadConfig, type Subcommand } from './config.js';
import { StoreError, messageOf } from './errors.js';
import { exportLine, parseImport } from './incidents/backup.js';
import { FileIncidentStore } from './incidents/file-store.js';
import { openStore } from './incidents/open-store.js';
import type { Incident } from './incidents/model.js';
import type { IncidentStore } from './incidents/store.js';
import { createLogger } from './log.js';

/** bad lines listed before "and N more" */
const SHOWN_ERRORS = 20;

function say(line: string): void {
  process.stderr.write(`prom-incident-mcp: ${line}\n`);
}

async function exportTo(store: IncidentStore, file: string | undefined): Promise<number> {
  let n = 0;
  if (file === undefined) {
    for await (const batch of store.exportAll()) {
      if (!process.stdout.write(batch.map(exportLine).join(''))) await once(process.stdout, 'drain');
      n += batch.length;
    }
    say(`exported ${n} incidents`);
    return 0;
  }
  // Written beside its final name, fsynced and renamed at the end: never a half backup, and
  // nothing left behind when it fails.
  const tmp = `${file}.tmp-${process.pid}`;
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'w', 0o600);
    for await (const batch of store.exportAll()) {
      await fh.write(batch.map(exportLine).join(''));
      n += batch.length;
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, file);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    say(`cannot write ${file}: ${messageOf(err)}`);
    return 1;
  }
  say(`exported ${n} incidents to ${file}`);
  return 0;
}

/** Reads and checks an import file; null (after saying why) when it cannot be imported. */
function readImport(file: string): Incident[] | null {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    say(`cannot read ${file}: ${messageOf(err)}`);
    return null;
  }
  const { incidents, errors } = parseImport(content);
  if (errors.length > 0) {
    const more = errors.length > SHOWN_ERRORS ? [`... and ${errors.length - SHOWN_ERRORS} more`] : [];
    say(`${file}: ${errors.length} bad line(s); nothing was imported:\n${[...errors.slice(0, SHOWN_ERRORS), ...more].map((e) => `  ${e}`).join('\n')}`);
    return null;
  }
  return incidents;
}

async function importInto(store: IncidentStore, file: string, incidents: Incident[]): Promise<number> {
  const r = await store.importMany(incidents);
  say(`imported ${r.added} incidents from ${file}; ${r.skipped} skipped (id already stored, or its dedup_key is held by an active incident)`);
  return 0;
}

export async function runSubcommand(cmd: Subcommand, args: string[]): Promise<number> {
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
  // Check the input before touching the store, so a bad file changes nothing.
  const incidents = cmd === 'import' ? readImport(file!) : null;
  if (cmd === 'import' && incidents === null) return 1;
  if (cmd === 'export' && config.incidentStore === 'file' && !FileIncidentStore.existsIn(config.dataDir)) {
    say(`there is no incident store in ${config.dataDir}; set DATA_DIR or --data-dir to the server's`);
    return 1;
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
    return incidents === null ? await exportTo(store, file) : await importInto(store, file!, incidents);
  } catch (err) {
    say(`${cmd} failed: ${messageOf(err)}`);
    return 1;
  } finally {
    await store.close();
  }
}
