import { pino, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

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
