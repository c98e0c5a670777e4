// What a feature vector describes (a pod, a deployment, a namespace or the whole cluster)
// and the PromQL matchers that select it in each metric family. Names are checked against
// Kubernetes naming rules and every value is escaped, so nothing an agent sends can change
// a query's shape.
import type { z } from 'zod';
import { InputError } from '../errors.js';
import { Namespace, SUBDOMAIN_RE, objectName } from '../incidents/model.js';
import { escapeRegex, matcher } from '../prometheus/promql.js';

export const SCOPES = ['pod', 'deployment', 'namespace', 'cluster'] as const;
export type ScopeKind = (typeof SCOPES)[number];

export interface Scope {
  kind: ScopeKind;
  namespace: string | null;
  /** pod or deployment name */
  name: string | null;
}

/**
 * A generated pod name starts with its generateName cut to 58 characters: for a deployment's
 * pods, "<deployment>-<hash>-". Only a cheap first cut: owned() decides.
 */
const GENERATE_NAME_MAX = 58;

/**
 * When an owner lookup applies: at the expression's own time, at an offset (" offset 1h"), or
 * at any time in a window ("[24h]": a pod deleted since still counts).
 */
export type When = '' | ` offset ${string}` | `[${string}]`;

export function checkScope(kind: ScopeKind, namespace: string | undefined, name: string | undefined): Scope {
  if (kind === 'cluster') {
    if (namespace !== undefined) throw new InputError('namespace', 'is not used with scope "cluster"');
    if (name !== undefined) throw new InputError('name', 'is not used with scope "cluster"');
    return { kind, namespace: null, name: null };
  }
  if (namespace === undefined) throw new InputError('namespace', `is required with scope "${kind}"`);
  mustPass(Namespace, 'namespace', namespace);
  if (kind === 'namespace') {
    if (name !== undefined) throw new InputError('name', 'is not used with scope "namespace"');
    return { kind, namespace, name: null };
  }
  if (name === undefined) throw new InputError('name', `is required with scope "${kind}" (the ${kind} name)`);
  mustPass(objectName(kind), 'name', name);
  return { kind, namespace, name };
}

/** The schemas tool and prompt arguments are checked with, applied here too: one rule for a name everywhere. */
function mustPass(schema: z.ZodType<string>, field: string, value: string): void {
  const issues = schema.safeParse(value).error?.issues;
  if (!issues) return;
  // the refine states the whole rule; a length issue comes with it
  throw new InputError(field, (issues.find((i) => i.code === 'custom') ?? issues[0]!).message);
}

/** Most ReplicaSets a deployment's pod matcher names; more (or longer names) and owned() joins owners. */
export const MAX_REPLICASETS = 32;

/**
 * The pod names of a deployment's ReplicaSets, as one matcher value: a ReplicaSet names its pods
 * "<replicaset>-" and 5 random characters (generateName, cut to 58 characters). null when a
 * name would be cut (two sets could then share a prefix) or there are too many to list.
 */
export function replicaSetPods(deployment: string, replicaSets: readonly string[]): string | null {
  if (replicaSets.length === 0 || replicaSets.length > MAX_REPLICASETS) return null;
  if (replicaSets.some((rs) => rs.length + 1 > GENERATE_NAME_MAX || !SUBDOMAIN_RE.test(rs))) return null;
  // the common "<deployment>-" prefix stays a literal, which Prometheus checks before the regex
  const base = `${deployment}-`;
  const common = replicaSets.every((rs) => rs.startsWith(base)) ? base : '';
  const alts = [...new Set(replicaSets)].sort().map((rs) => escapeRegex(rs.slice(common.length)));
  return `${escapeRegex(common)}(?:${alts.join('|')})-[a-z0-9]{5}`;
}

/** Matchers, comma-joined, for use inside {...}; empty for the whole cluster. */
export class ScopeSelectors {
  /** a deployment's pods by their ReplicaSets' names, when known (see replicaSetPods) */
  private readonly members: string | null;

  /**
   * `replicaSets`: the names of the ReplicaSets a deployment owned over the vector's window.
   * With them a deployment's pods are picked by name, which is far cheaper for Prometheus than
   * owner joins in every expression; without them owned() joins kube_pod_owner.
   */
  constructor(
    readonly scope: Scope,
    replicaSets?: readonly string[],
  ) {
    this.members = scope.kind === 'deployment' && replicaSets ? replicaSetPods(scope.name!, replicaSets) : null;
  }

  /** Whether the deployment's pods are picked by name (owned() then adds nothing). */
  get byName(): boolean {
    return this.members !== null;
  }

  private join(...parts: (string | null)[]): string {
    return parts.filter((p): p is string => Boolean(p)).join(',');
  }

  private ns(): string | null {
    return this.scope.namespace === null ? null : matcher('namespace', this.scope.namespace);
  }

