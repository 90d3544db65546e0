import { randomBytes } from 'node:crypto';
import {
  BundleVerifier,
  formatBundleLine,
  parseBundleLine,
  verifyBundle,
  type BundleLine,
} from './bundle';
import { CHAIN_SEED, chainNext } from './chain';
import { formatCheckpoint } from './checkpoint';
import { leafBytes } from './leaf';
import { signNote, signerFromSeed, verifierKey } from './note';
import { inclusionProof } from './proof';
import { leafHash, rootHash } from './rfc6962';
import { decompose } from './tree-plan';
import { trustPolicy, type TrustPolicy } from './trust';

const signer = signerFromSeed('example.test/ledger', Buffer.alloc(32, 7));
const key = verifierKey(signer.name, signer.publicKey);
const LOG = 'tokens.lifecycle-0';
const origin = `example.test/ledger/${LOG}`;
const policyOf = (logKeys: string[]): TrustPolicy => {
  const built = trustPolicy({ originPrefix: 'example.test/ledger', logKeys });
  if (!built.ok) throw new Error(built.error.message);
  return built.policy;
};
const trust = policyOf([key]);
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

type Entry = BundleLine & { type: 'entry' };
type Header = BundleLine & { type: 'bundle' };

/** A log of `size` leaves built with ledger-core directly (no server). */
function log(size: number) {
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
  const subtree = (n: { level: number; index: number }): Buffer =>
    rootHash(hashes.slice(n.index * 2 ** n.level, (n.index + 1) * 2 ** n.level));
  const note = signNote(formatCheckpoint({ origin, size, rootHash: rootHash(hashes) }), signer);
  return { leaves, hashes, chains, subtree, note };
}

/** Entries [from, to) of a tree of `size`, as the export writes them (version 2), or version 1. */
function bundleLines(size: number, from: number, to: number, version: 1 | 2 = 2): BundleLine[] {
  const { leaves, hashes, chains, subtree, note } = log(size);
  return [
    {
      type: 'bundle',
      version,
      logId: LOG,
      origin,
      from,
      to,
      treeSize: size,
      chainStart: from === 0 ? CHAIN_SEED : (chains[from - 1] as Buffer),
      prefix: version === 2 ? decompose(0, from).map(subtree) : [],
      suffix: version === 2 ? decompose(to, size).map(subtree) : [],
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
        ...(version === 1 ? { proof: inclusionProof(i, size, hashes) } : {}),
      };
    }),
  ];
}
const bundle = (size: number, from: number, to: number, version: 1 | 2 = 2): string[] =>
  bundleLines(size, from, to, version).map(formatBundleLine);

/** Changes one byte of entry `index`'s leaf; with `rechain`, recomputes the chain hashes after it. */
function tamper(lines: BundleLine[], index: number, rechain: boolean): BundleLine[] {
  const header = lines[0] as Header;
  const out = [...lines];
  const at = 3 + index - header.from;
  const entry = out[at] as Entry;
  const bytes = Buffer.from(entry.leaf);
  bytes.writeUInt8(bytes.readUInt8(2) ^ 1, 2);
  out[at] = { ...entry, leaf: bytes };
  if (rechain) {
    let prev = index === header.from ? header.chainStart : (out[at - 1] as Entry).chainHash;
    for (let k = at; k < out.length; k += 1) {
      const e = out[k] as Entry;
      const chainHash = chainNext(prev, leafHash(e.leaf));
      out[k] = { ...e, chainHash };
      prev = chainHash;
    }
  }
  return out;
}

