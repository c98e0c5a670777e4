#!/usr/bin/env node
// Entry point (dist/main.js): reads the command line, answers --help and --version, and hands
// the rest to serve.ts, loaded only then. What a call needs is loaded when it is first needed:
// `--version` and `--help` load no server, stdio no HTTP stack (every stdio launch by a desktop
// or IDE client pays for what is loaded).
import { ConfigError, SUBCOMMANDS, loadConfig, type Subcommand } from './config.js';
import { messageOf } from './errors.js';
import { loadServer } from './load-server.js';
import { usage } from './settings.js';
import { VERSION } from './version.js';

async function main(): Promise<number> {
  const sub = SUBCOMMANDS.find((c): c is Subcommand => c === process.argv[2]);
  if (sub) return (await loadServer()).runSubcommand(sub, process.argv.slice(3));
  let action;
  try {
    action = loadConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`prom-incident-mcp: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (action.kind === 'help') {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (action.kind === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  return (await loadServer()).serve(action.config, action.warnings);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`prom-incident-mcp: fatal: ${messageOf(err)}\n`);
    process.exit(1);
  },
);
