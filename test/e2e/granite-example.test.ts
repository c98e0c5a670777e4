// examples/granite-agent runs as its README says, against this server. Ollama cannot be
// installed here, so a small stand-in for its OpenAI-compatible endpoint plays the model:
// first it calls a tool, then it answers from the tool's result.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, serverEnv, tempDir } from '../helpers/server.js';

interface ChatRequest {
  model: string;
  tools: { function: { name: string; parameters: { type: string } } }[];
  messages: { role: string; content: string | null; tool_call_id?: string }[];
}

/** Runs the agent as its README says (npx tsx), with these arguments. */
function runAgent(agent: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', agent, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples/granite-agent', () => {
  it('runs a tool call through the server and prints the model\'s answer, from a checkout whose path has spaces', async () => {
    const requests: ChatRequest[] = [];
    const model = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const chat = JSON.parse(body) as ChatRequest;
        requests.push(chat);
        const toolResult = chat.messages.find((m) => m.role === 'tool');
        const message = toolResult
          ? { role: 'assistant', content: `ANSWER: ${toolResult.content?.split('\n')[0]}` }
          : {
              role: 'assistant',
              content: null,
              tool_calls: [{ id: 'call-1', type: 'function', function: { name: 'create_incident', arguments: '{"title":"Disk full","description":"node-1 disk 98%","severity":"high","target":"node/node-1"}' } }],
            };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message }] }));
      });
    });
    await new Promise<void>((r) => model.listen(0, '127.0.0.1', () => r()));
    const port = (model.address() as { port: number }).port;
    const dir = tempDir();
    // the example as in a checkout under a path with spaces: its files copied, dist and node_modules linked
    const checkout = join(dir.path, 'my projects', 'prom incident mcp');
    mkdirSync(join(checkout, 'examples'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(checkout, 'package.json'));
    cpSync(join(ROOT, 'examples/granite-agent'), join(checkout, 'examples/granite-agent'), { recursive: true });
    symlinkSync(join(ROOT, 'dist'), join(checkout, 'dist'));
    symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
    const out = await runAgent(join(checkout, 'examples/granite-agent/agent.ts'), ['--ollama', `http://127.0.0.1:${port}/v1`, '--ask', 'Record that node-1 disk is full.'], serverEnv({ DATA_DIR: dir.path }));
    model.close();
    dir.cleanup();
    expect(out.code, out.stderr).toBe(0);
    expect(requests[0]!.model).toBe('granite3.3:8b');
    expect(requests[0]!.tools.map((t) => t.function.name)).toContain('build_features');
    expect(requests[0]!.messages[0]!.content).toMatch(/Usual order: build_features/); // the server's instructions
    expect(out.stderr).toContain('> create_incident');
    expect(out.stdout).toMatch(/ANSWER: Created inc-[0-9a-f]{16}/);
  }, 60_000);

  it('says in one line which URL it tried and how to start Ollama when nothing listens there, and exits non-zero', async () => {
    // a port that was free a moment ago: nothing listens on it
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const dir = tempDir();
    const out = await runAgent(join(ROOT, 'examples/granite-agent/agent.ts'), ['--ollama', `http://127.0.0.1:${port}/v1`, '--ask', 'anything'], serverEnv({ DATA_DIR: dir.path }));
    dir.cleanup();
    expect(out.code).toBe(1);
    const lines = out.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines, out.stderr).toEqual([expect.stringContaining(`cannot reach Ollama at http://127.0.0.1:${port}/v1/chat/completions (ECONNREFUSED)`)]);
    expect(lines[0]).toMatch(/ollama serve.*--ollama/);
    expect(out.stdout).toBe('');
  }, 60_000);
});