describe('formatBundleLine / parseBundleLine', () => {
  const h = Buffer.alloc(32, 1);
  it('writes version 2 headers with the prefix and suffix hashes, and entries without proofs', () => {
    expect(
      formatBundleLine({
        type: 'bundle',
        version: 2,
        logId: 'l-0',
        origin: 'o/l-0',
        from: 1,
        to: 2,
        treeSize: 3,
        chainStart: Buffer.alloc(32),
        prefix: [h],
        suffix: [h],
      }),
    ).toBe(
      `{"type":"bundle","version":2,"logId":"l-0","origin":"o/l-0","from":1,"to":2,"treeSize":3,"chainStart":"${b64(Buffer.alloc(32))}","prefix":["${b64(h)}"],"suffix":["${b64(h)}"]}\n`,
    );
    expect(
      formatBundleLine({ type: 'entry', index: 1, leaf: Buffer.from('{}'), chainHash: h }),
    ).toBe(`{"type":"entry","index":1,"leaf":"e30=","chainHash":"${b64(h)}"}\n`);
  });

  it('still writes the version 1 bytes the export wrote before (member order is part of the format)', () => {
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
        prefix: [],
        suffix: [],
      }),
    ).toBe(
      `{"type":"bundle","version":1,"logId":"l-0","origin":"o/l-0","from":0,"to":2,"treeSize":3,"chainStart":"${b64(Buffer.alloc(32))}"}\n`,
    );
    expect(
      formatBundleLine({
        type: 'entry',
        index: 1,
        leaf: Buffer.from('{}'),
        chainHash: h,
        proof: [h],
      }),
    ).toBe(
      `{"type":"entry","index":1,"leaf":"e30=","chainHash":"${b64(h)}","proof":["${b64(h)}"]}\n`,
    );
    expect(formatBundleLine({ type: 'checkpoint', size: 3, note: 'x\n' })).toBe(
      '{"type":"checkpoint","size":3,"note":"x\\n"}\n',
    );
  });

  it('writes the evidence lines', () => {
    expect(formatBundleLine({ type: 'evidence', version: 1, tokenId: 't', logs: 2 })).toBe(
      '{"type":"evidence","version":1,"tokenId":"t","logs":2}\n',
    );
    expect(formatBundleLine({ type: 'log', logId: 'l-0', size: 9, entries: 1, note: 'x\n' })).toBe(
      '{"type":"log","logId":"l-0","size":9,"entries":1,"note":"x\\n"}\n',
    );
    expect(
      formatBundleLine({
        type: 'log-entry',
        logId: 'l-0',
        index: 4,
        leaf: Buffer.from('{}'),
        proof: [h],
      }),
    ).toBe(`{"type":"log-entry","logId":"l-0","index":4,"leaf":"e30=","proof":["${b64(h)}"]}\n`);
  });

  it('reads back what it writes, for both versions and the evidence lines', () => {
    for (const line of [...bundleLines(5, 1, 4), ...bundleLines(5, 1, 4, 1)])
      expect(parseBundleLine(formatBundleLine(line))).toEqual({ ok: true, line });
    for (const line of evidence().lines)
      expect(parseBundleLine(formatBundleLine(line))).toEqual({ ok: true, line });
  });

  it.each<[string, string, string]>([
    ['not JSON', '{"type":', 'malformed-line'],
    ['an unknown type', '{"type":"note"}', 'unknown-line-type'],
    ['a header of a later version', '{"type":"bundle","version":3}', 'unsupported-version'],
    [
      'an evidence header of a later version',
      '{"type":"evidence","version":2}',
      'unsupported-version',
    ],
    [
      'a short chainStart',
      `{"type":"bundle","version":1,"logId":"l-0","origin":"o","from":0,"to":1,"treeSize":1,"chainStart":"AAAA"}`,
      'malformed-line',
    ],
    [
      'a version 2 header without a suffix',
      `{"type":"bundle","version":2,"logId":"l-0","origin":"o","from":0,"to":1,"treeSize":1,"chainStart":"${b64(Buffer.alloc(32))}","prefix":[]}`,
      'malformed-line',
    ],
    [
      'an entry with a string index',
      '{"type":"entry","index":"1","leaf":"","chainHash":""}',
      'malformed-line',
    ],
    [
      'an entry with non-canonical base64',
      `{"type":"entry","index":1,"leaf":"e30","chainHash":"${b64(Buffer.alloc(32))}"}`,
      'malformed-line',
    ],
    [
      'a proof hash of 31 bytes',
      `{"type":"entry","index":1,"leaf":"e30=","chainHash":"${b64(Buffer.alloc(32))}","proof":["${b64(Buffer.alloc(31))}"]}`,
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

  it('names the version it does not read', () => {
    expect(verifyBundle(['{"type":"bundle","version":3}'], { trust })).toEqual({
      ok: false,
      error: {
        code: 'unsupported-version',
        line: 1,
        message: 'line 1: bundle version 3 is not supported: this verifier reads versions 1 and 2',
      },
    });
  });
});

describe('verifyBundle, range bundles (version 2: one compact range, no proofs)', () => {
  it('accepts every range [from, to) of trees up to 17 leaves (prefix and suffix compact ranges)', () => {
    for (let size = 1; size <= 17; size += 1)
      for (let from = 0; from <= size; from += 1)
        for (let to = from; to <= size; to += 1) {
          const r = verifyBundle(bundle(size, from, to), { trust });
          expect([size, from, to, r.ok]).toEqual([size, from, to, true]);
        }
    expect(verifyBundle(bundle(13, 5, 9), { trust })).toMatchObject({
      ok: true,
      summary: { kind: 'range', version: 2, from: 5, to: 9, entries: 4, treeSize: 13, keys: [key] },
    });
    // The text of a whole file split at `\n` (a blank last line).
    expect(verifyBundle(bundle(13, 5, 9).join('').split('\n'), { trust })).toMatchObject({
      ok: true,
    });
  });

  it('reads a line with other spacing or member order the same way as the exact bytes (the fast path falls back to JSON.parse)', () => {
    const lines = bundleLines(9, 2, 9);
    const texts = lines.map(formatBundleLine);
    const e = lines[5] as Entry;
    texts[5] = JSON.stringify(
      { chainHash: b64(e.chainHash), leaf: b64(e.leaf), index: e.index, type: 'entry' },
      null,
      1,
    ).replace(/\n/g, '');
    expect(verifyBundle(texts, { trust })).toMatchObject({ ok: true });
    // The exact layout with a non-canonical leaf is not taken for a good one.
    texts[5] = `{"type":"entry","index":${e.index},"leaf":"${b64(e.leaf).replace(/=+$/, '')}","chainHash":"${b64(e.chainHash)}"}`;
    expect(verifyBundle(texts, { trust })).toMatchObject({
      ok: false,
      error: { code: 'malformed-line', line: 6 },
    });
  });

  it('names the first entry whose leaf was changed (the chain no longer follows there)', () => {
    const lines = tamper(bundleLines(10, 0, 10), 6, false);
    expect(verifyBundle(lines.map(formatBundleLine), { trust })).toEqual({
      ok: false,
      error: {
        code: 'chain-mismatch',
        index: 6,
        line: 10,
        message: 'entry 6: chain hash does not follow from the previous entries',
      },
    });
  });

  it('a changed leaf with recomputed chain hashes fails on the root, bounded at from', () => {
    const lines = tamper(bundleLines(10, 3, 8), 6, true);
    expect(verifyBundle(lines.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: {
        code: 'root-mismatch',
        index: 3,
        message: expect.stringContaining('the signature vouches for none of these entries'),
      },
    });
  });

  it('a wrong prefix or suffix hash fails on the root; a wrong number of them is a bad range', () => {
    const lines = bundleLines(21, 11, 14);
    const header = lines[0] as Header;
    expect(header.prefix).toHaveLength(3);
    const wrongPrefix = [
      { ...header, prefix: [header.prefix[0], Buffer.alloc(32), header.prefix[2]] },
      ...lines.slice(1),
    ] as BundleLine[];
    expect(verifyBundle(wrongPrefix.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'root-mismatch', index: 11 },
    });
    const wrongSuffix = [
      { ...header, suffix: header.suffix.map(() => Buffer.alloc(32)) },
      ...lines.slice(1),
    ] as BundleLine[];
    expect(verifyBundle(wrongSuffix.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'root-mismatch', index: 11 },
    });
    const short = [
      { ...header, prefix: header.prefix.slice(1) },
      ...lines.slice(1),
    ] as BundleLine[];
    expect(verifyBundle(short.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: {
        code: 'bad-range',
        line: 1,
        message:
          'entries [11, 14) of a tree of 21 need 3 prefix and 3 suffix hashes, the header has 2 and 3',
      },
    });
  });

  it('fails against a checkpoint of another tree of the same size, signed by the pinned key', () => {
    const lines = bundleLines(8, 0, 8);
    lines[2] = { type: 'checkpoint', size: 8, note: log(8).note };
    expect(verifyBundle(lines.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'root-mismatch', index: 0 },
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
    short[0] = { ...(short[0] as Header), to: 7, suffix: [log(8).subtree({ level: 0, index: 7 })] };
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
    renamed[0] = { ...(renamed[0] as Header), logId: 'tokens.usage-0' };
    expect(verifyBundle(renamed.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'origin-mismatch', line: 1 },
    });
    renamed[0] = { ...renamed[0], origin: 'example.test/ledger/tokens.usage-0' };
    expect(verifyBundle(renamed.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'checkpoint-failed', cause: 'origin-mismatch' },
    });
  });

  it('catches a chain hash that does not follow', () => {
    const lines = bundleLines(6, 0, 6);
    lines[3 + 4] = { ...(lines[3 + 4] as Entry), chainHash: Buffer.alloc(32, 1) };
    expect(verifyBundle(lines.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'chain-mismatch', index: 4 },
    });
  });

  it('refuses lines out of place, a bad range, a checkpoint of another size, a proof in a version 2 entry and a bundle without a checkpoint', () => {
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
    wide[0] = { ...(wide[0] as Header), to: 5 };
    expect(verifyBundle(wide.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'bad-range' },
    });
    const bigger = bundleLines(4, 0, 4);
    bigger[0] = { ...(bigger[0] as Header), treeSize: 5, suffix: [Buffer.alloc(32)] };
    expect(verifyBundle(bigger.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'size-mismatch' },
    });
    const proved = bundleLines(4, 0, 4);
    proved[4] = { ...(proved[4] as Entry), proof: [] };
    expect(verifyBundle(proved.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'malformed-line', index: 1 },
    });
  });

  it('streams: push() reports the first failure at its line and keeps reporting it', () => {
    const lines = tamper(bundleLines(6, 0, 6), 2, false).map(formatBundleLine);
    const verifier = new BundleVerifier({ trust });
    const results = lines.map((l) => verifier.push(l.trimEnd()));
    expect(results.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(results[5]).toMatchObject({ code: 'chain-mismatch', index: 2, line: 6 });
    expect(results[8]).toBe(results[5]);
    expect(verifier.finish()).toEqual({ ok: false, error: results[5] });
  });
});

