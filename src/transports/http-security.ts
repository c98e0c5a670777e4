// Host and Origin checks for /mcp, against DNS rebinding (MCP transport spec: servers MUST
// validate Origin and answer 403 when it is present and invalid). A rebinding page reaches
// this server under the attacker's host name, so the Host header gives it away; a cross-site
// page shows in Origin. Defaults work on loopback and in-cluster; lists override them.
import { isIP } from 'node:net';

export interface HostPolicyOptions {
  /** the address the server binds */
  bindHost: string;
  /** exact host names (optionally host:port) or "*"; empty = defaults for bindHost */
  allowedHosts: readonly string[];
  /** exact origins or "*"; empty = same-origin, plus loopback origins on a loopback bind */
  allowedOrigins: readonly string[];
}

export type Verdict = { ok: true } | { ok: false; reason: string };

const OK: Verdict = { ok: true };

/** Splits "name:port" / "[v6]:port" into a lowercase host name (v6 in brackets) and port. */
export function splitHost(value: string): { name: string; port: string } {
  const v = value.trim().toLowerCase();
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(v);
  if (!m) return { name: v, port: '' };
  return { name: m[1]!.replace(/\.$/, ''), port: m[2] ?? '' };
}

function unbracket(name: string): string {
  return name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
}

export function isLoopbackName(name: string): boolean {
  const n = unbracket(name.toLowerCase());
  if (n === 'localhost' || n.endsWith('.localhost')) return true;
  if (n === '::1' || n === '0:0:0:0:0:0:0:1') return true;
  return isIP(n) === 4 && n.startsWith('127.');
}

/**
 * Names a client inside the cluster uses: a Service's short name, name.namespace.svc(.cluster.local),
 * or an IP literal (a pod or cluster IP). An attacker's rebinding domain is none of these;
 * "name.namespace" is left out because it looks like any public domain.
 */
export function isClusterName(name: string): boolean {
  const n = name.toLowerCase();
  if (isIP(unbracket(n)) !== 0) return true;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(n)) return false;
  const labels = n.split('.');
  return labels.length === 1 || n.endsWith('.svc') || n.endsWith('.svc.cluster.local');
}

export function createHostPolicy(opts: HostPolicyOptions): (host: string | undefined, origin: string | undefined) => Verdict {
  const loopbackBind = isLoopbackName(opts.bindHost);
  const hostList = opts.allowedHosts.map((h) => h.toLowerCase());
  const anyHost = hostList.includes('*');
  const originList = opts.allowedOrigins.map((o) => o.toLowerCase().replace(/\/$/, ''));
  const anyOrigin = originList.includes('*');

  function hostAllowed(name: string, port: string): boolean {
    // A loopback Host means the client really dialled loopback: never a rebinding.
    if (anyHost || isLoopbackName(name)) return true;
    if (hostList.length > 0) return hostList.includes(name) || (port !== '' && hostList.includes(`${name}:${port}`));
    return !loopbackBind && isClusterName(name);
  }

  function originAllowed(origin: string, host: string): boolean {
    if (anyOrigin) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.origin === 'null' || (url.protocol !== 'http:' && url.protocol !== 'https:')) return false;
    if (url.host === host.toLowerCase()) return true; // same origin; Host was checked already
    if (originList.length > 0) return originList.includes(url.origin);
    return loopbackBind && isLoopbackName(url.hostname);
  }

  return (host, origin) => {
    if (host === undefined || host === '') return { ok: false, reason: 'a Host header is required' };
    const { name, port } = splitHost(host);
    if (!hostAllowed(name, port)) {
      return { ok: false, reason: `Host ${JSON.stringify(host)} is not allowed; add it to MCP_ALLOWED_HOSTS` };
    }
    if (origin !== undefined && !originAllowed(origin, host)) {
      return { ok: false, reason: `Origin ${JSON.stringify(origin)} is not allowed; add it to MCP_ALLOWED_ORIGINS` };
    }
    return OK;
  };
}

/**
 * Serving a non-loopback address without a token exposes every tool to the network, so it
 * needs an explicit --allow-unauthenticated. Returns the error message, or null when fine.
 */
export function exposureProblem(bindHost: string, hasTokens: boolean, allowUnauthenticated: boolean): string | null {
  if (hasTokens || allowUnauthenticated || isLoopbackName(bindHost)) return null;
  return (
    `HOST ${bindHost} is not a loopback address and no token is set: set MCP_AUTH_TOKEN or MCP_AUTH_TOKEN_FILE, ` +
    'or pass --allow-unauthenticated (MCP_ALLOW_UNAUTHENTICATED=true) if something else guards the port'
  );
}
