// The witness's own Ed25519 key: a 32-byte seed, from the environment or a 0600 file made on first start.
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { createFileExclusively } from './state';

export class KeyError extends Error {
  override readonly name = 'KeyError';
  readonly code = 'bad-witness-key';
  readonly retryable = false;
}

/** Decodes a seed written as standard base64 of 32 bytes; the message never contains the value. */
export function decodeSeed(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const seed = Buffer.from(trimmed, 'base64');
  if (seed.length !== 32 || seed.toString('base64') !== trimmed)
    throw new KeyError(`${where}: must be the standard base64 of a 32-byte Ed25519 seed`);
  return seed;
}

/**
 * The seed in `file`, created (random, mode 0600, durable) if it does not exist. A file readable by
 * group or others is refused.
 */
export async function loadOrCreateSeed(
  file: string,
  random: (n: number) => Buffer = randomBytes,
): Promise<{ readonly seed: Buffer; readonly created: boolean }> {
  const created = await createFileExclusively(
    dirname(file),
    basename(file),
    `${random(32).toString('base64')}\n`,
  );
  const mode = (await stat(file)).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new KeyError(`${file}: mode ${mode.toString(8)} lets others read the key; chmod 600 it`);
  return { seed: decodeSeed(await readFile(file, 'utf8'), file), created };
}
