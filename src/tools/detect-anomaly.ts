import { z } from 'zod';
import { KINDS, METHODS } from '../anomaly/types.js';
import { defineTool } from '../mcp/tool.js';
import { TimeInput, nameValueList, nullsAsAbsent } from '../schemas.js';

// Ranges, pairs and the sensitivity are checked in code (with errors naming the field), so
// the schema agents read stays short; and it keeps to one type per property, as some
// tool-calling dialects (Ollama's) require: numbers are taken where strings are declared.
const numbersAsStrings = (v: unknown) => (typeof v === 'number' ? String(v) : Array.isArray(v) ? v.map((x) => (typeof x === 'number' ? String(x) : x)) : v);

const input = z.strictObject({
  query: z.string().min(1).optional(),
  range: z.string().optional().describe('default "24h"'),
  start: TimeInput.optional(),
  end: TimeInput.optional(),
  step: z.string().optional(),
  series: z
    .array(
      nullsAsAbsent(
        z.strictObject({
          labels: nameValueList(z.record(z.string(), z.string())).optional().describe('["name=value"]'),
          values: z.array(z.preprocess(numbersAsStrings, z.array(z.string()))).describe('[[unix s, value]]'),
        }),
      ),
    )
    .optional(),
  sensitivity: z.preprocess(numbersAsStrings, z.string()).default('medium').describe('low|medium|high|min score'),
  method: z.enum(METHODS).default('auto'),
  top: z.number().int().min(1).max(50).default(5),
});

const Anomaly = z.object({
  kind: z.enum(KINDS),
  direction: z.enum(['up', 'down']),
  at: z.string(),
  from: z.string(),
  to: z.string(),
  value: z.number(),
  expected: z.number(),
  band: z.tuple([z.number(), z.number()]),
  score: z.number(),
  ratio: z.number().optional(),
});

const output = z.object({
  query: z.string().nullable(),
  range: z
    .object({ start: z.string(), end: z.string(), step: z.string(), within_step: z.enum(['sampled', 'max_min']), resolution: z.string() })
    .nullable(),
  series_total: z.number().int(),
  series_unanalysed: z.number().int(),
  series_omitted: z.number().int(),
  anomalous_series: z.number().int(),
  series: z.array(
    z.object({
      labels: z.record(z.string(), z.string()),
      status: z.enum(['ok', 'insufficient_data', 'flat']),
      score: z.number(),
      confidence: z.number(),
      points: z.number().int(),
      model: z.string(),
      anomalies: z.array(Anomaly),
      anomalies_omitted: z.number().int(),
      explanation: z.string(),
    }),
  ),
  warnings: z.array(z.string()),
  next: z.object({ tool: z.string(), arguments: z.record(z.string(), z.unknown()), why: z.string() }).nullable(),
});

export const detectAnomaly = defineTool({
  name: 'detect_anomaly',
  description:
    'Is a metric behaving unusually? Finds spikes, dips, level shifts, drifts, broken cycles, volatility changes: ' +
    'expected values, scores 0-1, explanations, ranked. PromQL query (range 3d+ learns cycles) or inline series. ' +
    'Example: {"query":"sum(rate(http_requests_total[5m]))","range":"3d"}',
  input,
  output,
  annotations: {
    title: 'Detect anomalies',
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  async handler(args, { app, signal }) {
    // the engine loads with the first call: a start (every stdio launch) need not run it
    const { detectAnomalies } = await import('../anomaly/service.js');
    const { report, text } = await detectAnomalies(app.prometheus, args, signal);
    return { structured: report, text };
  },
});
