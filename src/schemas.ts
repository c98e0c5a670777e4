// Small zod building blocks shared by several tools' input schemas.
import { z } from 'zod';
import { TIME_FORMS, parseTime } from './time.js';

/** A point in time as agents write it ("24h", "now-1h", RFC 3339, unix seconds), parsed to epoch ms. */
export const TimeInput = z.string().transform((s, ctx) => {
  const t = parseTime(s);
  if (t === null) {
    ctx.addIssue({ code: 'custom', message: `must be ${TIME_FORMS}`, input: s });
    return z.NEVER;
  }
  return t;
});
