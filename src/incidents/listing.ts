// Shapes a store page into list_incidents' result (descriptions cut to a preview) and
// renders it as a compact text listing.
import type { IncidentSummary } from './model.js';
import type { ListPage } from './store.js';

export const DESCRIPTION_PREVIEW = 200;

export interface ListArgs {
  status: string;
  severity: string;
  namespace?: string | undefined;
  target?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  labels?: Record<string, string> | undefined;
  limit: number;
  offset: number;
}

export interface IncidentPreview extends IncidentSummary {
  description_truncated: boolean;
}

export interface ListView {
  total: number;
  returned: number;
  limit: number;
  offset: number;
  next_cursor: string | null;
  filters: {
    status: string;
    severity: string;
    namespace: string | null;
    target: string | null;
    since: string | null;
    until: string | null;
    labels: Record<string, string> | null;
  };
  incidents: IncidentPreview[];
}

export function preview(inc: IncidentSummary): IncidentPreview {
  if (inc.description.length <= DESCRIPTION_PREVIEW) return { ...inc, description_truncated: false };
  return { ...inc, description: `${inc.description.slice(0, DESCRIPTION_PREVIEW - 1)}…`, description_truncated: true };
}

export function listView(page: ListPage, args: ListArgs): ListView {
  const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return {
    total: page.total,
    returned: page.incidents.length,
    limit: args.limit,
    offset: args.offset,
    next_cursor: page.nextCursor,
    filters: {
      status: args.status,
      severity: args.severity,
      namespace: args.namespace ?? null,
      target: args.target ?? null,
      since: iso(args.since),
      until: iso(args.until),
      labels: args.labels ?? null,
    },
    incidents: page.incidents.map(preview),
  };
}

/** One line per incident: id, severity, status, target, creation minute, title. */
export function incidentLine(i: IncidentSummary): string {
  return `${i.id} [${i.severity}, ${i.status}] ${i.target} ${i.created_at.slice(0, 16)}Z ${i.title}`;
}

export function renderListView(v: ListView): string {
  const f = v.filters;
  const one = v.total === 1;
  const noun = one ? 'incident' : 'incidents';
  const what = [
    f.status === 'all' ? noun : `${f.status} ${noun}`,
    f.severity !== 'all' ? `severity ${f.severity}` : '',
    f.namespace ? `namespace ${f.namespace}` : '',
    f.target ? `target ${f.target}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  if (v.total === 0) return `No ${what} match.`;
  const match = one ? 'matches' : 'match';
  const head =
    v.returned === 0
      ? `${v.total} ${what} ${match}; this page is empty.`
      : `${v.total} ${what} ${match}; showing ${v.returned}, newest first${v.offset ? ` (from #${v.offset + 1})` : ''}.`;
  const tail = v.next_cursor ? `More: pass cursor "${v.next_cursor}".` : '';
  return [head, ...v.incidents.map(incidentLine), tail].filter(Boolean).join('\n');
}
