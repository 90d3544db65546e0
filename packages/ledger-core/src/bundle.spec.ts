import { randomBytes } from 'node:crypto';
import { formatBundleLine, parseBundleLine, verifyBundle, type BundleLine } from './bundle';
import { CHAIN_SEED, chainNext } from './chain';
import { formatCheckpoint } from './checkpoint';
import { signNote, signerFromSeed, verifierKey } from './note';
import { inclusionProof } from './proof';
import { leafHash, rootHash } from './rfc6962';
import { trustPolicy, type TrustPolicy } from './trust';

const signer = signerFromSeed('example.test/ledger', Buffer.alloc(32, 7));
const key = verifierKey(signer.name, signer.publicKey);
const origin = 'example.test/ledger/tokens.lifecycle-0';
const policyOf = (logKeys: string[]): TrustPolicy => {
  const built = trustPolicy({ originPrefix: 'example.test/ledger', logKeys });
  if (!built.ok) throw new Error(built.error.message);
  return built.policy;
};
const trust = policyOf([key]);

/** A bundle built with ledger-core directly (no server): entries [from, to) of a tree of `size`. */
function bundleLines(size: number, from: number, to: number): BundleLine[] {
  const leaves = Array.from({ length: size }, (_, i) =>
    Buffer.from(`{"v":1,"i":${i},"r":"${randomBytes(4).toString('hex')}"}`),
  );
  const hashes = leaves.map(leafHash);
  const chains: Buffer[] = [];
  hashes.reduce((prev, h) => {
    const next = chainNext(prev, h);
    chains.push(next);
    return next;
  }, CHAIN_SEED);
  const note = signNote(formatCheckpoint({ origin, size, rootHash: rootHash(hashes) }), signer);
  return [
    {
      type: 'bundle',
      version: 1,
      logId: 'tokens.lifecycle-0',
      origin,
      from,
      to,
      treeSize: size,
      chainStart: from === 0 ? CHAIN_SEED : (chains[from - 1] as Buffer),
    },
    { type: 'keys', keys: [{ name: signer.name, verifierKey: key, active: true }] },
    { type: 'checkpoint', size, note },
    ...Array.from({ length: to - from }, (_, k): BundleLine => {
      const i = from + k;
      return {
        type: 'entry',
        index: i,
        leaf: leaves[i] as Buffer,
        chainHash: chains[i] as Buffer,
        proof: inclusionProof(i, size, hashes),
      };
    }),
  ];
}
const bundle = (size: number, from: number, to: number): string[] =>
  bundleLines(size, from, to).map(formatBundleLine);

describe('formatBundleLine / parseBundleLine', () => {
  it('writes the bytes the export has always written (member order is part of the format)', () => {
    const h = Buffer.alloc(32, 1).toString('base64');
    expect(
      formatBundleLine({
        type: 'bundle',
        version: 1,
        logId: 'l-0',
        origin: 'o/l-0',
        from: 0,
        to: 2,
        treeSize: 3,
        chainStart: Buffer.alloc(32),
      }),
    ).toBe(
      `{"type":"bundle","version":1,"logId":"l-0","origin":"o/l-0","from":0,"to":2,"treeSize":3,"chainStart":"${Buffer.alloc(32).toString('base64')}"}\n`,
    );
    expect(
      formatBundleLine({
        type: 'keys',
        keys: [{ name: 'n', verifierKey: 'n+1+a', active: false }],
      }),
    ).toBe('{"type":"keys","keys":[{"name":"n","verifierKey":"n+1+a","active":false}]}\n');
    expect(formatBundleLine({ type: 'checkpoint', size: 3, note: 'x\n' })).toBe(
      '{"type":"checkpoint","size":3,"note":"x\\n"}\n',
    );
    expect(
      formatBundleLine({
        type: 'entry',
        index: 1,
        leaf: Buffer.from('{}'),
        chainHash: Buffer.alloc(32, 1),
        proof: [Buffer.alloc(32, 1)],
      }),
    ).toBe(`{"type":"entry","index":1,"leaf":"e30=","chainHash":"${h}","proof":["${h}"]}\n`);
  });

  it('reads back what it writes', () => {
    for (const line of bundleLines(5, 1, 4))
      expect(parseBundleLine(formatBundleLine(line))).toEqual({ ok: true, line });
  });

  it.each<[string, string, string]>([
    ['not JSON', '{"type":', 'malformed-line'],
    ['an unknown type', '{"type":"note"}', 'unknown-line-type'],
    ['a header of another version', '{"type":"bundle","version":2}', 'malformed-line'],
    [
      'a short chainStart',
      `{"type":"bundle","version":1,"logId":"l-0","origin":"o","from":0,"to":1,"treeSize":1,"chainStart":"AAAA"}`,
      'malformed-line',
    ],
    [
      'an entry with a string index',
      '{"type":"entry","index":"1","leaf":"","chainHash":"","proof":[]}',
      'malformed-line',
    ],
    [
      'an entry with non-canonical base64',
      `{"type":"entry","index":1,"leaf":"e30","chainHash":"${Buffer.alloc(32).toString('base64')}","proof":[]}`,
      'malformed-line',
    ],
    [
      'a proof hash of 31 bytes',
      `{"type":"entry","index":1,"leaf":"e30=","chainHash":"${Buffer.alloc(32).toString('base64')}","proof":["${Buffer.alloc(31).toString('base64')}"]}`,
      'malformed-line',
    ],
    [
      'keys without active',
      '{"type":"keys","keys":[{"name":"n","verifierKey":"k"}]}',
      'malformed-line',
    ],
  ])('refuses %s', (_name, text, code) => {
    expect(parseBundleLine(text)).toMatchObject({ ok: false, error: { code } });
  });
});