describe('verifyBundle, version 1 bundles (a proof in each entry) are still read', () => {
  it('accepts a full and a middle range', () => {
    expect(verifyBundle(bundle(13, 0, 13, 1), { trust })).toMatchObject({
      ok: true,
      summary: { kind: 'range', version: 1, entries: 13 },
    });
    expect(verifyBundle(bundle(13, 5, 9, 1), { trust })).toMatchObject({ ok: true });
  });

  it('names the entry whose proof or leaf is wrong', () => {
    const lines = tamper(bundleLines(10, 0, 10, 1), 6, true);
    expect(verifyBundle(lines.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'inclusion-failed', index: 6, line: 10 },
    });
    const proofs = bundleLines(10, 0, 10, 1);
    const e = proofs[3 + 4] as Entry;
    proofs[3 + 4] = { ...e, proof: [...(e.proof ?? []).slice(1), Buffer.alloc(32)] };
    expect(verifyBundle(proofs.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'inclusion-failed', index: 4 },
    });
  });
});

const TOKEN = '0190b7e2-0000-7000-8000-000000000001';
const OTHER = '0190b7e2-0000-7000-8000-000000000002';

/** A token's evidence over two logs, built with ledger-core (leaves as the ledger writes them). */
function evidence() {
  const sections = [
    { topic: 'tokens.lifecycle', partition: 0, size: 9, mine: [1, 4, 8] },
    { topic: 'tokens.usage', partition: 2, size: 6, mine: [0, 5] },
  ];
  const lines: BundleLine[] = [
    { type: 'evidence', version: 1, tokenId: TOKEN, logs: sections.length },
    { type: 'keys', keys: [{ name: signer.name, verifierKey: key, active: true }] },
  ];
  for (const s of sections) {
    const logId = `${s.topic}-${s.partition}`;
    const leaves = Array.from({ length: s.size }, (_, offset) =>
      leafBytes(
        { topic: s.topic, partition: s.partition, offset, timestamp: 1_800_000_000_000 + offset },
        {
          kind: 'event',
          event: {
            id: `e-${offset}`,
            type: 'tokenledger.token.used.v1',
            subject: s.mine.includes(offset) ? TOKEN : OTHER,
          },
        },
      ),
    );
    const hashes = leaves.map(leafHash);
    const body = formatCheckpoint({
      origin: `example.test/ledger/${logId}`,
      size: s.size,
      rootHash: rootHash(hashes),
    });
    lines.push({
      type: 'log',
      logId,
      size: s.size,
      entries: s.mine.length,
      note: signNote(body, signer),
    });
    for (const i of s.mine)
      lines.push({
        type: 'log-entry',
        logId,
        index: i,
        leaf: leaves[i] as Buffer,
        proof: inclusionProof(i, s.size, hashes),
      });
  }
  return { lines, other: OTHER };
}

