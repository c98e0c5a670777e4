// Incidents as MCP resources: incident://{id} reads one in full (JSON), and resources/list
// offers the newest ones, so clients that browse resources can attach them to a conversation.
// Whole, unlike get_incident's newest timeline entries: a resource is read on purpose, and the
// incident's own limits bound it (README, Resources).
import { ProtocolError, ResourceTemplate, type McpServer } from '@modelcontextprotocol/server';
import type { App } from '../app.js';
import { IncidentId } from '../incidents/model.js';

/** resources/list has no paging in the SDK's McpServer, so it offers this many, newest first. */
export const RESOURCE_LIST_LIMIT = 100;
/** JSON-RPC code the MCP spec gives "resource not found" */
const RESOURCE_NOT_FOUND = -32002;

export function installIncidentResources(mcp: McpServer, app: App): void {
  const template = new ResourceTemplate('incident://{id}', {
    list: async () => {
      const page = await app.store.list({ limit: RESOURCE_LIST_LIMIT });
      return {
        resources: page.incidents.map((i) => ({
          uri: `incident://${i.id}`,
          name: i.id,
          title: i.title,
          description: `[${i.severity}, ${i.status}] ${i.target}, created ${i.created_at}`,
          mimeType: 'application/json',
        })),
      };
    },
  });
  mcp.registerResource(
    'incident',
    template,
    {
      title: 'Incident',
      description: `One incident in full (timeline, evidence) as JSON; the list offers the newest ${RESOURCE_LIST_LIMIT}.`,
      mimeType: 'application/json',
    },
    async (uri, vars) => {
      const id = String(vars.id);
      const incident = IncidentId.safeParse(id).success ? await app.store.get(id) : null;
      if (!incident) throw new ProtocolError(RESOURCE_NOT_FOUND, `Resource not found: no incident ${JSON.stringify(id)}`, { uri: uri.href });
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(incident, null, 2) }] };
    },
  );
}
