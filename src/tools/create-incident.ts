import { z } from 'zod';
import { IncidentSummary, NewIncident, summarize } from '../incidents/model.js';
import { defineTool } from '../mcp/tool.js';

export const createIncident = defineTool({
  name: 'create_incident',
  description:
    'Record a problem to track (status active); an active incident with the same dedup_key is returned instead. ' +
    'Example: {"title":"High CPU","description":"api >80% 30m","severity":"high","target":"prod","dedup_key":"cpu/prod"}.',
  input: NewIncident,
  output: z.object({ incident: IncidentSummary, deduplicated: z.boolean() }),
  annotations: {
    title: 'Create incident',
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: false,
  },
  async handler(args, { app, clientName }) {
    const { incident, deduplicated } = await app.store.create(args, clientName ?? 'unknown');
    const what = `${incident.id} (${incident.severity}, ${incident.status}) for ${incident.target}: ${incident.title}`;
    return {
      structured: { incident: summarize(incident), deduplicated },
      text: deduplicated ? `Already recorded as ${what} (same dedup_key); nothing new was created.` : `Created ${what}`,
    };
  },
});
