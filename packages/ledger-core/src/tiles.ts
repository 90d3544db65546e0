/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the static resources a log is served as. Pure:
 * paths, which tiles a tree of a given size has, hash tiles from node hashes, entry bundles.
 *
 * A hash tile at level L, index N holds the Merkle Tree Hashes of tree level 8L at indexes
 * [256N, 256N + W): each one covers 256^L leaves. W is 256 for a full tile; a partial tile (the
 * right edge of the tree at that level) has 1..255. An entry bundle at index N holds the leaves
 * [256N, 256N + W), each preceded by its length as a big-endian uint16.
 */
import { HASH_SIZE } from './rfc6962';

/** Hashes (or entries) in a full tile. */
export const TILE_WIDTH = 256;
/** Tree levels one tile level spans: tile level L holds the hashes of tree level 8L. */
export const TILE_HEIGHT = 8;
/** The spec's largest tile level. */
export const MAX_TILE_LEVEL = 63;
/** The largest entry an entry bundle can hold (uint16 length prefix). */
export const MAX_BUNDLE_ENTRY_BYTES = 0xffff;

/** A hash tile: `tile/<level>/<N>[.p/<width>]`. Width 256 is a full tile. */
export interface HashTileRef {
  readonly kind: 'hash';
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

/** An entry bundle: `tile/entries/<N>[.p/<width>]`. Width 256 is a full bundle. */
export interface EntryBundleRef {
  readonly kind: 'entries';
  readonly index: number;
  readonly width: number;
}

export type TileRef = HashTileRef | EntryBundleRef;

export type TileErrorCode =
  'malformed-path' | 'index-too-large' | 'not-in-tree' | 'bad-bundle' | 'bad-tile';

export type ParseTilePathResult =
  | { ok: true; tile: TileRef }
  | { ok: false; error: { code: 'malformed-path' | 'index-too-large'; message: string } };

/** Thrown by the builders when called with something that is not a tile (a caller's bug). */
export class TileArgumentError extends RangeError {
  override readonly name = 'TileArgumentError';
  readonly retryable = false;
  constructor(
    readonly code: 'invalid-argument' | 'entry-too-large',
    message: string,
  ) {
    super(message);
  }
}

const isIndex = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
const isWidth = (w: number): boolean => Number.isInteger(w) && w >= 1 && w <= TILE_WIDTH;

/**
 * `<N>` of a tile path: zero-padded 3-digit groups, every group but the last prefixed with `x`
 * (1234067 -> `x001/x234/067`, 5 -> `005`).
 */
export function formatTileIndex(index: number): string {
  if (!isIndex(index))
    throw new TileArgumentError(
      'invalid-argument',
      `tile index ${index} is not a safe integer >= 0`,
    );
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** The path of a tile below the log's prefix, e.g. `tile/0/x001/234.p/17` or `tile/entries/000`. */
export function tilePath(tile: TileRef): string {
  if (!isWidth(tile.width))
    throw new TileArgumentError('invalid-argument', `tile width ${tile.width} is not in 1..256`);
  if (
    tile.kind === 'hash' &&
    !(Number.isInteger(tile.level) && tile.level >= 0 && tile.level <= MAX_TILE_LEVEL)
  )
    throw new TileArgumentError('invalid-argument', `tile level ${tile.level} is not in 0..63`);
  const partial = tile.width < TILE_WIDTH ? `.p/${tile.width}` : '';
  const level = tile.kind === 'hash' ? String(tile.level) : 'entries';
  return `tile/${level}/${formatTileIndex(tile.index)}${partial}`;
}

const LEVEL = /^(0|[1-9][0-9]?)$/;
const WIDTH = /^[1-9][0-9]{0,2}$/;
const GROUP = /^[0-9]{3}$/;

/**
 * Reads a tile path below the log's prefix (`tile/...`), strictly: exactly the spec's encoding
 * (decimal level 0..63 without leading zeros, 3-digit groups with `x` on all but the last, width
 * 1..255 without leading zeros). Each tile has one path, so `x000/001` is malformed. An index past
 * 2^53 - 1 is `index-too-large` (no tree here reaches it).
 */
export function parseTilePath(path: string): ParseTilePathResult {
  const bad = (message: string): ParseTilePathResult => ({
    ok: false,
    error: {
      code: 'malformed-path',
      message: `${message}: expected tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]`,
    },
  });
  const parts = path.split('/');
  if (parts[0] !== 'tile' || parts.length < 3) return bad('not a tile path');
  const levelPart = parts[1] as string;
  let rest = parts.slice(2);
  let width = TILE_WIDTH;
  const dotted = rest.findIndex((p) => p.includes('.'));
  if (dotted >= 0) {
    // Only `<last group>.p/<W>` at the very end.
    const [group, suffix, ...more] = (rest[dotted] as string).split('.');
    if (suffix !== 'p' || more.length > 0 || dotted !== rest.length - 2)
      return bad('bad partial suffix');
    const w = rest[dotted + 1] as string;
    if (!WIDTH.test(w) || Number(w) >= TILE_WIDTH)
      return bad(`partial width ${JSON.stringify(w)} is not in 1..255`);
    width = Number(w);
    rest = [...rest.slice(0, dotted), group as string];
  }
  const groups = rest.map((g, i) =>
    i < rest.length - 1 ? (g.startsWith('x') ? g.slice(1) : '') : g,
  );
  if (groups.some((g) => !GROUP.test(g))) return bad('bad tile index');
  if (groups.length > 1 && groups[0] === '000') return bad('tile index with a leading zero group');
  if (groups.length > 6)
    return { ok: false, error: { code: 'index-too-large', message: 'tile index beyond 2^53 - 1' } };
  const index = Number(groups.join(''));
  if (!Number.isSafeInteger(index))
    return { ok: false, error: { code: 'index-too-large', message: 'tile index beyond 2^53 - 1' } };
  if (levelPart === 'entries') return { ok: true, tile: { kind: 'entries', index, width } };
  if (!LEVEL.test(levelPart) || Number(levelPart) > MAX_TILE_LEVEL)
    return bad(`tile level ${JSON.stringify(levelPart)} is not in 0..63`);
  return { ok: true, tile: { kind: 'hash', level: Number(levelPart), index, width } };
}

/** How many hashes tree level 8L has in a tree of `size` leaves: floor(size / 256^L). */
function hashesAtTileLevel(size: number, level: number): number {
  // 256^L is a power of two, so the division is exact in floating point for any safe size.
  return Math.floor(size / TILE_WIDTH ** level);
}

/**
 * The width of tile (level, index) in a tree of `size` leaves: 256 when full, 1..255 for the
 * partial tile at the right edge, 0 when the tree has no such tile (beyond its size).
 */
export function tileWidthInTree(size: number, level: number, index: number): number {
  const hashes = hashesAtTileLevel(size, level);
  const full = Math.floor(hashes / TILE_WIDTH);
  if (index < full) return TILE_WIDTH;
  if (index === full) return hashes % TILE_WIDTH;
  return 0;
}

const levelOf = (tile: TileRef): number => (tile.kind === 'hash' ? tile.level : 0);

/**
 * Whether a log whose latest checkpoint has `size` leaves serves `tile`, and whether it may be
 * cached forever:
 * - a full tile inside the tree: `immutable` (its hashes and leaves never change);
 * - a partial tile at the right edge of the tree at its level, as wide as the tree's or narrower
 *   (the partial tile of an earlier checkpoint's tree, which the spec requires the log to serve
 *   until the full tile exists): served, not immutable (it goes away once the tile is full);
 * - anything else (beyond the tree, a partial tile whose full tile exists, wider than the tree):
 *   `not-in-tree`.
 */
export function servedTile(
  tile: TileRef,
  size: number,
):
  | { ok: true; immutable: boolean }
  | { ok: false; error: { code: 'not-in-tree'; message: string } } {
  const inTree = tileWidthInTree(size, levelOf(tile), tile.index);
  if (tile.width === TILE_WIDTH && inTree === TILE_WIDTH) return { ok: true, immutable: true };
  if (tile.width < TILE_WIDTH && inTree < TILE_WIDTH && tile.width <= inTree)
    return { ok: true, immutable: false };
  const what = inTree === TILE_WIDTH ? 'full in' : inTree === 0 ? 'beyond' : `${inTree} wide in`;
  return {
    ok: false,
    error: {
      code: 'not-in-tree',
      message: `${tilePath(tile)} is not served: that tile is ${what} the tree of the latest checkpoint (size ${size})`,
    },
  };
}

/**
 * Every hash tile and entry bundle of a tree of `size` leaves (full tiles, then the right-edge
 * partial of each level), levels bottom-up. A tree of 70,000 leaves: 273 full and one 112-wide
 * tile at level 0, one full and one 17-wide tile at level 1, one 1-wide tile at level 2, and the
 * 274 entry bundles beside level 0.
 */
export function tilesForSize(size: number): TileRef[] {
  if (!isIndex(size))
    throw new TileArgumentError('invalid-argument', `tree size ${size} is not a safe integer >= 0`);
  const out: TileRef[] = [];
  for (let level = 0; level <= MAX_TILE_LEVEL; level += 1) {
    const hashes = hashesAtTileLevel(size, level);
    if (hashes === 0) break;
    const full = Math.floor(hashes / TILE_WIDTH);
    const partial = hashes % TILE_WIDTH;
    const at = (index: number, width: number): void => {
      out.push({ kind: 'hash', level, index, width });
      if (level === 0) out.push({ kind: 'entries', index, width });
    };
    for (let index = 0; index < full; index += 1) at(index, TILE_WIDTH);
    if (partial > 0) at(full, partial);
  }
  return out;
}

/**
 * The tree nodes a tile holds: `count` hashes of tree level `treeLevel` starting at index `start`
 * (node (l, i) covers leaves [i * 2^l, (i + 1) * 2^l)). For an entry bundle, the leaves.
 */
export function tileNodes(tile: TileRef): { treeLevel: number; start: number; count: number } {
  return {
    treeLevel: TILE_HEIGHT * levelOf(tile),
    start: tile.index * TILE_WIDTH,
    count: tile.width,
  };
}

/** A hash tile's bytes: its 1..256 hashes, 32 bytes each, concatenated in index order. */
export function hashTile(hashes: readonly Uint8Array[]): Buffer {
  if (hashes.length < 1 || hashes.length > TILE_WIDTH)
    throw new TileArgumentError(
      'invalid-argument',
      `a tile holds 1..256 hashes, not ${hashes.length}`,
    );
  for (const [i, h] of hashes.entries())
    if (h.length !== HASH_SIZE)
      throw new TileArgumentError(
        'invalid-argument',
        `hash ${i} is ${h.length} bytes, not ${HASH_SIZE}`,
      );
  return Buffer.concat(hashes, hashes.length * HASH_SIZE);
}

/** The hashes of a hash tile of `width` hashes; an error unless the bytes are exactly that. */
export function splitHashTile(
  bytes: Uint8Array,
  width: number,
): { ok: true; hashes: Buffer[] } | { ok: false; error: { code: 'bad-tile'; message: string } } {
  if (bytes.length !== width * HASH_SIZE)
    return {
      ok: false,
      error: {
        code: 'bad-tile',
        message: `a ${width}-hash tile is ${width * HASH_SIZE} bytes, got ${bytes.length}`,
      },
    };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  return {
    ok: true,
    hashes: Array.from({ length: width }, (_, i) =>
      buf.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE),
    ),
  };
}

/**
 * An entry bundle's bytes: each entry preceded by its length, big-endian uint16. Throws
 * TileArgumentError (`entry-too-large`) for an entry over 65,535 bytes, which the format cannot hold.
 */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  if (entries.length < 1 || entries.length > TILE_WIDTH)
    throw new TileArgumentError(
      'invalid-argument',
      `a bundle holds 1..256 entries, not ${entries.length}`,
    );
  let total = 0;
  for (const [i, e] of entries.entries()) {
    if (e.length > MAX_BUNDLE_ENTRY_BYTES)
      throw new TileArgumentError(
        'entry-too-large',
        `entry ${i} of the bundle is ${e.length} bytes; an entry bundle holds at most ${MAX_BUNDLE_ENTRY_BYTES}`,
      );
    total += 2 + e.length;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const e of entries) {
    out.writeUInt16BE(e.length, at);
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

/** The entries of an entry bundle; an error for a truncated length or entry. */
export function decodeEntryBundle(
  bytes: Uint8Array,
): { ok: true; entries: Buffer[] } | { ok: false; error: { code: 'bad-bundle'; message: string } } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const entries: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 2 > buf.length)
      return {
        ok: false,
        error: { code: 'bad-bundle', message: `truncated length at byte ${at}` },
      };
    const length = buf.readUInt16BE(at);
    if (at + 2 + length > buf.length)
      return {
        ok: false,
        error: {
          code: 'bad-bundle',
          message: `entry ${entries.length} (${length} bytes at byte ${at}) is truncated`,
        },
      };
    entries.push(buf.subarray(at + 2, at + 2 + length));
    at += 2 + length;
  }
  return { ok: true, entries };
}
