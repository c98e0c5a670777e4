import type { ToolDef } from '../mcp/tool.js';
import { buildFeaturesTool } from './build-features.js';
import { createIncident } from './create-incident.js';
import { getIncident } from './get-incident.js';
import { listIncidents } from './list-incidents.js';
import { queryMetrics } from './query-metrics.js';
import { updateIncident } from './update-incident.js';

/** Every tool this server offers, in the order tools/list shows them. */
export const TOOLS: readonly ToolDef[] = [
  createIncident,
  listIncidents,
  getIncident,
  updateIncident,
  queryMetrics,
  buildFeaturesTool,
] as unknown as readonly ToolDef[];
