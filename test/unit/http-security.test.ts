import { describe, expect, it } from 'vitest';
import { createHostPolicy, exposureProblem, isClusterName, isLoopbackName, splitHost } from '../../src/transports/http-security.js';

const loopback = createHostPolicy({ bindHost: '127.0.0.1', allowedHosts: [], allowedOrigins: [] });
const cluster = createHostPolicy({ bindHost: '0.0.0.0', allowedHosts: [], allowedOrigins: [] });

describe('Host and Origin checks', () => {
  it('splits host headers, IPv6 included', () => {
    expect(splitHost('Example.COM:8080')).toEqual({ name: 'example.com', port: '8080' });
    expect(splitHost('[::1]:80')).toEqual({ name: '[::1]', port: '80' });
    expect(splitHost('svc.')).toEqual({ name: 'svc', port: '' });
  });

  it('knows loopback and in-cluster names', () => {
    for (const n of ['localhost', '127.0.0.1', '127.9.9.9', '[::1]', 'app.localhost']) expect(isLoopbackName(n), n).toBe(true);
    for (const n of ['10.0.0.1', 'localhost.evil.com', '[::2]', 'example.com']) expect(isLoopbackName(n), n).toBe(false);
    for (const n of ['prom-incident-mcp', 'mcp.observability.svc', 'mcp.observability.svc.cluster.local', '10.128.2.7', '[fd00::7]']) {
      expect(isClusterName(n), n).toBe(true);
    }
    for (const n of ['evil.com', 'mcp.observability', 'x.svc.evil.com', 'a..b', '-x']) expect(isClusterName(n), n).toBe(false);
  });

  it('on a loopback bind accepts only loopback hosts and origins', () => {
    expect(loopback('127.0.0.1:8080', undefined)).toEqual({ ok: true });
    expect(loopback('localhost:8080', 'http://localhost:6274')).toEqual({ ok: true });
    // DNS rebinding: the attacker's name now resolves to 127.0.0.1
    expect(loopback('rebind.evil.com:8080', undefined)).toMatchObject({ ok: false, reason: expect.stringMatching(/Host .* not allowed/) });
    expect(loopback('prom-incident-mcp:8080', undefined).ok).toBe(false);
    expect(loopback('127.0.0.1:8080', 'https://evil.com')).toMatchObject({ ok: false, reason: expect.stringMatching(/Origin .* not allowed/) });
    expect(loopback('127.0.0.1:8080', 'null').ok).toBe(false);
    expect(loopback('127.0.0.1:8080', 'file://x').ok).toBe(false);
    expect(loopback(undefined, undefined).ok).toBe(false);
  });

  it('in-cluster accepts Service names and IPs, refuses public names and foreign origins', () => {
    for (const h of ['prom-incident-mcp:8080', 'prom-incident-mcp.obs.svc:8080', 'prom-incident-mcp.obs.svc.cluster.local', '10.1.2.3:8080', 'localhost:8080']) {
      expect(cluster(h, undefined), h).toEqual({ ok: true });
    }
    expect(cluster('evil.com', undefined).ok).toBe(false);
    expect(cluster('prom-incident-mcp.obs.svc:8080', 'http://prom-incident-mcp.obs.svc:8080')).toEqual({ ok: true }); // same origin
    expect(cluster('prom-incident-mcp:8080', 'https://evil.com').ok).toBe(false);
    expect(cluster('prom-incident-mcp:8080', 'http://localhost:3000').ok).toBe(false);
  });

  it('takes allow-lists that replace the defaults, and "*"', () => {
    const p = createHostPolicy({ bindHost: '0.0.0.0', allowedHosts: ['mcp.example.com', 'other.example.com:8443'], allowedOrigins: ['https://agent.example.com'] });
    expect(p('mcp.example.com', undefined)).toEqual({ ok: true });
    expect(p('MCP.example.com:443', 'https://agent.example.com')).toEqual({ ok: true });
    expect(p('other.example.com:8443', undefined)).toEqual({ ok: true });
    expect(p('other.example.com:9000', undefined).ok).toBe(false);
    expect(p('prom-incident-mcp', undefined).ok).toBe(false); // the list replaces the cluster defaults
    expect(p('localhost:8080', undefined)).toEqual({ ok: true }); // port-forward keeps working
    expect(p('mcp.example.com', 'https://agent.example.com.evil.com').ok).toBe(false);
    const open = createHostPolicy({ bindHost: '127.0.0.1', allowedHosts: ['*'], allowedOrigins: ['*'] });
    expect(open('anything.example', 'https://anywhere.example')).toEqual({ ok: true });
  });

  it('refuses to expose tools on a non-loopback address without a token', () => {
    expect(exposureProblem('0.0.0.0', false, false)).toMatch(/HOST 0\.0\.0\.0 is not a loopback address .*MCP_AUTH_TOKEN.*--allow-unauthenticated/);
    expect(exposureProblem('0.0.0.0', true, false)).toBeNull();
    expect(exposureProblem('0.0.0.0', false, true)).toBeNull();
    expect(exposureProblem('127.0.0.1', false, false)).toBeNull();
    expect(exposureProblem('::1', false, false)).toBeNull();
  });
});
