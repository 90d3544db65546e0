import { randomBytes } from 'node:crypto';
// The client alone, not the harness: ledger-core reaches no database or Kafka client.
import { TiledLogError, readTiledLog } from '@tokenledger/testing/tiles-reader';
import { formatCheckpoint } from './checkpoint';
import { leafHash, rootHash } from './rfc6962';
import { refMth } from './test-support/reference';
import {
  TileArgumentError,
  decodeEntryBundle,
  encodeEntryBundle,
  formatTileIndex,
  hashTile,
  parseTilePath,
  servedTile,
  splitHashTile,
  tileNodes,
  tilePath,
  tileWidthInTree,
  tilesForSize,
  type TileRef,
} from './tiles';

const hash = (level: number, index: number, width = 256): TileRef => ({
  kind: 'hash',
  level,
  index,
  width,
});
const entries = (index: number, width = 256): TileRef => ({ kind: 'entries', index, width });

describe('tile paths (C2SP tlog-tiles)', () => {
  // The spec's example, then transparency-dev/tessera api/layout/paths_test.go (TestTilePath,
  // TestEntriesPath, TestParseTileLevelIndexPartial), an independent implementation of the spec.
  it.each([
    [hash(0, 1234067), 'tile/0/x001/x234/067'],
    [hash(0, 0), 'tile/0/000'],
    [hash(0, 0, 255), 'tile/0/000.p/255'],
    [hash(1, 0), 'tile/1/000'],
    [hash(15, 455667), 'tile/15/x455/667'],
    [hash(15, 123456789, 41), 'tile/15/x123/x456/789.p/41'],
    [entries(0), 'tile/entries/000'],
    [entries(0, 8), 'tile/entries/000.p/8'],
    [entries(255), 'tile/entries/255'],
    [entries(255, 253), 'tile/entries/255.p/253'],
    [entries(123456789), 'tile/entries/x123/x456/789'],
    [hash(0, 1000), 'tile/0/x001/000'],
  ])('%o is %s, and back', (tile, path) => {
    expect(tilePath(tile)).toBe(path);
    expect(parseTilePath(path)).toEqual({ ok: true, tile });
  });

  it('reads the largest index tessera accepts as too large for this ledger (beyond 2^53 - 1)', () => {
    const r = parseTilePath('tile/63/x999/x999/x999/x999/x999/999.p/255');
    expect(r.ok ? 'ok' : r.error.code).toBe('index-too-large');
    expect(parseTilePath('tile/63/x009/x007/x199/x254/x740/991')).toEqual({
      ok: true,
      tile: hash(63, Number.MAX_SAFE_INTEGER),
    });
  });

  // Rejected by tessera's parser (same test file), plus non-canonical encodings of valid indexes.
  it.each([
    'tile/0/x001/x234/067.p/',
    'tile/0/x001/x234/067.p',
    'tile/0/x001/x234/',
    'tile/0/x001/x234',
    'tile/0/x001/',
    'tile/0/x001',
    'tile/1/x001/.p/abc',
    'tile/64/x001/002',
    'tile/-1/x001/002',
    'tile/abc/x001/002',
    'tile/8/001/002',
    'tile/8/x001/0002',
    'tile/8/x001/-002',
    'tile/8/x001/002.p/256',
    'tile/0/000.p/0',
    'tile/0/000.p/010',
    'tile/00/000',
    'tile/01/000',
    'tile/0/x000/001',
    'tile/0/1',
    'tile/0/001.q/5',
    'tile/0/001.p/5/6',
    'tile/0/x001.p/5/002',
    'tile/entries',
    'tile/entries/',
    'tile/entries/01',
    'tile/0',
    'tiles/0/000',
    'checkpoint',
    '',
  ])('%j is malformed', (path) => {
    const r = parseTilePath(path);
    expect(r.ok ? 'ok' : r.error.code).toBe('malformed-path');
  });

  it('formats any safe index and parses it back', () => {
    for (const n of [0, 1, 999, 1000, 999_999, 1_000_000, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const path = tilePath(hash(2, n));
      expect(parseTilePath(path)).toEqual({ ok: true, tile: hash(2, n) });
    }
    expect(formatTileIndex(5)).toBe('005');
    expect(() => formatTileIndex(-1)).toThrow(TileArgumentError);
    expect(() => tilePath(hash(0, 0, 0))).toThrow(TileArgumentError);
    expect(() => tilePath(hash(64, 0))).toThrow(TileArgumentError);
  });
});

describe('which tiles a tree has', () => {
  it("matches the spec's examples: 70,000 and 256 leaves", () => {
    const summary = (size: number) => {
      const counts = new Map<string, number>();
      for (const t of tilesForSize(size)) {
        const key = `${t.kind === 'hash' ? t.level : 'entries'}:${t.width === 256 ? 'full' : `p${t.width}`}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return Object.fromEntries(counts);
    };
    expect(summary(70_000)).toEqual({
      '0:full': 273,
      '0:p112': 1,
      'entries:full': 273,
      'entries:p112': 1,
      '1:full': 1,
      '1:p17': 1,
      '2:p1': 1,
    });
    expect(summary(256)).toEqual({ '0:full': 1, 'entries:full': 1, '1:p1': 1 });
    expect(tilesForSize(0)).toEqual([]);
    expect(tilesForSize(1)).toEqual([hash(0, 0, 1), entries(0, 1)]);
  });

  it('gives every tile its width in the tree', () => {
    expect(tileWidthInTree(70_000, 0, 272)).toBe(256);
    expect(tileWidthInTree(70_000, 0, 273)).toBe(112);
    expect(tileWidthInTree(70_000, 0, 274)).toBe(0);
    expect(tileWidthInTree(70_000, 1, 0)).toBe(256);
    expect(tileWidthInTree(70_000, 1, 1)).toBe(17);
    expect(tileWidthInTree(70_000, 2, 0)).toBe(1);
    expect(tileWidthInTree(70_000, 3, 0)).toBe(0);
    expect(tileWidthInTree(Number.MAX_SAFE_INTEGER, 63, 0)).toBe(0);
  });

  it('serves full tiles as immutable, right-edge partials up to the tree width, nothing else', () => {
    const size = 70_000;
    expect(servedTile(hash(0, 272), size)).toEqual({ ok: true, immutable: true });
    expect(servedTile(entries(272), size)).toEqual({ ok: true, immutable: true });
    expect(servedTile(hash(0, 273, 112), size)).toEqual({ ok: true, immutable: false });
    // An earlier checkpoint's partial tile, still partial now: served (the spec's MUST).
    expect(servedTile(hash(0, 273, 5), size)).toEqual({ ok: true, immutable: false });
    expect(servedTile(entries(273, 100), size)).toEqual({ ok: true, immutable: false });
    const refused: TileRef[] = [
      hash(0, 273), // not full yet
      hash(0, 273, 113), // wider than the tree
      hash(0, 272, 200), // its full tile exists: the partial is gone
      hash(0, 274, 1), // beyond the tree
      hash(1, 1), // not full yet
      hash(2, 0), // not full yet
      hash(3, 0, 1), // no such level
      entries(274, 1),
    ];
    for (const tile of refused) {
      const r = servedTile(tile, size);
      expect([tilePath(tile), r.ok ? 'served' : r.error.code]).toEqual([
        tilePath(tile),
        'not-in-tree',
      ]);
    }
  });

  it('names the tree nodes each tile holds', () => {
    expect(tileNodes(hash(0, 3, 10))).toEqual({ treeLevel: 0, start: 768, count: 10 });
    expect(tileNodes(hash(2, 1))).toEqual({ treeLevel: 16, start: 256, count: 256 });
    expect(tileNodes(entries(2, 7))).toEqual({ treeLevel: 0, start: 512, count: 7 });
  });
});

describe('tile contents', () => {
  it('concatenates 1..256 hashes and splits them back', () => {
    const hashes = Array.from({ length: 5 }, () => randomBytes(32));
    const tile = hashTile(hashes);
    expect(tile.equals(Buffer.concat(hashes))).toBe(true);
    expect(splitHashTile(tile, 5)).toEqual({ ok: true, hashes });
    expect(splitHashTile(tile, 4).ok).toBe(false);
    expect(() => hashTile([])).toThrow(TileArgumentError);
    expect(() => hashTile([randomBytes(31)])).toThrow(TileArgumentError);
    expect(() => hashTile(Array.from({ length: 257 }, () => randomBytes(32)))).toThrow(
      TileArgumentError,
    );
  });

  it('encodes entry bundles as big-endian uint16 length-prefixed entries, and decodes them', () => {
    const bundle = encodeEntryBundle([Buffer.from('ab'), Buffer.alloc(0), Buffer.alloc(300, 7)]);
    expect(bundle.subarray(0, 4).toString('hex')).toBe('00026162');
    expect(bundle.subarray(4, 8).toString('hex')).toBe('0000012c');
    expect(bundle.length).toBe(2 + 2 + 2 + 0 + 2 + 300);
    const decoded = decodeEntryBundle(bundle);
    expect(decoded.ok && decoded.entries.map((e) => e.length)).toEqual([2, 0, 300]);
    expect(decodeEntryBundle(bundle.subarray(0, bundle.length - 1)).ok).toBe(false);
    expect(decodeEntryBundle(Buffer.from([0])).ok).toBe(false);
    expect(encodeEntryBundle([Buffer.alloc(0xffff)]).length).toBe(0x10001);
    let error: unknown;
    try {
      encodeEntryBundle([Buffer.alloc(0x10000)]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TileArgumentError);
    expect((error as TileArgumentError).code).toBe('entry-too-large');
  });
});

describe('a log built with these functions', () => {
  /** Tiles of a tree built naively: level-L hashes are MTHs of 256^L leaves (reference MTH). */
  function serve(leaves: Buffer[]): Map<string, Buffer> {
    const hashes = leaves.map(leafHash);
    const out = new Map<string, Buffer>();
    out.set(
      'checkpoint',
      Buffer.from(
        `${formatCheckpoint({ origin: 'example.test/log', size: leaves.length, rootHash: rootHash(hashes) })}\n— signature line\n`,
      ),
    );
    for (const tile of tilesForSize(leaves.length)) {
      const { treeLevel, start, count } = tileNodes(tile);
      const span = 2 ** treeLevel;
      const ids = Array.from({ length: count }, (_, i) => start + i);
      out.set(
        tilePath(tile),
        tile.kind === 'entries'
          ? encodeEntryBundle(ids.map((i) => leaves[i] as Buffer))
          : hashTile(ids.map((i) => refMth(hashes.slice(i * span, (i + 1) * span)))),
      );
    }
    return out;
  }

  it('is read and verified by the independent tiles client (testing/tiles-reader)', async () => {
    for (const size of [1, 255, 256, 257, 513, 65_536 + 300]) {
      const leaves = Array.from({ length: size }, (_, i) =>
        Buffer.from(`leaf ${i} ${'x'.repeat(i % 7)}`),
      );
      const tiles = serve(leaves);
      const log = await readTiledLog((path) => Promise.resolve(tiles.get(path)));
      expect([size, log.size, log.entries.length]).toEqual([size, size, size]);
      expect(log.entries.every((e, i) => e.equals(leaves[i] as Buffer))).toBe(true);
      expect(log.resources.size).toBe(tiles.size);
    }
  });

  it('fails the client when a tile or a bundle is altered', async () => {
    const leaves = Array.from({ length: 600 }, (_, i) => Buffer.from(`leaf ${i}`));
    for (const path of ['tile/0/001', 'tile/1/000.p/2', 'tile/entries/002.p/88']) {
      const tiles = serve(leaves);
      const bytes = Buffer.from(tiles.get(path) as Buffer);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
      tiles.set(path, bytes);
      await expect(readTiledLog((p) => Promise.resolve(tiles.get(p)))).rejects.toThrow(
        TiledLogError,
      );
    }
  });
});
