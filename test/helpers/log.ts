// A pino logger whose JSON lines the test can read back.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export function captureLogger(level = 'debug'): { log: Logger; lines(): Record<string, any>[] } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const log = pino({ level }, sink);
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, any>) };
}
