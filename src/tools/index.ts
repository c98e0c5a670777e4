import type { ToolDef } from '../mcp/tool.js';
import { createIncident } from './create-incident.js';
import { getIncident } from './get-incident.js';
import { listIncidents } from './list-incidents.js';
import { updateIncident } from './update-incident.js';

/** Every tool this server offers, in the order tools/list shows them. */
export const TOOLS: readonly ToolDef[] = [createIncident, listIncidents, getIncident, updateIncident] as unknown as readonly ToolDef[];
