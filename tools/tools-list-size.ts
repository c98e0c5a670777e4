// Prints what tools/list costs an agent on every turn: characters and approximate tokens
// (characters / 4) per tool and in total, measured on the real server's answer over stdio.
//   npx tsx tools/tools-list-size.ts [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const dataDir = mkdtempSync(join(tmpdir(), 'pim-size-'));
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [new URL('../dist/main.js', import.meta.url).pathname],
  env: { ...(process.env as Record<string, string>), DATA_DIR: dataDir, LOG_LEVEL: 'error' },
});
const client = new Client({ name: 'tools-list-size', version: '1' });
await client.connect(transport);
const { tools } = await client.listTools();
await client.close();
rmSync(dataDir, { recursive: true, force: true });

const tokens = (chars: number) => Math.ceil(chars / 4);
const rows = tools.map((t) => ({
  tool: t.name,
  description: t.description?.length ?? 0,
  input: JSON.stringify(t.inputSchema).length,
  output: JSON.stringify(t.outputSchema ?? {}).length,
  chars: JSON.stringify(t).length,
}));
const total = JSON.stringify({ tools }).length;
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ tools: rows, totalChars: total, totalTokens: tokens(total) }));
} else {
  console.log('tool                  desc  input output  chars  ~tokens');
  for (const r of rows) {
    console.log(
      `${r.tool.padEnd(20)} ${String(r.description).padStart(5)} ${String(r.input).padStart(6)} ${String(r.output).padStart(6)} ${String(r.chars).padStart(6)} ${String(tokens(r.chars)).padStart(8)}`,
    );
  }
  console.log(`total tools/list: ${total} chars, ~${tokens(total)} tokens (chars/4); budget 3,000 tokens`);
}
