import { z } from 'zod';
import { NotFoundError } from '../errors.js';
import { DEFAULT_TIMELINE_LIMIT, newestTimeline, renderIncident } from '../incidents/detail.js';
import { notFoundMessage } from '../incidents/lifecycle.js';
import { Incident, IncidentId, LIMITS } from '../incidents/model.js';
import { defineTool } from '../mcp/tool.js';

export const getIncident = defineTool({
  name: 'get_incident',
  description:
    'One incident: description, evidence and its newest timeline entries (every change, who made it, notes). ' +
    'Example: {"id":"inc-3f2a9c1d5e7b8a60"}; timeline_omitted counts older ones.',
  input: z.strictObject({
    id: IncidentId,
    timeline_limit: z.number().int().min(0).max(LIMITS.timelineMax).default(DEFAULT_TIMELINE_LIMIT).describe(`newest entries; default ${DEFAULT_TIMELINE_LIMIT}`),
  }),
  output: z.object({ incident: Incident, timeline_omitted: z.number().int().describe('older entries left out') }),
  annotations: {
    title: 'Get incident',
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  async handler(args, { app }) {
    const stored = await app.store.get(args.id);
    if (!stored) throw new NotFoundError(notFoundMessage(args.id));
    const { incident, omitted } = newestTimeline(stored, args.timeline_limit);
    return { structured: { incident, timeline_omitted: omitted }, text: renderIncident(incident, omitted) };
  },
});
