import { z } from 'zod';
import { isTimeZone } from '../config.js';
import { buildFeatures, usageQuery } from '../features/builder.js';
import { ISSUE_TYPES } from '../features/catalog.js';
import { renderFeatures } from '../features/render.js';
import { SCOPES, checkScope } from '../features/scope.js';
import { defineTool } from '../mcp/tool.js';
import { requirePrometheus } from '../prometheus/explore.js';
import { TimeInput } from '../schemas.js';

const ISSUES = Object.keys(ISSUE_TYPES) as [keyof typeof ISSUE_TYPES, ...(keyof typeof ISSUE_TYPES)[]];
const Value = z.union([z.number(), z.string(), z.null()]);

const input = z.strictObject({
  scope: z.enum(SCOPES),
  namespace: z.string().max(63).optional().describe('for pod, deployment, namespace'),
  name: z.string().max(253).optional().describe('pod or deployment name'),
  time: TimeInput.optional().describe('default now'),
  timezone: z.string().max(64).refine(isTimeZone, { error: 'must be an IANA time zone such as UTC or Europe/Berlin' }).optional(),
  issue_type: z.enum(ISSUES).optional().describe('if known; else inferred'),
});

const output = z.object({
  scope: z.object({ kind: z.enum(SCOPES), namespace: z.string().nullable(), name: z.string().nullable() }),
  time: z.string(),
  timezone: z.string(),
  degraded: z.boolean(),
  real: z.number().int(),
  not_applicable: z.number().int(),
  total: z.number().int(),
  features: z.record(z.string(), z.record(z.string(), Value)),
  nulls: z.record(z.string(), z.string()),
  units: z.record(z.string(), z.string()),
  names: z.array(z.string()),
  vector: z.array(z.number().nullable()),
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
  next: z.object({ tool: z.string(), arguments: z.record(z.string(), z.unknown()) }).optional(),
});

export const buildFeaturesTool = defineTool({
  name: 'build_features',
  description:
    'The 45-feature snapshot of a pod, deployment, namespace or the cluster from live metrics: utilization, trends, 24h/7d history, ' +
    'node pressure, workload shape, restarts, OOM kills, time of day. Use first to see how something is doing, or as ML model input. ' +
    'Example: {"scope":"namespace","namespace":"payments"}. Missing data is null with a reason, never a guess; vector and names give a fixed order.',
  input,
  output,
  annotations: {
    title: 'Build feature vector',
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  async handler(args, { app, signal }) {
    const client = requirePrometheus(app.prometheus);
    const scope = checkScope(args.scope, args.namespace, args.name);
    const r = await buildFeatures(client, scope, {
      time: args.time,
      timezone: args.timezone ?? app.config.featureTimezone,
      businessHours: app.config.businessHours,
      issueType: args.issue_type,
      signal,
      parallel: app.config.featureQueryParallelism,
      timeoutMs: app.config.prometheusTimeoutMs,
    });
    const hist = r.features.history;
    const memFirst = (Number(hist.memory_24h_max) || 0) > (Number(hist.cpu_24h_max) || 0);
    const next = r.real > 10 ? { tool: 'detect_anomaly', arguments: { query: usageQuery(scope, memFirst ? 'memory' : 'cpu'), range: '3d' } } : undefined;
    return { structured: { ...r, ...(next ? { next } : {}) }, text: renderFeatures(r, next) };
  },
});
