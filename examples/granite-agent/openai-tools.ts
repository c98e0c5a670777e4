// MCP tools as OpenAI-style function tools (what Ollama's /v1/chat/completions accepts), and
// tool results as the text a model reads.
import type { CallToolResult, Tool } from '@modelcontextprotocol/client';

export interface OpenAiTool {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export function toOpenAiTools(tools: Tool[]): OpenAiTool[] {
  return tools.map((t) => ({
    type: 'function',
    function: { name: t.name, description: t.description ?? '', parameters: t.inputSchema as Record<string, unknown> },
  }));
}

/** The text of a tool result, marked when it is an error, bounded for a small model's context. */
export function resultText(r: CallToolResult, max = 6000): string {
  const text = r.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
  const body = text.length > max ? `${text.slice(0, max)}\n[cut at ${max} characters]` : text;
  return r.isError ? `ERROR: ${body}` : body;
}
