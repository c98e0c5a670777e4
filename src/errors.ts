// Typed errors thrown by domain code. src/mcp/tool-errors.ts is the one place that turns
// them into MCP tool errors, so every message here is written for the agent that reads it.

/** Bad input: names the field and the rule it broke. */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${field}: ${rule}`);
  }
}

/** A thing the caller named does not exist. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** A request that conflicts with the current state (e.g. an invalid status transition). */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** A feature needs configuration that is missing; the message says what to set. */
export class NotConfiguredError extends Error {
  override readonly name = 'NotConfiguredError';
}

/** An upstream (Prometheus, Thanos, PostgreSQL) could not be reached or failed. */
export class UpstreamUnavailableError extends Error {
  override readonly name = 'UpstreamUnavailableError';
}

/** The upstream answered but rejected the request (e.g. bad PromQL). */
export class UpstreamRejectedError extends Error {
  override readonly name = 'UpstreamRejectedError';
  constructor(
    message: string,
    readonly errorType?: string,
  ) {
    super(message);
  }
}

/**
 * This server refused work that would outgrow its own memory bounds (an upstream answer over
 * its size limit, or too many large answers at once); the message names the setting and what to do.
 */
export class CapacityError extends Error {
  override readonly name = 'CapacityError';
}

/** The incident store cannot be used as it is (corrupt, foreign or unwritable files). */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}

/** Message of an unknown thrown value, without a stack. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
