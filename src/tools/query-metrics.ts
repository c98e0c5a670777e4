import { z } from 'zod';
import { defineTool } from '../mcp/tool.js';
import { DISCOVER, planQuery, renderQuery, requirePrometheus, runQuery } from '../prometheus/explore.js';
import { DurationInput, TimeInput } from '../schemas.js';

const Value = z.union([z.number(), z.enum(['NaN', '+Inf', '-Inf'])]);
const Labels = z.record(z.string(), z.string());

const input = z.strictObject({
  query: z.string().trim().min(1).max(20_000).optional().describe('PromQL'),
  time: TimeInput.optional().describe('instant query time; default now'),
  range: DurationInput.optional().describe('range query length, e.g. "6h"; ends at end or now'),
  start: TimeInput.optional(),
  end: TimeInput.optional(),
  step: DurationInput.optional().describe('default: about 250 points'),
  discover: z.enum(DISCOVER).optional().describe('list what exists instead of a query'),
  match: z.string().trim().min(1).max(2000).optional().describe('selector for discover, e.g. {namespace="prod"}'),
  label: z.string().max(200).optional().describe('for label_values'),
  filter: z.string().min(1).max(200).optional().describe('substring or /regex/ on names'),
  limit: z.number().int().min(1).max(500).default(50).describe('max series or names'),
  max_points: z.number().int().min(10).max(1000).default(60).describe('per series'),
});

const output = z.object({
  kind: z.enum(['instant', 'range', ...DISCOVER]),
  tier: z.enum(['prometheus', 'thanos']).optional(),
  time: z.string().optional(),
  start: z.string().optional(),
  end: z.string().optional(),
  step: z.string().optional(),
  result_type: z.string().optional(),
  total: z.number().int(),
  returned: z.number().int(),
  omitted: z.number().int(),
  common_labels: Labels.optional(),
  series: z
    .array(
      z.object({
        labels: Labels,
        value: Value.optional(),
        count: z.number().int().optional(),
        min: Value.optional(),
        max: Value.optional(),
        avg: Value.optional(),
        last: Value.optional(),
        points: z.array(z.tuple([z.number(), Value])).optional(),
      }),
    )
    .optional(),
  values: z.array(z.string()).optional(),
  metadata: z.array(z.object({ metric: z.string(), type: z.string(), help: z.string(), unit: z.string() })).optional(),
  warnings: z.array(z.string()),
});

export const queryMetrics = defineTool({
  name: 'query_metrics',
  description:
    "Run PromQL on the cluster's Prometheus/Thanos, or discover metric names, labels and series; use to check a number or look closer. " +
    'Example: {"query":"sum by (namespace) (rate(container_cpu_usage_seconds_total[5m]))"}; add "range":"6h" for min/avg/max/last and sampled points; ' +
    'discover: {"discover":"metrics","filter":"memory"} or {"discover":"label_values","label":"namespace"}. ' +
    'Labels shared by all series are shown once; at most limit series.',
  input,
  output,
  annotations: {
    title: 'Query metrics',
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  async handler(args, { app, signal }) {
    const client = requirePrometheus(app.prometheus);
    const plan = planQuery(args, Date.now());
    const view = await runQuery(client, plan, args, signal);
    return { structured: view, text: renderQuery(view) };
  },
});
