// FileStateStore on a real file system.
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateSeed } from './key';
import { FileStateStore, StateCorruptError, stateFileName } from './state';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'witness-state-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const state = (size: number) => ({
  origin: 'o.test/log',
  size,
  rootHash: Buffer.alloc(32, size),
  note: `note ${size}\n`,
});

describe('FileStateStore', () => {
  it('reads nothing for a new origin, then what was written, also from a new store', async () => {
    const store = await FileStateStore.open(dir);
    expect(await store.read('o.test/log')).toBeUndefined();
    await store.write(state(3));
    await store.write(state(9));
    const reopened = await FileStateStore.open(dir);
    expect(await reopened.read('o.test/log')).toEqual(state(9));
    expect((await stat(join(dir, stateFileName('o.test/log')))).mode & 0o777).toBe(0o600);
  });

  it('removes temporary files a killed process left, and ignores them', async () => {
    await writeFile(
      join(dir, `.${stateFileName('o.test/log')}.123.abc.tmp`),
      '{"origin":"o.test/log","size":99',
    );
    const store = await FileStateStore.open(dir);
    expect(await readdir(dir)).toEqual([]);
    expect(await store.read('o.test/log')).toBeUndefined();
  });

  it('refuses a corrupt or foreign state file instead of starting over from nothing', async () => {
    const store = await FileStateStore.open(dir);
    await writeFile(join(dir, stateFileName('o.test/log')), '{"origin":"o.test/log","si');
    await expect(store.read('o.test/log')).rejects.toThrow(StateCorruptError);
    await writeFile(
      join(dir, stateFileName('o.test/log')),
      JSON.stringify({ ...state(1), rootHash: Buffer.alloc(32).toString('base64'), origin: 'x' }),
    );
    await expect(store.read('o.test/log')).rejects.toThrow(StateCorruptError);
  });
});

describe('loadOrCreateSeed', () => {
  it('creates a 0600 seed once and reads the same one after', async () => {
    const file = join(dir, 'witness.seed');
    const first = await loadOrCreateSeed(file, (n) => Buffer.alloc(n, 7));
    expect(first).toEqual({ seed: Buffer.alloc(32, 7), created: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateSeed(file, (n) => Buffer.alloc(n, 8));
    expect(again).toEqual({ seed: Buffer.alloc(32, 7), created: false });
  });

  it('refuses a seed file others can read, and a malformed one, without printing it', async () => {
    const file = join(dir, 'witness.seed');
    await writeFile(file, `${Buffer.alloc(32, 1).toString('base64')}\n`, { mode: 0o644 });
    await expect(loadOrCreateSeed(file)).rejects.toThrow(/chmod 600/);
    await writeFile(join(dir, 'short.seed'), 'c2hvcnQ=\n', { mode: 0o600 });
    await expect(loadOrCreateSeed(join(dir, 'short.seed'))).rejects.toThrow(
      /^(?!.*c2hvcnQ).*32-byte/,
    );
  });
});
