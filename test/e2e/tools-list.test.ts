// What agents see: the whole tools/list answer as served over MCP, kept in a snapshot so every
// change to names, descriptions or schemas shows in review; every tool declares its behaviour.
import { describe, expect, it } from 'vitest';
import { toolListing } from '../../src/mcp/dispatcher.js';
import { TOOLS } from '../../src/tools/index.js';
import { connectStdio, tempDir } from '../helpers/server.js';

const HINTS = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const;

describe('tools/list', () => {
  it('matches the reviewed snapshot, and every tool has all four annotations, an output schema and an example', async () => {
    const dir = tempDir();
    const c = await connectStdio({ DATA_DIR: dir.path });
    const { tools } = await c.client.listTools();
    const { prompts } = await c.client.listPrompts();
    await c.close();
    dir.cleanup();
    for (const t of tools) {
      for (const h of HINTS) expect(typeof t.annotations?.[h], `${t.name}.${h}`).toBe('boolean');
      expect(t.outputSchema, t.name).toBeDefined();
      expect(t.title, t.name).toBeTruthy();
      expect(t.description, t.name).toMatch(/Example: \{/);
      // a tool that changes nothing must say so; one that writes must not claim to be read-only
      expect(t.annotations!.readOnlyHint, t.name).toBe(!/^(create|update)_/.test(t.name));
    }
    // a model learns what a prompt argument is for only from its description, optional ones too
    for (const p of prompts) for (const a of p.arguments ?? []) expect(a.description, `${p.name}.${a.name}`).toBeTruthy();
    const json = `${JSON.stringify({ tools, prompts }, null, 2)}\n`;
    await expect(json).toMatchFileSnapshot('../snapshots/tools-list.json');
    // the budget every agent pays on every turn (characters / 4 as tokens)
    expect(JSON.stringify({ tools }).length / 4).toBeLessThan(3000);
  });

  it('is, from the built server, what the sources define: the build computes it, not the start', async () => {
    const dir = tempDir();
    const c = await connectStdio({ DATA_DIR: dir.path });
    const { tools } = await c.client.listTools();
    await c.close();
    dir.cleanup();
    expect(tools).toEqual(JSON.parse(JSON.stringify(toolListing(TOOLS))));
  });
});
