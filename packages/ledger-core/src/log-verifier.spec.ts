import { CHAIN_SEED, chainNext } from './chain';
import { formatCheckpoint } from './checkpoint';
import { LogVerifier, type StoredLeaf } from './log-verifier';
import { signNote, signerFromSeed, verifierFromPublicKey } from './note';
import { leafHash, rootHash } from './rfc6962';

const signer = signerFromSeed('example.test/ledger', Buffer.alloc(32, 3));
const verifier = verifierFromPublicKey(signer.name, signer.publicKey);
const origin = 'example.test/ledger/t-0';

/** Rows stored the way the appender stores them, and checkpoints signed at `sizes`. */
function log(
  n: number,
  sizes: number[],
): { rows: StoredLeaf[]; checkpoints: Array<{ size: number; note: string }> } {
  const leaves = Array.from({ length: n }, (_, i) => Buffer.from(`{"i":${i}}`));
  const hashes = leaves.map(leafHash);
  let chain = CHAIN_SEED;
  const rows = leaves.map((leaf, index) => {
    chain = chainNext(chain, hashes[index] as Buffer);
    return { index, leaf, leafHash: hashes[index] as Buffer, chainHash: chain };
  });
  const checkpoints = sizes.map((size) => ({
    size,
    note: signNote(
      formatCheckpoint({ origin, size, rootHash: rootHash(hashes.slice(0, size)) }),
      signer,
    ),
  }));
  return { rows, checkpoints };
}

function run(
  rows: StoredLeaf[],
  checkpoints: Array<{ size: number; note: string }>,
  head?: { size: number; rootHash: Buffer },
) {
  const v = new LogVerifier(checkpoints, [verifier], origin);
  for (const row of rows) if (v.push(row)) break;
  return v.finish(head);
}

describe('LogVerifier', () => {
  const { rows, checkpoints } = log(10, [1, 4, 7, 10]);
  const head = { size: 10, rootHash: rootHash(rows.map((r) => Buffer.from(r.leafHash))) };

  it('accepts an intact log, checking every checkpoint', () => {
    expect(run(rows, checkpoints, head)).toEqual({ ok: true, size: 10, checkpointsChecked: 4 });
    expect(run([], [], undefined)).toEqual({ ok: true, size: 0, checkpointsChecked: 0 });
  });

  it('names the changed leaf, the changed chain value and the missing row at their index', () => {
    const changed = rows.map((r) => (r.index === 5 ? { ...r, leaf: Buffer.from('{"i":55}') } : r));
    expect(run(changed, checkpoints, head)).toMatchObject({
      ok: false,
      checkpointsChecked: 2,
      error: { code: 'leaf-hash-mismatch', index: 5 },
    });
    const chain = rows.map((r) => (r.index === 3 ? { ...r, chainHash: Buffer.alloc(32) } : r));
    expect(run(chain, checkpoints, head)).toMatchObject({
      ok: false,
      error: { code: 'chain-mismatch', index: 3 },
    });
    expect(
      run(
        rows.filter((r) => r.index !== 2),
        checkpoints,
        head,
      ),
    ).toMatchObject({ ok: false, error: { code: 'missing-leaf', index: 2 } });
  });

  it('pins a rewritten suffix (hashes and chain recomputed) to the last checkpoint that still verifies', () => {
    let chain = rows[4]?.chainHash as Buffer;
    const rewritten = rows.map((r) => {
      if (r.index < 5) return r;
      const leaf = Buffer.from(`{"i":${r.index},"x":1}`);
      const hash = leafHash(leaf);
      chain = chainNext(chain, hash);
      return { index: r.index, leaf, leafHash: hash, chainHash: chain };
    });
    expect(run(rewritten, checkpoints, head)).toMatchObject({
      ok: false,
      checkpointsChecked: 2,
      error: { code: 'checkpoint-root-mismatch', index: 4 },
    });
  });

  it('catches a truncated log, a bad signature and a wrong head root', () => {
    expect(run(rows.slice(0, 8), checkpoints, { size: 8, rootHash: head.rootHash })).toMatchObject({
      ok: false,
      error: { code: 'truncated', index: 8 },
    });
    expect(run(rows, checkpoints, { size: 11, rootHash: head.rootHash })).toMatchObject({
      ok: false,
      error: { code: 'truncated', index: 10 },
    });
    const forged = checkpoints.map((c) =>
      c.size === 7 ? { ...c, note: c.note.replace('\n7\n', '\n6\n') } : c,
    );
    expect(run(rows, forged, head)).toMatchObject({
      ok: false,
      error: { code: 'checkpoint-failed', index: 4 },
    });
    expect(run(rows, checkpoints, { size: 10, rootHash: Buffer.alloc(32) })).toMatchObject({
      ok: false,
      error: { code: 'head-root-mismatch', index: 10 },
    });
  });
});

describe('LogVerifier: checkpoints in pages, and roots a witness vouches for', () => {
  const run = (v: LogVerifier, rows: StoredLeaf[], head?: { size: number; rootHash: Buffer }) => {
    for (const row of rows) v.push(row);
    return v.finish(head);
  };

  it('checks checkpoints added page by page, as the rows reach them', () => {
    const { rows, checkpoints } = log(9, [2, 4, 6, 9]);
    const v = new LogVerifier(checkpoints.slice(0, 2), [verifier], origin);
    for (const row of rows.slice(0, 4)) v.push(row);
    v.addCheckpoints(checkpoints.slice(2));
    for (const row of rows.slice(4)) v.push(row);
    expect(v.finish()).toEqual({ ok: true, size: 9, checkpointsChecked: 4 });
  });

  it('a witnessed root past the stored rows is truncated at the first missing index', () => {
    const { rows } = log(9, []);
    const full = rootHash(rows.map((r) => Buffer.from(r.leafHash)));
    const v = new LogVerifier([], [verifier], origin);
    v.expectRoot(9, full, 'witness w1');
    expect(run(v, rows.slice(0, 6))).toMatchObject({
      ok: false,
      error: {
        code: 'truncated',
        index: 6,
        message: expect.stringContaining('witness w1 cosigned'),
      },
    });
  });

  it('a witnessed root that differs is a witnessed-root-mismatch at the last vouched size', () => {
    const { rows, checkpoints } = log(9, [4]);
    const v = new LogVerifier(checkpoints, [verifier], origin);
    v.expectRoot(7, Buffer.alloc(32, 1), 'witness w1');
    expect(run(v, rows)).toMatchObject({
      ok: false,
      error: { code: 'witnessed-root-mismatch', index: 4 },
    });
    const good = new LogVerifier([], [verifier], origin);
    good.expectRoot(7, rootHash(rows.slice(0, 7).map((r) => Buffer.from(r.leafHash))), 'w');
    expect(run(good, rows)).toMatchObject({ ok: true, size: 9 });
  });
});
