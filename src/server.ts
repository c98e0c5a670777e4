// One McpServer per connection (stdio) or per HTTP session, all built on the shared App.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { App } from './app.js';
import { installTools } from './mcp/dispatcher.js';
import { installIncidentResources } from './mcp/resources.js';
import { registerPrompts } from './prompts.js';
import { TOOLS } from './tools/index.js';
import { VERSION } from './version.js';

export const INSTRUCTIONS = `Metrics (Prometheus/Thanos) and incident records of a Kubernetes/OpenShift cluster.
Usual order: build_features for a pod, deployment, namespace or the cluster; detect_anomaly on what stands out (build_features suggests the call); query_metrics to look closer; list_incidents before create_incident (give it a dedup_key) or update_incident.
The prompts investigate_namespace, triage_alert and summarize_open_incidents walk through these steps.`;

export function createMcpServer(app: App): McpServer {
  const mcp = new McpServer({ name: 'prom-incident-mcp', version: VERSION }, { instructions: INSTRUCTIONS });
  installTools(mcp.server, TOOLS, app);
  installIncidentResources(mcp, app);
  registerPrompts(mcp, app);
  return mcp;
}
