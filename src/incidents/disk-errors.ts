// What a failed file-system call means for the people who read about it: an agent told that
// nothing was saved and why, an operator told which directory to fix. Raw errno text alone
// ("ENOSPC: no space left on device, write") says neither.
import { StoreError, messageOf } from '../errors.js';

const PLAIN: Record<string, string> = {
  ENOSPC: 'the disk holding DATA_DIR is full',
  EDQUOT: 'the disk quota for DATA_DIR is used up',
  EROFS: 'DATA_DIR is on a read-only file system',
  EACCES: 'the server is not allowed to write in DATA_DIR',
  EPERM: 'the server is not allowed to write in DATA_DIR',
  EIO: 'the disk holding DATA_DIR reported an I/O error',
  ENOENT: 'DATA_DIR or a file in it has disappeared',
};

export function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** "the disk holding DATA_DIR is full (/data; ENOSPC: no space left on device, write)", or null for an error that is not the disk's. */
export function diskProblem(err: unknown, dir: string): string | null {
  const code = errnoOf(err);
  const plain = code === undefined ? undefined : PLAIN[code];
  return plain === undefined ? null : `${plain} (${dir}; ${messageOf(err)})`;
}

/**
 * The error a write that failed on the disk reaches its caller as: a StoreError that says
 * nothing was saved and why. Domain errors (not found, conflicts, store errors) pass through.
 */
export function writeFailure(err: unknown, dir: string): unknown {
  const problem = diskProblem(err, dir);
  if (problem === null) return err;
  return new StoreError(`nothing was saved: ${problem}. Retrying succeeds once an operator fixes it; /readyz reports it until then.`);
}
