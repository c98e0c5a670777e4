import type { ToolDef } from '../mcp/tool.js';
import { buildFeaturesTool } from './build-features.js';
import { createIncident } from './create-incident.js';
import { detectAnomaly } from './detect-anomaly.js';
import { getIncident } from './get-incident.js';
import { listIncidents } from './list-incidents.js';
import { queryMetrics } from './query-metrics.js';
import { updateIncident } from './update-incident.js';

/** Every tool this server offers, in the order tools/list shows them: the usual order of calls. */
export const TOOLS: readonly ToolDef[] = [
  buildFeaturesTool,
  detectAnomaly,
  queryMetrics,
  listIncidents,
  getIncident,
  createIncident,
  updateIncident,
] as unknown as readonly ToolDef[];
