import { z } from 'zod';
import { Incident, NewIncident } from '../incidents/model.js';
import { defineTool } from '../mcp/tool.js';

export const createIncident = defineTool({
  name: 'create_incident',
  description:
    'Record an incident (status "active") in the durable incident store. Use when you found or were told of a problem worth tracking; ' +
    'call list_incidents first to avoid a duplicate. ' +
    'Example: {"title":"High CPU in production","description":"payment-service CPU >80% for 30m","severity":"high","target":"production","affected_resources":["deployment/payment-service"]}. ' +
    'Returns the stored incident with its id (inc-...).',
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
