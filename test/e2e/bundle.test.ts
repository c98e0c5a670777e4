// What the build (tools/bundle.ts) ships beside the bundle: the licences of the code inside it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/server.js';

const licences = () => readFileSync(join(ROOT, 'dist/THIRD_PARTY_LICENSES.txt'), 'utf8');

describe('dist/THIRD_PARTY_LICENSES.txt', () => {
  it('carries the licences of packages bundled inside a bundled package', () => {
    // @modelcontextprotocol/server's own build puts ajv (JSON Schema validation) and the packages
    // ajv uses into its dist files: their code is in server.cjs although no node_modules path of
    // theirs is an input of our bundle.
    const text = licences();
    for (const [name, holder] of [
      ['ajv', 'Evgeny Poberezkin'],
      ['ajv-formats', 'Evgeny Poberezkin'],
      ['fast-deep-equal', 'Evgeny Poberezkin'],
      ['json-schema-traverse', 'Evgeny Poberezkin'],
      ['fast-uri', 'The Fastify team'],
      ['content-type', 'Douglas Christopher Wilson'],
    ]) {
      const section = text.split(/\n-{72}\n/).find((s) => s.trimStart().startsWith(`${name} `));
      expect(section, name).toBeDefined();
      expect(section, name).toContain(holder);
    }
  });
});
