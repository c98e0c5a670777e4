// Small zod building blocks shared by several tools' input schemas.
import { z } from 'zod';
import { TIME_FORMS, parseDuration, parseTime } from './time.js';

/**
 * Numbers are accepted where the schema says string: some tool-calling dialects (Ollama's)
 * take one type per property, and models send unix seconds or a count of seconds as numbers.
 */
const stringOrNumber = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string());

/** A point in time as agents write it ("24h", "now-1h", RFC 3339, unix seconds), parsed to epoch ms. */
export const TimeInput = stringOrNumber.transform((s, ctx) => {
  const t = parseTime(s);
  if (t === null) {
    ctx.addIssue({ code: 'custom', message: `must be ${TIME_FORMS}`, input: s });
    return z.NEVER;
  }
  return t;
});

/** A duration: Prometheus form ("90s", "1h30m") or a number of seconds; parsed to ms. */
export const DurationInput = stringOrNumber
  .transform((s, ctx) => {
    const ms = /^\d+(?:\.\d+)?$/.test(s.trim()) ? Number(s) * 1000 : parseDuration(s);
    if (ms === null || !Number.isFinite(ms) || ms <= 0) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration such as "30s", "5m", "1h30m" or a number of seconds', input: s });
      return z.NEVER;
    }
    return ms;
  });
