// The client configurations under examples/: they parse, and every way of reaching a server
// that needs a token (the in-cluster endpoint) sends one.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/server.js';

const read = (f: string) => readFileSync(join(ROOT, 'examples', f), 'utf8');

describe('client examples', () => {
  it('VS Code: the token-protected HTTP entry sends Authorization from a password input', () => {
    const cfg = JSON.parse(read('vscode-mcp.json')) as { inputs: { id: string; password?: boolean }[]; servers: Record<string, Record<string, any>> };
    const http = Object.values(cfg.servers).filter((s) => s.type === 'http');
    const withToken = http.filter((s) => s.headers?.Authorization);
    expect(withToken.length).toBeGreaterThan(0);
    for (const s of withToken) {
      const id = /^Bearer \$\{input:([\w-]+)\}$/.exec(s.headers.Authorization)?.[1];
      expect(cfg.inputs.find((i) => i.id === id)).toMatchObject({ password: true });
    }
  });

  it('Claude Code: the script is valid sh and has a bearer-token HTTP variant', () => {
    execFileSync('sh', ['-n', join(ROOT, 'examples/claude-code.sh')]);
    const script = read('claude-code.sh');
    expect(script).toMatch(/claude mcp add --transport http \S+ http:\/\/prom-incident-mcp\.prom-incident-mcp\.svc:8080\/mcp \\\n#\s+--header "Authorization: Bearer \$MCP_TOKEN"/);
  });
});
