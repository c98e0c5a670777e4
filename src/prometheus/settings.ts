// From configuration to client settings, with the in-cluster defaults: the ServiceAccount
// token and the service CA are used for an https URL when they exist and nothing else is set.
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import { SERVICE_ACCOUNT_TOKEN } from './auth.js';
import type { ClientSettings } from './client.js';

export const SERVICE_CA_FILES = [
  '/var/run/secrets/kubernetes.io/serviceaccount/service-ca.crt', // OpenShift's service CA
  '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
];

/** user:password in a URL as basic auth (undici would drop it), and the URL without it. */
function splitUserinfo(url: string): { url: string; username: string | null; password: string | null } {
  const u = new URL(url);
  if (!u.username) return { url, username: null, password: null };
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  return { url: u.toString().replace(/\/$/, ''), username, password };
}

export function clientSettings(c: Config, exists: (p: string) => boolean = existsSync): ClientSettings | null {
  if (!c.prometheusUrl) return null;
  const fromUrl = splitUserinfo(c.prometheusUrl);
  const thanos = c.thanosUrl;
  const username = c.prometheusUsername ?? fromUrl.username;
  const password = c.prometheusUsername ? c.prometheusPassword : fromUrl.username ? fromUrl.password : c.prometheusPassword;
  const tls = [c.prometheusUrl, c.thanosUrl].some((u) => u?.startsWith('https:'));
  const explicitAuth = c.prometheusToken || c.prometheusTokenFile || username;
  // Only over TLS: never send the ServiceAccount token in clear text to a configured URL.
  const tokenFile = c.prometheusTokenFile ?? (!explicitAuth && tls && exists(SERVICE_ACCOUNT_TOKEN) ? SERVICE_ACCOUNT_TOKEN : null);
  const caFile = c.prometheusCaFile ?? (tls ? (SERVICE_CA_FILES.find(exists) ?? null) : null);
  return {
    url: fromUrl.url,
    thanosUrl: thanos,
    routingThresholdMs: c.queryRoutingThresholdMs,
    timeoutMs: c.prometheusTimeoutMs,
    cacheTtlMs: c.prometheusCacheTtlMs,
    cacheMaxBytes: c.prometheusCacheMaxMb * 1024 * 1024,
    maxResponseBytes: c.prometheusMaxAnswerMb * 1024 * 1024,
    maxInflightBytes: c.prometheusMaxInflightMb * 1024 * 1024,
    auth: {
      token: c.prometheusToken,
      tokenFile,
      username,
      password,
      headers: c.prometheusHeaders,
    },
    caFile,
    insecureSkipVerify: c.prometheusInsecureSkipVerify,
    thanos: {
      dedup: c.thanosDedup,
      partialResponse: c.thanosPartialResponse,
      maxSourceResolution: c.thanosMaxSourceResolution,
    },
  };
}

/** Settings for a plain, unauthenticated client of `url` (tests, benchmarks), with overrides. */
export function plainSettings(url: string, over: Partial<ClientSettings> = {}): ClientSettings {
  return {
    url,
    thanosUrl: null,
    routingThresholdMs: 15 * 60_000,
    timeoutMs: 10_000,
    cacheTtlMs: 300_000,
    cacheMaxBytes: 64 << 20,
    auth: { token: null, tokenFile: null, username: null, password: null, headers: {} },
    caFile: null,
    insecureSkipVerify: false,
    thanos: { dedup: null, partialResponse: null, maxSourceResolution: null },
    ...over,
  };
}
