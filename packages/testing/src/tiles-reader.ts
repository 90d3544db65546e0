/**
 * A small C2SP tlog-tiles client, written from the spec's text (https://c2sp.org/tlog-tiles) and
 * RFC 6962 §2.1 alone, for tests: it shares no code with the ledger's tile builder
 * (`@tokenledger/ledger-core` tiles.ts), so a misreading of the spec on one side shows up as a
 * mismatch. Slow on purpose (naive recursive Merkle Tree Hash); meant for test-sized logs.
 *
 * It reads the checkpoint (it does not check its signature: do that with the pinned key), fetches
 * every tile the spec says a tree of that size has, and checks:
 * - every hash tile is exactly its width times 32 bytes;
 * - hash i of tile (l, n) is MTH(D[(n * 256 + i) * 256^l : (n * 256 + i + 1) * 256^l]), the spec's
 *   formal definition, computed from the leaf hashes of level 0, and (for l >= 1) the MTH of the
 *   full tile below it, as the spec also says;
 * - MTH of all leaf hashes is the checkpoint's root;
 * - every entry bundle is a sequence of big-endian uint16 length-prefixed entries, as many as the
 *   tile is wide, each hashing (SHA-256(0x00 || entry)) to its hash in the level-0 tile.
 */
import { createHash } from 'node:crypto';

export interface TiledLog {
  origin: string;
  size: number;
  rootHash: Buffer;
  /** The checkpoint as served (the signed note). */
  checkpoint: string;
  /** The log's entries, in order. */
  entries: Buffer[];
  /** Every resource read, by its path below the prefix (`checkpoint`, `tile/...`). */
  resources: Map<string, Buffer>;
}

/** Thrown when the tiles do not verify; the message says which resource and why. */
export class TiledLogError extends Error {
  override readonly name = 'TiledLogError';
}

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** RFC 6962 §2.1 MTH over leaf hashes: k is the largest power of two smaller than n. */
function mth(hashes: readonly Buffer[]): Buffer {
  if (hashes.length === 0) return sha256();
  if (hashes.length === 1) return hashes[0] as Buffer;
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return sha256(Buffer.from([1]), mth(hashes.slice(0, k)), mth(hashes.slice(k)));
}

/** "zero-padded 3-digit path elements. All but the last path element MUST begin with an x." */
function encodeN(n: number): string {
  const digits = String(n);
  const padded = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const elements: string[] = [];
  for (let i = 0; i < padded.length; i += 3) elements.push(padded.slice(i, i + 3));
  return elements.map((e, i) => (i === elements.length - 1 ? e : `x${e}`)).join('/');
}

const suffix = (width: number): string => (width === 256 ? '' : `.p/${width}`);

/**
 * Reads and checks a tiled log through `get(path)` (path below the prefix; undefined = not there).
 * Throws TiledLogError naming the first resource that does not verify.
 */
export async function readTiledLog(
  get: (path: string) => Promise<Buffer | undefined>,
): Promise<TiledLog> {
  const resources = new Map<string, Buffer>();
  const fetchOne = async (path: string): Promise<Buffer> => {
    const body = await get(path);
    if (body === undefined) throw new TiledLogError(`${path}: not served`);
    resources.set(path, body);
    return body;
  };
  const checkpoint = (await fetchOne('checkpoint')).toString('utf8');
  // tlog-checkpoint body: origin, decimal size, base64 root, then optional extension lines; the
  // signed note puts a blank line before the signatures.
  const [origin = '', sizeLine = '', rootLine = ''] = checkpoint.split('\n');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine))
    throw new TiledLogError(`checkpoint: bad size line ${JSON.stringify(sizeLine)}`);
  const size = Number(sizeLine);
  const rootHash = Buffer.from(rootLine, 'base64');
  if (rootHash.length !== 32) throw new TiledLogError('checkpoint: root is not 32 bytes');

  // "The partial tile at level l for a tree of size s has floor(s / 256**l) mod 256 entries."
  const levels: Buffer[][] = []; // hashes of each tile level, in index order
  for (let l = 0; Math.floor(size / 256 ** l) > 0; l += 1) {
    const count = Math.floor(size / 256 ** l);
    const hashes: Buffer[] = [];
    for (let n = 0; n * 256 < count; n += 1) {
      const width = Math.min(256, count - n * 256);
      const path = `tile/${l}/${encodeN(n)}${suffix(width)}`;
      const tile = await fetchOne(path);
      if (tile.length !== width * 32)
        throw new TiledLogError(`${path}: ${tile.length} bytes, expected ${width * 32}`);
      for (let i = 0; i < width; i += 1) hashes.push(tile.subarray(i * 32, (i + 1) * 32));
    }
    levels.push(hashes);
  }
  const leafHashes = levels[0] ?? [];
  if (leafHashes.length !== size)
    throw new TiledLogError(`level 0 holds ${leafHashes.length} hashes for a tree of ${size}`);

  for (let l = 1; l < levels.length; l += 1) {
    const span = 256 ** l;
    const level = levels[l] as Buffer[];
    for (const [j, hash] of level.entries()) {
      const n = Math.floor(j / 256);
      const path = `tile/${l}/${encodeN(n)}${suffix(Math.min(256, level.length - n * 256))}`;
      const expected = mth(leafHashes.slice(j * span, (j + 1) * span));
      if (!hash.equals(expected))
        throw new TiledLogError(`${path}: hash ${j % 256} is not the MTH of its ${span} leaves`);
      const below = (levels[l - 1] as Buffer[]).slice(j * 256, (j + 1) * 256);
      if (below.length !== 256 || !mth(below).equals(hash))
        throw new TiledLogError(`${path}: hash ${j % 256} is not the MTH of the full tile below`);
    }
  }
  if (!mth(leafHashes).equals(rootHash))
    throw new TiledLogError(`the tiles' tree of size ${size} does not have the checkpoint's root`);

  const entries: Buffer[] = [];
  for (let n = 0; n * 256 < size; n += 1) {
    const width = Math.min(256, size - n * 256);
    const path = `tile/entries/${encodeN(n)}${suffix(width)}`;
    const bundle = await fetchOne(path);
    let at = 0;
    for (let i = 0; i < width; i += 1) {
      if (at + 2 > bundle.length) throw new TiledLogError(`${path}: ends before entry ${i}`);
      const length = bundle.readUInt16BE(at);
      const entry = bundle.subarray(at + 2, at + 2 + length);
      if (entry.length !== length) throw new TiledLogError(`${path}: entry ${i} is truncated`);
      const index = n * 256 + i;
      if (!sha256(Buffer.from([0]), entry).equals(leafHashes[index] as Buffer))
        throw new TiledLogError(`${path}: entry ${i} does not hash to leaf hash ${index}`);
      entries.push(entry);
      at += 2 + length;
    }
    if (at !== bundle.length)
      throw new TiledLogError(`${path}: ${bundle.length - at} bytes after entry ${width - 1}`);
  }
  return { origin, size, rootHash, checkpoint, entries, resources };
}
