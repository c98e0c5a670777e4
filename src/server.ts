// One McpServer per stdio connection or per HTTP request (the SDK's factory entries build them),
// all built on the shared App, so nothing a request needs lives in one process's memory.
import { McpServer, type CacheHint } from '@modelcontextprotocol/server';
import type { App } from './app.js';
import { installTools } from './mcp/dispatcher.js';
import { installIncidentResources } from './mcp/resources.js';
import { registerPrompts } from './prompts.js';
import { TOOLS } from './tools/index.js';
import { VERSION } from './version.js';

/** What initialize tells the client; a read-only server names no tool it hides. */
export function instructions(readOnly: boolean): string {
  const incidents = readOnly
    ? 'list_incidents and get_incident for what is recorded (this server is read-only: it creates and updates nothing, so report instead).'
    : 'list_incidents before create_incident (give it a dedup_key) or update_incident.';
  return `Metrics (Prometheus/Thanos) and incident records of a Kubernetes/OpenShift cluster.
Usual order: build_features for a pod, deployment, namespace or the cluster; detect_anomaly on what stands out (build_features suggests the call); query_metrics to look closer (detect_anomaly suggests the call); ${incidents}
The prompts investigate_namespace, triage_alert and summarize_open_incidents walk through these steps.`;
}

/**
 * Tools, prompts and the resource template change only with the version and --read-only, so every
 * client may cache their lists for an hour; the incident list and reads change with every write.
 */
const STATIC: CacheHint = { ttlMs: 3_600_000, cacheScope: 'public' };
const CACHE_HINTS = { 'tools/list': STATIC, 'prompts/list': STATIC, 'resources/templates/list': STATIC, 'server/discover': STATIC } as const;

export function createMcpServer(app: App): McpServer {
  const mcp = new McpServer(
    { name: 'prom-incident-mcp', version: VERSION },
    { instructions: instructions(app.config.readOnly), cacheHints: CACHE_HINTS },
  );
  installTools(mcp.server, TOOLS, app);
  installIncidentResources(mcp, app);
  registerPrompts(mcp, app);
  return mcp;
}
