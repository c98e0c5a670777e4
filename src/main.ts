#!/usr/bin/env node
// Entry point: read config, build the shared App once, serve stdio or HTTP.
// What a call needs is loaded when it is first needed: `--version` and `--help` load no server,
// stdio no HTTP stack (every stdio launch by a desktop or IDE client pays for what is loaded).
import type { App } from './app.js';
import { ConfigError, SUBCOMMANDS, loadConfig, type Subcommand } from './config.js';
import { StoreError, messageOf } from './errors.js';
import { usage } from './settings.js';
import { VERSION } from './version.js';

async function main(): Promise<number> {
  const sub = SUBCOMMANDS.find((c): c is Subcommand => c === process.argv[2]);
  if (sub) {
    const { runSubcommand } = await import('./cli.js');
    return runSubcommand(sub, process.argv.slice(3));
  }
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
  const config = action.config;
  const { createLogger } = await import('./log.js');
  const log = createLogger(config.logLevel);
  for (const w of action.warnings) log.warn(w);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled promise rejection'));

  let app: App;
  try {
    const { createApp } = await import('./app.js');
    app = await createApp(config, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`prom-incident-mcp: ${err.message}\n`);
      return 2;
    }
    if (err instanceof StoreError) {
      process.stderr.write(`prom-incident-mcp: ${err.message}\n`);
      return 1;
    }
    throw err;
  }

  let stop: () => Promise<void>;
  let done: Promise<void>;
  if (config.transport === 'stdio') {
    const { serveStdio } = await import('./transports/stdio.js');
    const stdio = await serveStdio(app);
    stop = () => stdio.close();
    done = stdio.closed;
  } else {
    let http;
    try {
      const { serveHttp } = await import('./transports/http.js');
      http = await serveHttp(app);
    } catch (err) {
      await app.close();
      if (err instanceof ConfigError) {
        process.stderr.write(`prom-incident-mcp: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    stop = async () => {
      const { abandoned } = await http.close(config.shutdownTimeoutMs);
      if (abandoned > 0) log.warn({ abandoned }, 'requests still in flight after MCP_SHUTDOWN_TIMEOUT were cut off');
    };
    done = new Promise<void>(() => {});
  }
  const signal = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const why = await Promise.race([done.then(() => 'client closed the connection'), signal]);
  log.info({ reason: why }, 'shutting down');
  // A second signal means "now": skip the drain.
  const force = () => {
    log.warn('second signal: exiting without waiting');
    process.exit(1);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await stop().catch((err: unknown) => log.warn({ err: messageOf(err) }, 'closing the transport failed'));
  await app.close();
  log.info('shutdown complete');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`prom-incident-mcp: fatal: ${messageOf(err)}\n`);
    process.exit(1);
  },
);
