import { z } from 'zod';
import { Incident, NewIncident } from '../incidents/model.js';
import { defineTool } from '../mcp/tool.js';

export const createIncident = defineTool({
  name: 'create_incident',
  description:
    'Record a new incident (status active) when you find or are told of a problem worth tracking. Call list_incidents first to avoid a duplicate. ' +
    'Example: {"title":"High CPU in production","description":"payment-service CPU >80% for 30m","severity":"high","target":"production"}. ' +
    'Returns the incident with its id.',
  input: NewIncident,
  output: z.object({ incident: Incident }),
  annotations: {
    title: 'Create incident',
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: false,
  },
  async handler(args, { app }) {
    const incident = await app.store.create(args);
    return {
      structured: { incident },
      text: `Created ${incident.id} (${incident.severity}, active) for ${incident.target}: ${incident.title}`,
    };
  },
});
