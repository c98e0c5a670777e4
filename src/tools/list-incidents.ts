import { z } from 'zod';
import { InputError } from '../errors.js';
import { listView, renderListView } from '../incidents/listing.js';
import { IncidentSummary, LIMITS, Namespace, SEVERITIES, STATUSES, storable, text } from '../incidents/model.js';
import { defineTool } from '../mcp/tool.js';
import { TimeInput, nameValueList } from '../schemas.js';

const input = z.strictObject({
  status: z.enum([...STATUSES, 'all']).default('active'),
  severity: z.enum([...SEVERITIES, 'all']).default('all'),
  namespace: Namespace.optional(),
  // trimmed as create_incident trims what it stores
  target: text(LIMITS.target).optional(),
  since: TimeInput.optional().describe('created at/after: "24h", "now-7d" or RFC 3339'),
  until: TimeInput.optional().describe('created before'),
  labels: nameValueList(z.record(storable(), storable()), LIMITS.labels).optional().describe('all must match, "name=value" items'),
  limit: z.number().int().min(1).max(500).default(50),
  offset: z.number().int().min(0).max(1_000_000).default(0),
  cursor: z.string().min(1).max(200).optional(),
});

const output = z.object({
  total: z.number().int().describe('incidents matching the filters'),
  returned: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
  next_cursor: z.string().nullable(),
  filters: z.object({
    status: z.string(),
    severity: z.string(),
    namespace: z.string().nullable(),
    target: z.string().nullable(),
    since: z.string().nullable(),
    until: z.string().nullable(),
    labels: z.record(z.string(), z.string()).nullable(),
  }),
  incidents: z.array(IncidentSummary.extend({ description_truncated: z.boolean(), labels_omitted: z.number().int(), affected_resources_omitted: z.number().int() })),
});

export const listIncidents = defineTool({
  name: 'list_incidents',
  description:
    'List incidents, newest first, with the total that match. Use before create_incident, or to review history. ' +
    'Example: {"status":"all","namespace":"production","since":"24h"}. Descriptions are cut to 200 chars, labels and affected_resources to 1000 and 500 chars (the rest counted); pass next_cursor as cursor for more.',
  input,
  output,
  annotations: {
    title: 'List incidents',
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  async handler(args, { app }) {
    if (args.since !== undefined && args.until !== undefined && args.since >= args.until) {
      throw new InputError('since', 'must be earlier than until');
    }
    const page = await app.store.list({
      status: args.status === 'all' ? undefined : args.status,
      severity: args.severity === 'all' ? undefined : args.severity,
      namespace: args.namespace,
      target: args.target,
      since: args.since,
      until: args.until,
      labels: args.labels,
      limit: args.limit,
      offset: args.offset,
      cursor: args.cursor,
    });
    const view = listView(page, args);
    return { structured: view, text: renderListView(view) };
  },
});
