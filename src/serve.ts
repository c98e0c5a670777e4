// Everything after the command line is read: the logger, the App, a transport, and the shutdown.
// The build bundles this module, and what it loads, into dist/server.cjs; main.ts stays small, so
// `--version` and `--help` load none of it.
import type { App } from './app.js';
import { ConfigError, type Config, type Subcommand } from './config.js';
import { StoreError, messageOf } from './errors.js';

/** `export` and `import`: see cli.ts. */
export async function runSubcommand(cmd: Subcommand, args: string[]): Promise<number> {
  const cli = await import('./cli.js');
  return cli.runSubcommand(cmd, args);
}

/**
 * A start refused for a reason the user can act on: one line on stderr and its exit code (2 for
 * the configuration, 1 for the store); anything else is rethrown, a fault of ours.
 */
function refusedStart(err: unknown): number {
  if (!(err instanceof ConfigError || err instanceof StoreError)) throw err;
  process.stderr.write(`prom-incident-mcp: ${err.message}\n`);
  return err instanceof ConfigError ? 2 : 1;
}

/** Serves until the client goes or a signal comes; returns the exit code. */
export async function serve(config: Config, warnings: readonly string[]): Promise<number> {
  const { createLogger } = await import('./log.js');
  const log = createLogger(config.logLevel);
  for (const w of warnings) log.warn(w);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled promise rejection'));

  let app: App;
  try {
    const { createApp } = await import('./app.js');
    app = await createApp(config, log);
  } catch (err) {
    return refusedStart(err);
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
      return refusedStart(err);
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
