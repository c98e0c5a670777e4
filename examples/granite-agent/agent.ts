// A small agent loop: a local model (IBM Granite via Ollama's OpenAI-compatible API) uses
// prom-incident-mcp's tools over stdio. Needs a running Ollama with the model pulled
// (`ollama pull granite3.3:8b`); not part of CI.
//
//   npm run build
//   PROMETHEUS_URL=http://127.0.0.1:9090 npx tsx examples/granite-agent/agent.ts \
//     --prompt investigate_namespace --arg namespace=payments
//   npx tsx examples/granite-agent/agent.ts --ask "Which namespace uses the most CPU?"
//
// Options: --model (default granite3.3:8b), --ollama (default http://127.0.0.1:11434/v1), --turns (default 12).
import { Client, type CallToolResult } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { fileURLToPath } from 'node:url';
import { resultText, toOpenAiTools } from './openai-tools.js';

interface Message {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

function option(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
}
const model = option('--model', 'granite3.3:8b')!;
const base = option('--ollama', 'http://127.0.0.1:11434/v1')!;
const turns = Number(option('--turns', '12'));

const transport = new StdioClientTransport({
  command: process.execPath,
  // fileURLToPath, not .pathname: a checkout under a path with spaces is %20 in a URL
  args: [fileURLToPath(new URL('../../dist/main.js', import.meta.url))],
  env: { ...(process.env as Record<string, string>), LOG_LEVEL: 'warn' },
});
const mcp = new Client({ name: 'granite-agent', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
await mcp.connect(transport);
const tools = toOpenAiTools((await mcp.listTools()).tools);

let task = option('--ask');
const promptName = option('--prompt');
if (promptName) {
  const args: Record<string, string> = {};
  process.argv.forEach((a, i) => {
    if (a === '--arg') {
      const [k, ...v] = (process.argv[i + 1] ?? '').split('=');
      args[k!] = v.join('=');
    }
  });
  const p = await mcp.getPrompt({ name: promptName, arguments: args });
  task = p.messages.map((m) => (m.content.type === 'text' ? m.content.text : '')).join('\n');
}
if (!task) {
  console.error('give --ask "question" or --prompt NAME [--arg key=value ...]');
  process.exit(2);
}

/** One line, no stack trace, exit code 1. */
async function fail(line: string): Promise<never> {
  console.error(line);
  await mcp.close();
  process.exit(1);
}

const messages: Message[] = [
  { role: 'system', content: `${mcp.getInstructions() ?? ''}\nCall one tool at a time. Answer with facts and numbers from the tools only.` },
  { role: 'user', content: task },
];
for (let turn = 0; turn < turns; turn++) {
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages, tools, temperature: 0 }),
  }).catch((err: unknown) => {
    const why = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return fail(`cannot reach Ollama at ${base}/chat/completions (${why}): start it with "ollama serve" (and "ollama pull ${model}"), or pass --ollama <its OpenAI-compatible URL, e.g. http://host:11434/v1>`);
  });
  if (!res.ok) await fail(`${base}/chat/completions answered ${res.status}: ${(await res.text()).slice(0, 300).replace(/\s+/g, ' ')}${res.status === 404 ? ` (is the model pulled? "ollama pull ${model}")` : ''}`);
  const msg = ((await res.json()) as { choices: { message: Message }[] }).choices[0]!.message;
  messages.push(msg);
  if (!msg.tool_calls?.length) {
    console.log(`\n${msg.content}`);
    break;
  }
  for (const call of msg.tool_calls) {
    let args: Record<string, unknown> = {};
    try {
      args = JSON.parse(call.function.arguments || '{}') as Record<string, unknown>;
    } catch {
      // a malformed call still gets an answer the model can correct from
    }
    console.error(`> ${call.function.name} ${JSON.stringify(args)}`);
    const r = (await mcp.callTool({ name: call.function.name, arguments: args })) as CallToolResult;
    const text = resultText(r);
    console.error(text.split('\n').slice(0, 3).join('\n'));
    messages.push({ role: 'tool', tool_call_id: call.id, content: text });
  }
}
await mcp.close();
