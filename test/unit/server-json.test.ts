// server.json is what the MCP registry publishes about this package. The registry's JSON schema
// cannot be fetched at test time (no npm package ships it), so its documented rules for schema
// version 2025-12-11 (https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json:
// ServerDetail, Package, StdioTransport/StreamableHttpTransport, KeyValueInput) are written here
// as zod, strict where the registry's schema forbids unknown fields.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LOG_LEVELS } from '../../src/log.js';

const ROOT = join(import.meta.dirname, '../..');
const SCHEMA_URL = 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json';

// "Version ranges are rejected (e.g., '^1.2.3', '~1.2.3', '>=1.2.3', '1.x', '1.*')", and "latest" too.
const ExactVersion = z
  .string()
  .min(1)
  .max(255)
  .refine((v) => v !== 'latest' && !/[\^~<>=*|\s]|\.x\b/i.test(v), 'must be one exact version');

const Input = z.object({
  description: z.string().optional(),
  isRequired: z.boolean().optional(),
  format: z.enum(['string', 'number', 'boolean', 'filepath']).optional(),
  value: z.string().optional(),
  isSecret: z.boolean().optional(),
  default: z.string().optional(),
  placeholder: z.string().optional(),
  choices: z.array(z.string()).optional(),
});
const KeyValueInput = Input.extend({ name: z.string().min(1), variables: z.record(z.string(), Input).optional() });

const Transport = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stdio') }),
  z.object({ type: z.literal('streamable-http'), url: z.string().min(1), headers: z.array(KeyValueInput).optional() }),
  z.object({ type: z.literal('sse'), url: z.url(), headers: z.array(KeyValueInput).optional() }),
]);

const Package = z.strictObject({
  registryType: z.string().min(1),
  registryBaseUrl: z.url().optional(),
  identifier: z.string().min(1),
  version: ExactVersion,
  fileSha256: z.string().regex(/^[a-f0-9]{64}$/).optional(),
  runtimeHint: z.string().optional(),
  transport: Transport,
  runtimeArguments: z.array(z.unknown()).optional(),
  packageArguments: z.array(z.unknown()).optional(),
  environmentVariables: z.array(KeyValueInput).optional(),
});

const ServerDetail = z.strictObject({
  $schema: z.literal(SCHEMA_URL),
  name: z.string().min(3).max(200).regex(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/),
  title: z.string().min(1).max(100).optional(),
  description: z.string().min(1).max(100),
  version: ExactVersion,
  repository: z.object({ url: z.url(), source: z.string(), id: z.string().optional(), subfolder: z.string().optional() }).optional(),
  websiteUrl: z.url().optional(),
  packages: z.array(Package).optional(),
  remotes: z.array(z.unknown()).optional(),
  _meta: z.record(z.string(), z.unknown()).optional(),
});

const readJson = (name: string) => JSON.parse(readFileSync(join(ROOT, name), 'utf8')) as Record<string, unknown>;
const server = readJson('server.json');
const pkg = readJson('package.json');
const parsed = ServerDetail.safeParse(server);

/** Every setting the server reads appears by name, in quotes, somewhere in src/. */
function sourceText(dir = join(ROOT, 'src')): string {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

describe('server.json', () => {
  it('follows the registry schema (2025-12-11)', () => {
    expect(parsed.error?.issues ?? []).toEqual([]);
  });

  it('names this npm package at its current version, matching package.json', () => {
    expect(pkg.mcpName).toBe(server.name);
    expect(server.version).toBe(pkg.version);
    for (const p of parsed.data!.packages!) {
      expect(p).toMatchObject({ registryType: 'npm', identifier: pkg.name, version: pkg.version });
    }
    expect(parsed.data!.packages!.map((p) => p.transport.type).sort()).toEqual(['stdio', 'streamable-http']);
  });

  it('lists only settings the server reads, with descriptions, secrets marked', () => {
    const src = sourceText();
    for (const p of parsed.data!.packages!) {
      for (const v of p.environmentVariables ?? []) {
        expect(src, v.name).toContain(`'${v.name}'`);
        expect(v.description, v.name).toBeTruthy();
        if (/TOKEN$|PASSWORD|DATABASE_URL|HEADERS/.test(v.name)) expect(v.isSecret, v.name).toBe(true);
        if (v.name === 'LOG_LEVEL') expect(v.choices).toEqual([...LOG_LEVELS]);
      }
    }
  });

  it('catches what the registry would refuse', () => {
    const bad = { ...server, name: 'no-slash', version: '^0.1.0', extra: 1 };
    const paths = ServerDetail.safeParse(bad).error?.issues.map((i) => i.path.join('.') || i.code);
    expect(paths).toEqual(expect.arrayContaining(['name', 'version', 'unrecognized_keys']));
  });
});
