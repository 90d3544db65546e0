// One witness process per state directory: two would each check against their own view and could
// cosign two inconsistent checkpoints. A LOCK file holds the owner's pid; a dead owner's is taken over.
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createFileExclusively, replaceFileAtomically } from './state';

export class StateLockError extends Error {
  override readonly name = 'StateLockError';
  readonly code = 'state-dir-in-use';
  readonly retryable = false;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `dir/LOCK` for this process. Throws StateLockError if a live process holds it. A lock left
 * by a killed process (its pid no longer runs, or is this process's own pid) is taken over.
 */
export async function lockStateDir(dir: string, pid: number = process.pid): Promise<void> {
  const mine = `${pid}\n`;
  if (await createFileExclusively(dir, 'LOCK', mine)) return;
  const holder = Number((await readFile(join(dir, 'LOCK'), 'utf8')).trim());
  if (Number.isSafeInteger(holder) && holder > 0 && holder !== pid && alive(holder))
    throw new StateLockError(`${dir} is in use by the witness with pid ${holder}`);
  await replaceFileAtomically(dir, 'LOCK', mine);
}

/** Releases the lock at a clean stop (a killed process leaves it, to be taken over). */
export async function unlockStateDir(dir: string): Promise<void> {
  await unlink(join(dir, 'LOCK'));
}
