// examples/kubernetes and the Dockerfile: they parse, fit together (names, labels, ports,
// paths), ask for the safe settings, and the Deployment's environment is one the server
// accepts. No cluster and no Docker engine here, so this is what can be checked.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { SETTING_ENV_VARS, loadConfig } from '../../src/config.js';
import { parseTokenFile } from '../../src/transports/http-auth.js';
import { createHostPolicy } from '../../src/transports/http-security.js';
import { ROOT } from '../helpers/server.js';

type Doc = Record<string, any>;
const DIR = join(ROOT, 'examples/kubernetes');
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const docs: Doc[] = files.flatMap((f) =>
  parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => {
    if (d.errors.length > 0) throw new Error(`${f}: ${d.errors[0]!.message}`);
    return d.toJS() as Doc;
  }),
);
const one = (kind: string): Doc => {
  const found = docs.filter((d) => d.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};

describe('examples/kubernetes', () => {
  const deploy = one('Deployment');
  const pod = deploy.spec.template.spec;
  const c = pod.containers[0];
  const env = Object.fromEntries((c.env as Doc[]).map((e) => [e.name, e.value]));
  const labels = deploy.spec.template.metadata.labels;

  it('has every piece, all in one namespace, and kustomization lists the files', () => {
    for (const k of ['Namespace', 'Deployment', 'Service', 'ServiceAccount', 'ClusterRoleBinding', 'PersistentVolumeClaim', 'Secret', 'NetworkPolicy']) one(k);
    const ns = one('Namespace').metadata.name;
    for (const d of docs.filter((d) => !['Namespace', 'ClusterRoleBinding', 'Kustomization'].includes(d.kind))) expect(d.metadata.namespace, d.kind).toBe(ns);
    const kust = one('Kustomization');
    for (const r of kust.resources as string[]) expect(files).toContain(r);
    expect(kust.resources).not.toContain('secret.yaml');
  });

  it('runs non-root on a read-only root filesystem with probes, resources and a drain', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(c.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: Number(env.PORT) })]);
    expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources.limits.memory).toBeDefined();
    const grace = pod.terminationGracePeriodSeconds;
    expect(Number.parseInt(env.MCP_SHUTDOWN_TIMEOUT, 10) + 5).toBeLessThan(grace); // drain + preStop sleep fit
  });

  it('wires the volume, the token Secret, the ServiceAccount and Thanos', () => {
    const mounts = Object.fromEntries((c.volumeMounts as Doc[]).map((m) => [m.name, m.mountPath]));
    const vols = Object.fromEntries((pod.volumes as Doc[]).map((v) => [v.name, v]));
    expect(env.DATA_DIR).toBe('/app/data');
    expect(mounts.data).toBe('/app/data');
    expect(vols.data.persistentVolumeClaim.claimName).toBe(one('PersistentVolumeClaim').metadata.name);
    const secret = one('Secret');
    expect(vols.tokens.secret.secretName).toBe(secret.metadata.name);
    expect(env.MCP_AUTH_TOKEN_FILE).toBe(`${mounts.tokens}/${Object.keys(secret.stringData)[0]}`);
    // the published placeholder is refused by the server, so it can never guard a real deployment
    expect(parseTokenFile(secret.stringData.tokens).tokens).toEqual([]);
    expect(pod.serviceAccountName).toBe(one('ServiceAccount').metadata.name);
    const crb = one('ClusterRoleBinding');
    expect(crb.roleRef).toMatchObject({ kind: 'ClusterRole', name: 'cluster-monitoring-view' });
    expect(crb.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: deploy.metadata.namespace }]);
    expect(env.PROMETHEUS_URL).toBe('https://thanos-querier.openshift-monitoring.svc:9091');
    expect(env.PROMETHEUS_TOKEN_FILE).toBe('/var/run/secrets/kubernetes.io/serviceaccount/token');
  });

  it('routes the Service and the NetworkPolicy to the pod port', () => {
    const svc = one('Service');
    expect(svc.spec.selector).toEqual(labels);
    expect(svc.spec.ports[0].targetPort).toBe('http');
    const np = one('NetworkPolicy');
    expect(np.spec.podSelector.matchLabels).toEqual(labels);
    expect(np.spec.ingress[0].ports[0].port).toBe(Number(env.PORT));
  });

  it('the in-cluster URLs agents use pass the default Host check', () => {
    const policy = createHostPolicy({ bindHost: env.HOST, allowedHosts: [], allowedOrigins: [] });
    const svc = one('Service');
    const names = [svc.metadata.name, `${svc.metadata.name}.${svc.metadata.namespace}.svc`, `${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`];
    for (const n of names) expect(policy(`${n}:${svc.spec.ports[0].port}`, undefined), n).toEqual({ ok: true });
  });

  it('sets only variables the server knows, with values it accepts', () => {
    for (const name of Object.keys(env)) {
      expect(SETTING_ENV_VARS.includes(name) || name.startsWith('PROMETHEUS_'), name).toBe(true);
    }
    const action = loadConfig([], env);
    expect(action.kind).toBe('run');
    if (action.kind === 'run') expect(action.config).toMatchObject({ transport: 'http', host: '0.0.0.0', port: 8080, shutdownTimeoutMs: 20_000 });
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  it('is multi-stage, runs as a numeric non-root user and starts dist/main.js', () => {
    const froms = text.match(/^FROM node:(\d+)\S*/gm) ?? [];
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(Number(/node:(\d+)/.exec(f)![1])).toBeGreaterThanOrEqual(20);
    const user = /^USER (\S+)$/m.exec(text)?.[1];
    expect(user).toMatch(/^[1-9]\d*$/); // numeric, so runAsNonRoot can verify it
    expect(text).toMatch(/^ENTRYPOINT \["node", "dist\/main\.js"\]$/m);
    expect(text).toMatch(/npm prune --omit=dev/);
    expect(text).toMatch(/DATA_DIR=\/app\/data/);
  });

  it('copies into its build stage every file of tools/ that the build reads', () => {
    const build = readFileSync(join(ROOT, 'tools/bundle.ts'), 'utf8');
    const read = ['tools/bundle.ts', ...[...build.matchAll(/'(tools\/[\w-]+\.\w+)'/g)].map((m) => m[1]!)];
    expect(read).toContain('tools/bundle-url.mjs');
    const copied = [...text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    for (const file of read) expect(copied, file).toContain(file);
  });
});

/** Applies a JSON patch (RFC 6902: add, replace, remove) to a parsed manifest. */
function applyJsonPatch(doc: Doc, ops: Doc[]): Doc {
  const out = structuredClone(doc);
  for (const op of ops) {
    const keys = (op.path as string).split('/').slice(1);
    const last = keys.pop()!;
    const parent = keys.reduce((node: Doc, k) => {
      expect(node[k], `${op.op} ${op.path}`).toBeDefined();
      return node[k];
    }, out);
    if (op.op === 'add' && Array.isArray(parent)) parent.splice(last === '-' ? parent.length : Number(last), 0, op.value);
    else if (op.op === 'add') parent[last] = op.value;
    else if (op.op === 'replace') {
      expect(parent[last], `replace ${op.path}`).toBeDefined();
      parent[last] = op.value;
    } else if (op.op === 'remove') delete parent[last];
    else throw new Error(`unsupported op ${op.op}`);
  }
  return out;
}

/** The replicated overlay rendered as kustomize would: the base, its own files, the patches. */
function renderReplicated(): Doc[] {
  const dir = join(ROOT, 'examples/kubernetes-replicated');
  const kust = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as Doc;
  let out: Doc[] = [];
  for (const r of kust.resources as string[]) {
    if (r === '../kubernetes') out.push(...docs.filter((d) => (one('Kustomization').resources as string[]).some((f) => d === docs[files.indexOf(f)])));
    else out.push(...parseAllDocuments(readFileSync(join(dir, r), 'utf8')).map((d) => d.toJS() as Doc));
  }
  for (const p of kust.patches as Doc[]) {
    const matches = (d: Doc) => d.kind === p.target.kind && d.metadata.name === p.target.name;
    expect(out.filter(matches), JSON.stringify(p.target)).toHaveLength(1);
    const patch = parseAllDocuments(p.patch as string)[0]!.toJS();
    if (!Array.isArray(patch) && patch.$patch === 'delete') out = out.filter((d) => !matches(d));
    else out = out.map((d) => (matches(d) ? applyJsonPatch(d, patch as Doc[]) : d));
  }
  return out;
}

describe('examples/kubernetes-replicated', () => {
  const rendered = renderReplicated();
  const of = (kind: string) => rendered.filter((d) => d.kind === kind);
  const deploy = of('Deployment')[0]!;
  const pod = deploy.spec.template.spec;
  const c = pod.containers[0];
  const env = Object.fromEntries((c.env as Doc[]).map((e) => [e.name, e.value ?? e.valueFrom]));

  it('runs 2+ replicas on PostgreSQL with no volume for the file store', () => {
    expect(deploy.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deploy.spec.strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
    expect(of('PersistentVolumeClaim')).toEqual([]);
    expect(pod.volumes.filter((v: Doc) => v.persistentVolumeClaim)).toEqual([]);
    expect(env.INCIDENT_STORE).toBe('postgres');
    expect(env.DATABASE_URL).toEqual({ secretKeyRef: { name: 'prom-incident-mcp-database', key: 'url' } });
    // what the Secret will hold: a URL the server accepts, with the rest of this environment
    const action = loadConfig([], { ...env, DATABASE_URL: 'postgres://incidents:pw@postgres.example.svc:5432/incidents?sslmode=require' });
    expect(action.kind).toBe('run');
    if (action.kind === 'run') expect(action.config).toMatchObject({ incidentStore: 'postgres', transport: 'http' });
  });

  it('keeps one replica through voluntary disruptions and needs no session affinity', () => {
    const pdb = of('PodDisruptionBudget')[0]!;
    expect(pdb.metadata.namespace).toBe(deploy.metadata.namespace);
    expect(pdb.spec.selector.matchLabels).toEqual(deploy.spec.template.metadata.labels);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(deploy.spec.replicas);
    const svc = of('Service')[0]!;
    expect(svc.spec.sessionAffinity ?? 'None').toBe('None');
    expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector.matchLabels).toEqual(
      deploy.spec.template.metadata.labels,
    );
  });
});
