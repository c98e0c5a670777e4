// What a feature vector describes (a pod, a deployment, a namespace or the whole cluster)
// and the PromQL matchers that select it in each metric family. Names are checked against
// Kubernetes naming rules and every value is escaped, so nothing an agent sends can change
// a query's shape.
import { InputError } from '../errors.js';
import { NAMESPACE_RE } from '../incidents/model.js';
import { escapeRegex, matcher } from '../prometheus/promql.js';

export const SCOPES = ['pod', 'deployment', 'namespace', 'cluster'] as const;
export type ScopeKind = (typeof SCOPES)[number];

export interface Scope {
  kind: ScopeKind;
  namespace: string | null;
  /** pod or deployment name */
  name: string | null;
}

/** DNS-1123 subdomain: what pod and deployment names must be. */
const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A ReplicaSet's pod: <deployment>-<pod-template-hash>-<5 characters>. */
const RS_POD_SUFFIX = '-[a-z0-9]{4,10}-[a-z0-9]{5}';

export function checkScope(kind: ScopeKind, namespace: string | undefined, name: string | undefined): Scope {
  if (kind === 'cluster') {
    if (namespace !== undefined) throw new InputError('namespace', 'is not used with scope "cluster"');
    if (name !== undefined) throw new InputError('name', 'is not used with scope "cluster"');
    return { kind, namespace: null, name: null };
  }
  if (namespace === undefined) throw new InputError('namespace', `is required with scope "${kind}"`);
  if (!NAMESPACE_RE.test(namespace)) {
    throw new InputError('namespace', 'must be a Kubernetes namespace name (lowercase letters, digits and "-", 1-63 characters)');
  }
  if (kind === 'namespace') {
    if (name !== undefined) throw new InputError('name', 'is not used with scope "namespace"');
    return { kind, namespace, name: null };
  }
  if (name === undefined) throw new InputError('name', `is required with scope "${kind}" (the ${kind} name)`);
  if (name.length > 253 || !SUBDOMAIN_RE.test(name)) {
    throw new InputError('name', `must be a Kubernetes ${kind} name (lowercase letters, digits, "-" and ".", at most 253 characters)`);
  }
  return { kind, namespace, name };
}

/** The deployment a ReplicaSet pod belongs to, from its name; null when it does not look like one. */
export function deploymentOfPod(pod: string): string | null {
  return new RegExp(`^(.+)${RS_POD_SUFFIX}$`).exec(pod)?.[1] ?? null;
}

/** Matchers, comma-joined, for use inside {...}; empty for the whole cluster. */
export class ScopeSelectors {
  constructor(readonly scope: Scope) {}

  private join(...parts: (string | null)[]): string {
    return parts.filter((p): p is string => Boolean(p)).join(',');
  }

  private ns(): string | null {
    return this.scope.namespace === null ? null : matcher('namespace', this.scope.namespace);
  }

  /** Series labelled namespace and pod (cAdvisor, kube-state-metrics pod metrics). */
  pod(...extra: string[]): string {
    const { kind, name } = this.scope;
    const pod = kind === 'pod' ? matcher('pod', name!) : kind === 'deployment' ? matcher('pod', `${escapeRegex(name!)}${RS_POD_SUFFIX}`, '=~') : null;
    return this.join(this.ns(), pod, ...extra);
  }

  /** Series labelled namespace only (services, routes, PVCs of a namespace). */
  namespace(...extra: string[]): string {
    return this.join(this.ns(), ...extra);
  }

  /** The deployment's name in scope (a pod's owner by name); undefined for namespace and cluster, null when unknown. */
  private deploymentName(): string | null | undefined {
    const { kind, name } = this.scope;
    if (kind === 'deployment') return name!;
    if (kind === 'pod') return deploymentOfPod(name!);
    return undefined;
  }

  /** The deployment in scope, for kube_deployment_* series; null for a pod with no deployment. */
  deployment(...extra: string[]): string | null {
    const dep = this.deploymentName();
    if (dep === null) return null;
    return this.join(this.ns(), dep === undefined ? null : matcher('deployment', dep), ...extra);
  }

  /**
   * kube_horizontalpodautoscaler_info matchers for the HPAs scaling the scope's deployment
   * (an HPA's name need not be its target's); all HPAs for a namespace or the cluster.
   */
  hpaTarget(): string | null {
    const dep = this.deploymentName();
    if (dep === null) return null;
    return this.join(this.ns(), ...(dep === undefined ? [] : ['scaletargetref_kind="Deployment"', matcher('scaletargetref_name', dep)]));
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
    return `kube_pod_info{${this.pod('node!=""')}}`;
  }

  /** Keeps PVC series to the claims the scope's pods mount (a namespace keeps all of its own). */
  onClaims(): string {
    if (this.scope.kind === 'cluster' || this.scope.kind === 'namespace') return '';
    return ` and on(namespace, persistentvolumeclaim) kube_pod_spec_volumes_persistentvolumeclaims_info{${this.pod()}}`;
  }
}
