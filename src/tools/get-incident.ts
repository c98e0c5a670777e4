import { z } from 'zod';
import { NotFoundError } from '../errors.js';
import { renderIncident } from '../incidents/detail.js';
import { notFoundMessage } from '../incidents/lifecycle.js';
import { Incident, IncidentId } from '../incidents/model.js';
import { defineTool } from '../mcp/tool.js';

export const getIncident = defineTool({
  name: 'get_incident',
  description:
    'One incident in full: description, evidence and its timeline (every change, who made it, notes). Example: {"id":"inc-3f2a9c1d5e7b8a60"}.',
  input: z.strictObject({ id: IncidentId }),
  output: z.object({ incident: Incident }),
  annotations: {
    title: 'Get incident',
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  async handler(args, { app }) {
    const incident = await app.store.get(args.id);
    if (!incident) throw new NotFoundError(notFoundMessage(args.id));
    return { structured: { incident }, text: renderIncident(incident) };
  },
});
