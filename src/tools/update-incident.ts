import { z } from 'zod';
import { renderUpdate } from '../incidents/detail.js';
import { IncidentUpdate } from '../incidents/lifecycle.js';
import { IncidentId, IncidentSummary, TimelineEntry, summarize } from '../incidents/model.js';
import { defineTool } from '../mcp/tool.js';

export const updateIncident = defineTool({
  name: 'update_incident',
  description:
    'Resolve, cancel or reopen an incident, change its severity or labels, link a workflow, or add a note. Each change goes into its timeline with your client name. ' +
    'Example: {"id":"inc-3f2a9c1d5e7b8a60","status":"resolved","note":"rolled back deploy 42"}.',
  input: IncidentUpdate.extend({ id: IncidentId }),
  output: z.object({ incident: IncidentSummary, changes: z.array(TimelineEntry) }),
  annotations: {
    title: 'Update incident',
    readOnlyHint: false,
    // Every change is appended to the timeline, and nothing is ever dropped from it (a full one refuses changes).
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: false,
  },
  async handler({ id, ...patch }, { app, clientName }) {
    const r = await app.store.update(id, patch, clientName ?? 'unknown');
    return { structured: { incident: summarize(r.incident), changes: r.changes }, text: renderUpdate(r) };
  },
});
