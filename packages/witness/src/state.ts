// Durable per-origin state: one small JSON file per log, replaced atomically.
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { LogState } from './decide';

export interface StateStore {
  /** The last state written for `origin`, or undefined if none ever was. */
  read(origin: string): Promise<LogState | undefined>;
  /** MUST return only once `state` is durable (survives a crash or power loss). */
  write(state: LogState): Promise<void>;
  /** The origin whose state is kept under `hash` (hex SHA-256 of the origin), if any. */
  originOf?(hash: string): Promise<string | undefined>;
}

/** Thrown when a state file exists but cannot be read: the witness MUST NOT treat it as empty. */
export class StateCorruptError extends Error {
  override readonly name = 'StateCorruptError';
  readonly code = 'state-corrupt';
  readonly retryable = false;
}

const stateFileSchema = z.object({
  origin: z.string().min(1),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  rootHash: z.base64().refine((s) => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes'),
  note: z.string(),
  cosignature: z.string().optional(),
});

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeTemp(dir: string, name: string, data: string, mode: number): Promise<string> {
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return tmp;
}

/**
 * Replaces `dir/name` with `data` atomically: write a temporary file, fsync it, rename it over the
 * target, fsync the directory. After a crash the file holds the old or the new bytes, never a mix.
 */
export async function replaceFileAtomically(
  dir: string,
  name: string,
  data: string,
): Promise<void> {
  const tmp = await writeTemp(dir, name, data, 0o600);
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
}

/**
 * Creates `dir/name` with `data` only if it does not exist yet (link(2) refuses to overwrite), fully
 * written and durable, mode 0600. Returns false if the file already existed.
 */
export async function createFileExclusively(
  dir: string,
  name: string,
  data: string,
): Promise<boolean> {
  const tmp = await writeTemp(dir, name, data, 0o600);
  try {
    await link(tmp, join(dir, name));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp);
    await fsyncDir(dir);
  }
}

/** Removes temporary files a killed process left behind; they never hold a committed state. */
export async function removeLeftoverTemps(dir: string): Promise<number> {
  const names = await readdir(dir);
  const temps = names.filter((n) => n.startsWith('.') && n.endsWith('.tmp'));
  await Promise.all(temps.map((n) => unlink(join(dir, n))));
  return temps.length;
}

export function stateFileName(origin: string): string {
  return `${createHash('sha256').update(origin, 'utf8').digest('hex')}.json`;
}

/** One JSON file per origin under `dir`, named by the SHA-256 of the origin; cached after a read. */
export class FileStateStore implements StateStore {
  private readonly cache = new Map<string, LogState>();

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<FileStateStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await removeLeftoverTemps(dir);
    return new FileStateStore(dir);
  }

  async read(origin: string): Promise<LogState | undefined> {
    const cached = this.cache.get(origin);
    if (cached !== undefined) return cached;
    const file = join(this.dir, stateFileName(origin));
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new StateCorruptError(`state file ${file} is not JSON`);
    }
    const parsed = stateFileSchema.safeParse(json);
    if (!parsed.success || parsed.data.origin !== origin)
      throw new StateCorruptError(
        `state file ${file} is not a state for ${JSON.stringify(origin)}`,
      );
    const state: LogState = {
      ...parsed.data,
      rootHash: Buffer.from(parsed.data.rootHash, 'base64'),
    };
    this.cache.set(origin, state);
    return state;
  }

  async originOf(hash: string): Promise<string | undefined> {
    if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
    let text: string;
    try {
      text = await readFile(join(this.dir, `${hash}.json`), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const origin = (() => {
      try {
        return stateFileSchema.shape.origin.safeParse(
          (JSON.parse(text) as { origin?: unknown }).origin,
        );
      } catch {
        return undefined;
      }
    })();
    if (!origin?.success || stateFileName(origin.data) !== `${hash}.json`)
      throw new StateCorruptError(`state file ${hash}.json does not name its origin`);
    // read() checks the rest of the file.
    return (await this.read(origin.data)) === undefined ? undefined : origin.data;
  }

  async write(state: LogState): Promise<void> {
    const data = `${JSON.stringify({
      origin: state.origin,
      size: state.size,
      rootHash: state.rootHash.toString('base64'),
      note: state.note,
      cosignature: state.cosignature,
    })}\n`;
    // Drop the cache first: if the write fails half-way, the next read goes to the disk.
    this.cache.delete(state.origin);
    await replaceFileAtomically(this.dir, stateFileName(state.origin), data);
    this.cache.set(state.origin, state);
  }
}

/** Runs tasks for one key strictly one after another; tasks for different keys run in parallel. */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