describe("verifyBundle, a token's evidence (inclusion proofs to each log's checkpoint)", () => {
  type LogEntry = BundleLine & { type: 'log-entry' };
  it('accepts every entry of the token across logs and sums them up per log', () => {
    const { lines } = evidence();
    expect(verifyBundle(lines.map(formatBundleLine), { trust })).toMatchObject({
      ok: true,
      summary: {
        kind: 'evidence',
        tokenId: TOKEN,
        entries: 5,
        logs: [
          { logId: 'tokens.lifecycle-0', treeSize: 9, entries: 3, keys: [key] },
          { logId: 'tokens.usage-2', treeSize: 6, entries: 2, keys: [key] },
        ],
      },
    });
  });

  it('names the log and index of a wrong proof and of a changed leaf', () => {
    const { lines } = evidence();
    const e = lines[4] as LogEntry;
    lines[4] = { ...e, proof: [Buffer.alloc(32), ...e.proof.slice(1)] };
    expect(verifyBundle(lines.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'inclusion-failed', logId: 'tokens.lifecycle-0', index: 4, line: 5 },
    });
    const changed = evidence().lines;
    const f = changed[8] as LogEntry;
    changed[8] = { ...f, leaf: Buffer.from(Buffer.from(f.leaf).toString().replace('e-5', 'e-6')) };
    expect(verifyBundle(changed.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'inclusion-failed', logId: 'tokens.usage-2', index: 5 },
    });
  });

  it("refuses another token's entry, even with a good proof", () => {
    const { lines } = evidence();
    (lines[0] as { tokenId: string }).tokenId = OTHER;
    expect(verifyBundle(lines.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'not-token-entry', logId: 'tokens.lifecycle-0', index: 1 },
    });
  });

  it('refuses a checkpoint of another log, a foreign key, missing or extra entries and sections out of order', () => {
    const swapped = evidence().lines;
    const log0 = swapped[2] as BundleLine & { type: 'log' };
    const log1 = swapped[6] as BundleLine & { type: 'log' };
    swapped[2] = { ...log0, note: log1.note, size: log1.size };
    expect(verifyBundle(swapped.map(formatBundleLine), { trust })).toMatchObject({
      ok: false,
      error: { code: 'checkpoint-failed', cause: 'origin-mismatch', logId: 'tokens.lifecycle-0' },
    });
    const other = signerFromSeed('example.test/ledger', Buffer.alloc(32, 9));
    expect(
      verifyBundle(evidence().lines.map(formatBundleLine), {
        trust: policyOf([verifierKey(other.name, other.publicKey)]),
      }),
    ).toMatchObject({ ok: false, error: { code: 'checkpoint-failed', cause: 'key-mismatch' } });
    const texts = evidence().lines.map(formatBundleLine);
    expect(verifyBundle([...texts.slice(0, 4), ...texts.slice(5)], { trust })).toMatchObject({
      ok: false,
      error: { code: 'truncated', logId: 'tokens.lifecycle-0', line: 6 },
    });
    expect(verifyBundle(texts.slice(0, -1), { trust })).toMatchObject({
      ok: false,
      error: { code: 'truncated', logId: 'tokens.usage-2' },
    });
    expect(verifyBundle(texts.slice(0, 6), { trust })).toMatchObject({
      ok: false,
      error: { code: 'truncated', message: 'the header declares 2 logs, the bundle ends after 1' },
    });
    expect(
      verifyBundle([...texts.slice(0, 4), texts[3] as string, ...texts.slice(4)], { trust }),
    ).toMatchObject({ ok: false, error: { code: 'entry-out-of-order', index: 1 } });
    expect(
      verifyBundle(
        [texts[0] as string, texts[1] as string, ...texts.slice(6), ...texts.slice(2, 6)],
        {
          trust,
        },
      ),
    ).toMatchObject({ ok: false, error: { code: 'out-of-place', line: 6 } });
  });
});
