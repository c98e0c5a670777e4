// Pool clients held safely, and PostgreSQL outages told apart from refusals. A pg client whose
// connection breaks emits 'error' even while a query of it is failing; with no listener that
// event ends the process, and the pool only listens while a client is idle. So every checkout
// goes through checkout(), and a client that errored goes back with its error, to be destroyed.
import type pg from 'pg';
import { UpstreamUnavailableError, messageOf } from '../errors.js';

/** A checked-out client that cannot crash the process; release() exactly once. */
export interface Held {
  client: pg.PoolClient;
  /** the error the connection failed with while held, if it did */
  readonly lost: Error | undefined;
  /** back to the pool; with an error (or after a connection error) the pool destroys it */
  release(err?: Error): void;
}

export async function checkout(pool: pg.Pool): Promise<Held> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (err: Error) => (lost ??= err);
  client.on('error', onError);
  return {
    client,
    get lost() {
      return lost;
    },
    release(err) {
      client.removeListener('error', onError);
      client.release(err ?? lost);
    },
  };
}

// SQLSTATE 57P01-57P03: shut down by an administrator, by a crash, or not yet accepting
// connections; class 08: connection exceptions.
const OUTAGE_SQLSTATE = /^(57P0[123]|08...)$/;
const OUTAGE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// what pg and pg-pool say about a connection they lost or could not make (they set no code)
const OUTAGE_MESSAGE = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;
const NOT_CONNECTED = /^(connect |timeout exceeded when trying to connect|the database system is (starting up|shutting down|in recovery mode|not yet accepting connections))/;

/** Whether err means PostgreSQL is down or the connection to it broke (worth retrying later). */
export function isOutage(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && (OUTAGE_SQLSTATE.test(code) || OUTAGE_ERRNO.has(code))) return true;
  return OUTAGE_MESSAGE.test(messageOf(err));
}

/** What an outage meant for the call, for the agent that made it. */
export const OUTCOME = {
  read: 'retry when it is back',
  notSaved: 'the change was not saved; retry when it is back',
  // the COMMIT was sent and no answer came: the server may have committed it
  unknown: 'whether the change was saved is unknown: look for it before retrying, so it is not made twice',
} as const;

/** The tool error for an outage: what happened to PostgreSQL, then what it meant for this call. */
export function outageError(err: unknown, outcome: string): UpstreamUnavailableError {
  const text = messageOf(err).split('\n')[0]!;
  const state = NOT_CONNECTED.test(text) ? 'is unreachable' : 'went away';
  return new UpstreamUnavailableError(`PostgreSQL (the incident store) ${state} (${text}); ${outcome}`);
}
