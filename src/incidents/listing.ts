// Shapes a store page into list_incidents' result (descriptions cut to a preview) and
// renders it as a compact text listing.
import { cutText, type IncidentSummary } from './model.js';
import type { ListPage } from './store.js';

export const DESCRIPTION_PREVIEW = 200;
/**
 * Characters of label keys plus values, and of affected resources, each list item shows; the
 * rest are counted. With the 200-character title and description preview this keeps an item
 * under about 3,000 characters (1.5 MB for a page of 500), where whole labels and resources
 * could take 23 KB.
 */
const LABEL_PREVIEW_CHARS = 1000;
const RESOURCE_PREVIEW_CHARS = 500;

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
  /** labels left out of this item (get_incident has them all) */
  labels_omitted: number;
  affected_resources_omitted: number;
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

/** How many of `sizes`, in order, fit within `budget`. */
function fitting(sizes: number[], budget: number): number {
  let used = 0;
  for (let i = 0; i < sizes.length; i++) {
    used += sizes[i]!;
    if (used > budget) return i;
  }
  return sizes.length;
}

/** The labels an item shows: all when they fit, else the first by key within the budget (the same in both stores). */
function previewLabels(labels: Record<string, string>): { labels: Record<string, string>; omitted: number } {
  let size = 0;
  for (const k in labels) size += k.length + labels[k]!.length;
  if (size <= LABEL_PREVIEW_CHARS) return { labels, omitted: 0 };
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // they do not all fit (above), so keep < entries.length
  const keep = fitting(entries.map(([k, v]) => k.length + v.length), LABEL_PREVIEW_CHARS);
  return { labels: Object.fromEntries(entries.slice(0, keep)), omitted: entries.length - keep };
}

export function preview(inc: IncidentSummary): IncidentPreview {
  const { labels, omitted } = previewLabels(inc.labels);
  const resources = fitting(inc.affected_resources.map((r) => r.length), RESOURCE_PREVIEW_CHARS);
  const cut = inc.description.length > DESCRIPTION_PREVIEW;
  return {
    ...inc,
    description: cutText(inc.description, DESCRIPTION_PREVIEW),
    description_truncated: cut,
    labels,
    labels_omitted: omitted,
    affected_resources: inc.affected_resources.slice(0, resources),
    affected_resources_omitted: inc.affected_resources.length - resources,
  };
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
  const cut = v.incidents.filter((i) => i.labels_omitted > 0 || i.affected_resources_omitted > 0).length;
  const note = cut > 0 ? `${cut} ${cut === 1 ? 'item shows' : 'items show'} only some labels or affected_resources (see labels_omitted, affected_resources_omitted); get_incident has them all.` : '';
  return [head, ...v.incidents.map(incidentLine), note, tail].filter(Boolean).join('\n');
}
