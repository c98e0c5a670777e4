import { pino, type Logger } from 'pino';
import type { LogLevel } from './settings.js';

export type { Logger, LogLevel };
export { LOG_LEVELS } from './settings.js';

/**
 * JSON logs to stderr: stdout belongs to the stdio transport. Secrets are redacted by path
 * as a second line of defence; the code never logs them on purpose.
 */
export function createLogger(level: LogLevel, name = 'prom-incident-mcp'): Logger {
  return pino(
    {
      name,
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['token', 'password', 'authorization', '*.token', '*.password', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
