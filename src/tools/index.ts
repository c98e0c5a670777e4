import type { ToolDef } from '../mcp/tool.js';
import { createIncident } from './create-incident.js';
import { detectAnomaly } from './detect-anomaly.js';
import { listIncidents } from './list-incidents.js';

/** Every tool this server offers, in the order tools/list shows them. */
export const TOOLS: readonly ToolDef[] = [createIncident, listIncidents, detectAnomaly] as unknown as readonly ToolDef[];
