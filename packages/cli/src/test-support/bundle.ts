// Evidence bundles built with ledger-core alone (no server), signed by a chosen log key and
// cosigned by chosen witnesses, for the CLI's tests.
import {
  CHAIN_SEED,
  chainHashes,
  formatBundleLine,
  formatCheckpoint,
  inclusionProof,
  leafBytes,
  leafHash,
  rootHash,
  signNote,
  verifierKey,
  type BundleLine,
  type Cosigner,
  type NoteSigner,
} from '@tokenledger/ledger-core';

export interface BundleSpec {
  /** The log the header claims. */
  logId: string;
  /** The origin the header states; default `<prefix>/<logId>`. */
  origin?: string;
  /** The origin the checkpoint is signed for; default the header's. */
  checkpointOrigin?: string;
  prefix: string;
  size: number;
  /** Signs the checkpoint. */
  signer: NoteSigner;
  /** Listed in the bundle's `keys` line; default the signer's key. */
  listedKeys?: string[];
  cosigners?: Cosigner[];
  /** Cosignature timestamp (POSIX seconds). */
  time?: number;
  /** Pad each leaf to about this many bytes. */
  leafBytes?: number;
}

/** The NDJSON text of a range bundle of entries [0, size), version 2 (no per-entry proofs). */
export function buildBundle(spec: BundleSpec): string {
  const pad = 'x'.repeat(Math.max(0, (spec.leafBytes ?? 0) - 20));
  const leaves = Array.from({ length: spec.size }, (_, i) =>
    Buffer.from(`{"v":1,"i":${i},"p":"${pad}"}`),
  );
  const hashes = leaves.map(leafHash);
  const chain = chainHashes(hashes);
  const origin = spec.origin ?? `${spec.prefix}/${spec.logId}`;
  const body = formatCheckpoint({
    origin: spec.checkpointOrigin ?? origin,
    size: spec.size,
    rootHash: rootHash(hashes),
  });
  const note =
    signNote(body, spec.signer) +
    (spec.cosigners ?? []).map((w) => w.cosign(body, spec.time ?? 1_800_000_000)).join('');
  const keys = spec.listedKeys ?? [verifierKey(spec.signer.name, spec.signer.publicKey)];
  const lines: BundleLine[] = [
    {
      type: 'bundle',
      version: 2,
      logId: spec.logId,
      origin,
      from: 0,
      to: spec.size,
      treeSize: spec.size,
      chainStart: CHAIN_SEED,
      prefix: [],
      suffix: [],
    },
    {
      type: 'keys',
      keys: keys.map((verifierKey) => ({ name: spec.signer.name, verifierKey, active: true })),
    },
    { type: 'checkpoint', size: spec.size, note },
    ...leaves.map((leaf, i): BundleLine => ({
      type: 'entry',
      index: i,
      leaf,
      chainHash: chain[i] as Buffer,
    })),
  ];
  return lines.map(formatBundleLine).join('');
}

/**
 * The NDJSON text of a token's evidence: in each log of `sizes` (logs `<topic>-0`, `<topic>-1`,
 * ... of tokens.lifecycle), the even indexes are events of `tokenId`, the odd ones of another token.
 */
export function buildEvidence(spec: {
  tokenId: string;
  prefix: string;
  sizes: number[];
  signer: NoteSigner;
  cosigners?: Cosigner[];
}): string {
  const lines: BundleLine[] = [
    { type: 'evidence', version: 1, tokenId: spec.tokenId, logs: spec.sizes.length },
  ];
  spec.sizes.forEach((size, partition) => {
    const topic = 'tokens.lifecycle';
    const logId = `${topic}-${partition}`;
    const leaves = Array.from({ length: size }, (_, offset) =>
      leafBytes(
        { topic, partition, offset, timestamp: 1_800_000_000_000 + offset },
        {
          kind: 'event',
          event: {
            id: `00000000-0000-7000-8000-${String(offset).padStart(12, '0')}`,
            type: 'tokenledger.token.revoked.v1',
            subject: offset % 2 === 0 ? spec.tokenId : '00000000-0000-7000-8000-ffffffffffff',
          },
        },
      ),
    );
    const hashes = leaves.map(leafHash);
    const body = formatCheckpoint({
      origin: `${spec.prefix}/${logId}`,
      size,
      rootHash: rootHash(hashes),
    });
    const note =
      signNote(body, spec.signer) +
      (spec.cosigners ?? []).map((w) => w.cosign(body, 1_800_000_000)).join('');
    const mine = leaves.flatMap((_, i) => (i % 2 === 0 ? [i] : []));
    lines.push({ type: 'log', logId, size, entries: mine.length, note });
    for (const i of mine)
      lines.push({
        type: 'log-entry',
        logId,
        index: i,
        leaf: leaves[i] as Buffer,
        proof: inclusionProof(i, size, hashes),
      });
  });
  return lines.map(formatBundleLine).join('');
}