describe('verifyBundle (offline)', () => {
  it('accepts a correct bundle, also a middle range', () => {
    expect(verifyBundle(bundle(13, 0, 13), { trust })).toMatchObject({
      ok: true,
      summary: { entries: 13, treeSize: 13, keys: [key] },
    });
    expect(verifyBundle(bundle(13, 5, 9), { trust })).toMatchObject({
      ok: true,
      summary: { from: 5, to: 9, entries: 4 },
    });
    expect(verifyBundle(bundle(13, 5, 9).join('').split('\n'), { trust })).toMatchObject({
      ok: true,
    });
  });

  it('names the first entry whose leaf was changed', () => {
    const lines = bundleLines(10, 0, 10);
    const entry = lines[3 + 6] as BundleLine & { type: 'entry' };
    const bytes = Buffer.from(entry.leaf);
    bytes.writeUInt8(bytes.readUInt8(2) ^ 1, 2);
    lines[3 + 6] = { ...entry, leaf: bytes };
    expect(verifyBundle(lines.map(formatBundleLine), { trust })).toEqual({
      ok: false,
      error: {
        code: 'inclusion-failed',
        index: 6,
        line: 10,
        message: expect.stringContaining('entry 6 is not in the signed tree'),
      },
    });
  });

  it('catches a missing entry, a truncated bundle, an extra entry and a foreign key', () => {
    const lines = bundle(8, 0, 8);
    expect(verifyBundle([...lines.slice(0, 5), ...lines.slice(6)], { trust })).toMatchObject({
      ok: false,
      error: { code: 'entry-out-of-order', index: 2 },
    });
    expect(verifyBundle(lines.slice(0, -1), { trust })).toMatchObject({
      ok: false,
      error: { code: 'truncated', index: 7, message: expect.stringContaining('ends at entry 7') },
    });
    const short = bundleLines(8, 0, 8);
    short[0] = { ...(short[0] as BundleLine & { type: 'bundle' }), to: 7 };
    expect(verifyBundle(short.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'entry-out-of-range', index: 7 },
    });
    const other = signerFromSeed('example.test/ledger', Buffer.alloc(32, 9));
    expect(
      verifyBundle(lines, { trust: policyOf([verifierKey(other.name, other.publicKey)]) }),
    ).toMatchObject({
      ok: false,
      error: { code: 'checkpoint-failed', line: 3, cause: 'key-mismatch' },
    });
  });

  it('never trusts the keys line: a bundle re-signed with another key under the real name fails', () => {
    const forger = signerFromSeed(signer.name, Buffer.alloc(32, 9));
    const lines = bundleLines(5, 0, 5);
    const cp = lines[2] as BundleLine & { type: 'checkpoint' };
    const body = cp.note.slice(0, cp.note.indexOf('\n\n') + 1);
    lines[1] = {
      type: 'keys',
      keys: [
        {
          name: forger.name,
          verifierKey: verifierKey(forger.name, forger.publicKey),
          active: true,
        },
      ],
    };
    lines[2] = { ...cp, note: signNote(body, forger) };
    expect(verifyBundle(lines.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'checkpoint-failed', cause: 'key-mismatch' },
    });
    // The same bundle passes only for someone who pinned the forger's key.
    expect(
      verifyBundle(lines.map(formatBundleLine), {
        trust: policyOf([verifierKey(forger.name, forger.publicKey)]),
      }),
    ).toMatchObject({ ok: true });
  });

  it('refuses a header whose log id is not the log of its origin, and a checkpoint of another log', () => {
    const renamed = bundleLines(4, 0, 4);
    renamed[0] = { ...(renamed[0] as BundleLine & { type: 'bundle' }), logId: 'tokens.usage-0' };
    expect(verifyBundle(renamed.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'origin-mismatch', line: 1 },
    });
    // Header consistent with the claimed log, checkpoint signed for another one.
    renamed[0] = {
      ...renamed[0],
      origin: 'example.test/ledger/tokens.usage-0',
    };
    expect(verifyBundle(renamed.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'checkpoint-failed', cause: 'origin-mismatch' },
    });
  });

  it('catches a chain that does not follow', () => {
    const lines = bundleLines(6, 0, 6);
    lines[3 + 4] = {
      ...(lines[3 + 4] as BundleLine & { type: 'entry' }),
      chainHash: Buffer.alloc(32, 1),
    };
    expect(verifyBundle(lines.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'chain-mismatch', index: 4 },
    });
  });

  it('refuses lines out of place, a bad range, a checkpoint of another size and a bundle without a checkpoint', () => {
    const lines = bundle(4, 0, 4);
    expect(verifyBundle([lines[2] as string, ...lines], { trust })).toMatchObject({
      ok: false,
      error: { code: 'out-of-place', line: 1 },
    });
    expect(verifyBundle([lines[0] as string, ...lines], { trust })).toMatchObject({
      ok: false,
      error: { code: 'out-of-place', line: 2 },
    });
    expect(
      verifyBundle([lines[0] as string, lines[1] as string, lines[3] as string], { trust }),
    ).toMatchObject({ ok: false, error: { code: 'out-of-place', line: 3 } });
    expect(verifyBundle(lines.slice(0, 2), { trust })).toMatchObject({
      ok: false,
      error: { code: 'incomplete' },
    });
    const wide = bundleLines(4, 0, 4);
    wide[0] = { ...(wide[0] as BundleLine & { type: 'bundle' }), to: 5 };
    expect(verifyBundle(wide.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'bad-range' },
    });
    const bigger = bundleLines(4, 0, 4);
    bigger[0] = { ...(bigger[0] as BundleLine & { type: 'bundle' }), treeSize: 5 };
    expect(verifyBundle(bigger.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'size-mismatch' },
    });
  });
});
