// The one place where failures become MCP tool errors (isError: true) with a message an
// agent can act on: the field and the rule for bad input, what to set for missing
// configuration, what failed upstream. Never a stack trace.
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { describeIssue } from '../zod-issues.js';
import {
  CapacityError,
  ConflictError,
  InputError,
  NotConfiguredError,
  NotFoundError,
  StoreError,
  UpstreamRejectedError,
  UpstreamUnavailableError,
} from '../errors.js';

type Issue = z.core.$ZodIssue;

export function toolError(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

export function inputErrorResult(tool: string, issues: readonly Issue[], knownFields: readonly string[]): CallToolResult {
  const lines = issues.slice(0, 10).map(describeIssue);
  if (issues.length > 10) lines.push(`(${issues.length - 10} more problems)`);
  const unknown = issues.some((i) => i.code === 'unrecognized_keys' && i.path.length === 0);
  const hint = unknown ? `\nKnown fields: ${knownFields.join(', ')}.` : '';
  return toolError(`Invalid arguments for ${tool}:\n${lines.map((l) => `- ${l}`).join('\n')}${hint}`);
}

/** Maps a thrown error to a tool error; unexpected errors get a generic message (logged by the caller). */
export function errorResult(tool: string, err: unknown): { result: CallToolResult; expected: boolean } {
  if (err instanceof InputError) return { result: toolError(`Invalid arguments for ${tool}:\n- ${err.message}`), expected: true };
  if (err instanceof NotFoundError) return { result: toolError(`Not found: ${err.message}`), expected: true };
  if (err instanceof ConflictError) return { result: toolError(`Not allowed: ${err.message}`), expected: true };
  if (err instanceof NotConfiguredError) return { result: toolError(`Not configured: ${err.message}`), expected: true };
  if (err instanceof UpstreamRejectedError) return { result: toolError(err.message), expected: true };
  if (err instanceof UpstreamUnavailableError) return { result: toolError(err.message), expected: true };
  if (err instanceof CapacityError) return { result: toolError(err.message), expected: true };
  if (err instanceof StoreError) return { result: toolError(`Incident store error: ${err.message}`), expected: false };
  return { result: toolError(`Internal error in ${tool}; the server log has the details. Retrying may help.`), expected: false };
}
