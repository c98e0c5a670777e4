// The package as a user gets it: `npm pack` in a copy of the checkout holding only what git
// tracks (its `prepare` builds dist/), a global install of the tarball into a temporary prefix,
// and the installed bin serving stdio to the SDK client.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT, call, serverEnv, tempDir } from '../helpers/server.js';

const work = tempDir('pim-pack-');
let tarball: string;
let files: string[];

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });

/** A copy of the files git tracks (plus uncommitted edits to them), sharing this checkout's node_modules. */
function cleanCopy(): string {
  const dir = join(work.path, 'src-copy');
  const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(ROOT, f)));
  for (const f of tracked) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(ROOT, f), join(dir, f));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

beforeAll(() => {
  const copy = cleanCopy();
  const out = npm(['pack', '--json', '--pack-destination', work.path], copy);
  const [info] = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = join(work.path, info!.filename);
  files = info!.files.map((f) => f.path);
}, 180_000);
afterAll(() => work.cleanup());

describe('npm pack', () => {
  it('ships the built server, its licence and docs, and nothing that points at a missing file', () => {
    expect(files).toContain('dist/main.js');
    expect(files).toContain('dist/server.cjs');
    // what server.cjs requires when first needed
    for (const f of ['undici', 'prom-client', '@prometheus-io+lezer-promql']) expect(files).toContain(`dist/vendor/${f}.cjs`);
    // the bundle carries other packages' code: their licences travel with it
    expect(files).toContain('dist/THIRD_PARTY_LICENSES.txt');
    // a code cache fits one Node version: each install writes its own
    expect(files.filter((f) => f.endsWith('.cache'))).toEqual([]);
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => /^(src|test|tools)\//.test(f))).toEqual([]);
    // every relative link in the shipped Markdown names a shipped file
    for (const md of files.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(work.path, 'src-copy', md), 'utf8');
      for (const [, target] of text.matchAll(/\]\((?!https?:|#|mailto:)([^)#\s]+)/g)) {
        const path = join(dirname(md), target!).replace(/\/$/, '');
        expect(files.some((f) => f === path || f.startsWith(`${path}/`)), `${md} links to ${target}`).toBe(true);
      }
    }
  });
});

describe('the installed package', () => {
  let bin: string;
  beforeAll(() => {
    const prefix = join(work.path, 'prefix');
    npm(['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball], work.path);
    bin = join(prefix, 'bin', 'prom-incident-mcp');
  }, 180_000);

  it('prints its version', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()).toBe(version);
  });

  it('serves stdio to the SDK client from its bin, with no Prometheus configured', async () => {
    const data = join(work.path, 'data');
    const transport = new StdioClientTransport({ command: bin, args: [], env: serverEnv({ DATA_DIR: data }), stderr: 'pipe' });
    const client = new Client({ name: 'vitest-package', version: '1.0.0' });
    await client.connect(transport);
    try {
      const made = await call(client, 'create_incident', { title: 'from the package', description: 'installed from the tarball', severity: 'low', target: 'ci' });
      expect(made.isError).toBeFalsy();
      const listed = await call(client, 'list_incidents', {});
      expect(listed.structuredContent).toMatchObject({ total: 1 });
      const metrics = await call(client, 'query_metrics', { query: 'up' });
      expect(metrics.isError).toBe(true);
      expect(JSON.stringify(metrics.content)).toMatch(/PROMETHEUS_URL/);
    } finally {
      await client.close();
    }
    expect(readdirSync(data)).toContain('incidents.journal');
  });

  it('queries Prometheus from its bin, through the HTTP client it loads when first needed', async () => {
    const env = serverEnv({ DATA_DIR: join(work.path, 'data-prometheus'), PROMETHEUS_URL: inject('prometheusUrl') });
    const transport = new StdioClientTransport({ command: bin, args: [], env, stderr: 'pipe' });
    const client = new Client({ name: 'vitest-package', version: '1.0.0' });
    await client.connect(transport);
    try {
      const up = await call(client, 'query_metrics', { query: 'up' });
      expect(up.isError).toBeFalsy();
      expect(up.structuredContent).toMatchObject({ result_type: 'vector' });
    } finally {
      await client.close();
    }
  });
});
