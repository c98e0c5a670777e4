// What a tool file exports: schemas, annotations, description and a handler. The dispatcher
// (./dispatcher.ts) does validation, error mapping and the MCP wire shape for all of them.
import type { ToolAnnotations } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { App } from '../app.js';
import type { Logger } from '../log.js';

export interface ToolContext {
  app: App;
  log: Logger;
  /** the MCP client's name from initialize, when it gave one */
  clientName: string | undefined;
  /** aborted when the client cancels the call or the call times out */
  signal: AbortSignal;
}

export interface ToolOutput<O> {
  /** the structuredContent; must satisfy the tool's output schema */
  structured: O;
  /** short human-readable rendering of the same data, for clients that show only text */
  text: string;
}

/** Every hint is required so no tool can ship with its behaviour undeclared. */
export type Annotations = Required<Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>> &
  Pick<ToolAnnotations, 'title'>;

export interface ToolDef<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  description: string;
  input: I;
  output: O;
  annotations: Annotations;
  handler(args: z.output<I>, ctx: ToolContext): Promise<ToolOutput<z.input<O>>>;
}

/** Identity helper that keeps the handler's argument and result types tied to the schemas. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(def: ToolDef<I, O>): ToolDef<I, O> {
  return def;
}
