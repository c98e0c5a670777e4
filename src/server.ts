// One McpServer per connection (stdio) or per HTTP session, all built on the shared App.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { App } from './app.js';
import { installTools } from './mcp/dispatcher.js';
import { installIncidentResources } from './mcp/resources.js';
import { TOOLS } from './tools/index.js';
import { VERSION } from './version.js';

export const INSTRUCTIONS = `prom-incident-mcp records and lists incidents for a Kubernetes/OpenShift cluster.
Before creating an incident, call list_incidents to see whether it is already recorded, and give create_incident a
dedup_key so retries do not duplicate it. Resolve or annotate incidents with update_incident.`;

export function createMcpServer(app: App): McpServer {
  const mcp = new McpServer({ name: 'prom-incident-mcp', version: VERSION }, { instructions: INSTRUCTIONS });
  installTools(mcp.server, TOOLS, app);
  installIncidentResources(mcp, app);
  return mcp;
}