  /**
   * Series labelled namespace and pod (cAdvisor, kube-state-metrics pod metrics): the namespace,
   * and the pod for a pod scope. For a deployment, the pods whose names start as its pods' do,
   * which is not enough (a DaemonSet's node-exporter-x7k2p starts like a pod of "node", a
   * CronJob's like its namesake's): wrap the expression in owned().
   */
  pod(...extra: string[]): string {
    const { kind, name } = this.scope;
    const pod =
      kind === 'pod'
        ? matcher('pod', name!)
        : kind === 'deployment'
          ? matcher('pod', this.members ?? `${escapeRegex(`${name!}-`.slice(0, GENERATE_NAME_MAX))}.+`, '=~')
          : null;
    return this.join(this.ns(), pod, ...extra);
  }

  /**
   * `expr` (series labelled namespace and pod) kept to the deployment's pods: those whose
   * owner (kube_pod_owner) is a ReplicaSet the deployment owns (kube_replicaset_owner), looked
   * up at `when`. Unchanged for the other scopes.
   */
  owned(expr: string, when: When = ''): string {
    if (this.scope.kind !== 'deployment' || this.members !== null) return expr;
    const at = (sel: string) => (when.startsWith('[') ? `max_over_time(${sel}${when})` : `${sel}${when}`);
    const pods = at(`kube_pod_owner{${this.pod('owner_kind="ReplicaSet"')}}`);
    const sets = at(`kube_replicaset_owner{${this.join(this.ns(), 'owner_kind="Deployment"', matcher('owner_name', this.scope.name!))}}`);
    return `(${expr}) and on(namespace, pod) (${pods} and on(namespace, owner_name) label_replace(${sets}, "owner_name", "$1", "replicaset", "(.+)"))`;
  }

  /** Series labelled namespace only (services, routes, PVCs of a namespace). */
  namespace(...extra: string[]): string {
    return this.join(this.ns(), ...extra);
  }

  /** A pod scope's deployment, from its owner ReplicaSet's owner, as series labelled namespace and deployment. */
  podDeployment(): string | null {
    if (this.scope.kind !== 'pod') return null;
    const rs = `label_replace(kube_pod_owner{${this.pod('owner_kind="ReplicaSet"')}}, "replicaset", "$1", "owner_name", "(.+)")`;
    return `label_replace(kube_replicaset_owner{${this.namespace('owner_kind="Deployment"')}} and on(namespace, replicaset) ${rs}, "deployment", "$1", "owner_name", "(.+)")`;
  }

  /** `metric` (kube_deployment_* series) for the deployment in scope: a pod's own, through its owners; all in a namespace or the cluster. */
  deployments(metric: string, ...extra: string[]): string {
    const { kind, name } = this.scope;
    if (kind === 'pod') return `(${metric}{${this.namespace(...extra)}} and on(namespace, deployment) ${this.podDeployment()!})`;
    return `${metric}{${this.join(this.ns(), kind === 'deployment' ? matcher('deployment', name!) : null, ...extra)}}`;
  }

  /**
   * kube_horizontalpodautoscaler_info of the HPAs scaling the scope's deployment (an HPA's name
   * need not be its target's); all HPAs for a namespace or the cluster.
   */
  hpas(): string {
    const { kind, name } = this.scope;
    const info = (...extra: string[]) => `kube_horizontalpodautoscaler_info{${this.namespace(...extra)}}`;
    if (kind === 'deployment') return info('scaletargetref_kind="Deployment"', matcher('scaletargetref_name', name!));
    if (kind === 'pod') {
      return `(${info('scaletargetref_kind="Deployment"')} and on(namespace, scaletargetref_name) label_replace(${this.podDeployment()!}, "scaletargetref_name", "$1", "deployment", "(.+)"))`;
    }
    return info();
  }

  /**
   * Keeps kube-state-metrics node series (labelled node) to the nodes running the scope's
   * pods; nothing to add for the cluster. Unscheduled pods (no node) are left out.
   */
  onNodes(): string {
    if (this.scope.kind === 'cluster') return '';
    return ` and on(node) ${this.scheduledPods()}`;
  }

  /**
   * `expr` (node-exporter series) kept to the nodes running the scope's pods. Node-exporter
   * names a node by instance (OpenShift, kube-prometheus) or, when scraped by address, by a
   * relabelled node label: either matches.
   */
  onNodeExporter(expr: string): string {
    if (this.scope.kind === 'cluster') return expr;
    const pods = this.scheduledPods();
    return `((${expr}) and on(instance) label_replace(${pods}, "instance", "$1", "node", "(.+)")) or ((${expr}) and on(node) ${pods})`;
  }

  private scheduledPods(): string {
    return `(${this.owned(`kube_pod_info{${this.pod('node!=""')}}`)})`;
  }

  /** Keeps PVC series to the claims the scope's pods mount (a namespace keeps all of its own). */
  onClaims(): string {
    if (this.scope.kind === 'cluster' || this.scope.kind === 'namespace') return '';
    return ` and on(namespace, persistentvolumeclaim) (${this.owned(`kube_pod_spec_volumes_persistentvolumeclaims_info{${this.pod()}}`)})`;
  }
}
