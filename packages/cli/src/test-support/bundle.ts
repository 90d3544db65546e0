// Evidence bundles built with ledger-core alone (no server), signed by a chosen log key and
// cosigned by chosen witnesses, for the CLI's tests.
import {
  CHAIN_SEED,
  chainHashes,
  formatBundleLine,
  formatCheckpoint,
  inclusionProof,
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
}

/** The NDJSON text of a bundle of entries [0, size). */
export function buildBundle(spec: BundleSpec): string {
  const leaves = Array.from({ length: spec.size }, (_, i) => Buffer.from(`{"v":1,"i":${i}}`));
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
      version: 1,
      logId: spec.logId,
      origin,
      from: 0,
      to: spec.size,
      treeSize: spec.size,
      chainStart: CHAIN_SEED,
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
      proof: inclusionProof(i, spec.size, hashes),
    })),
  ];
  return lines.map(formatBundleLine).join('');
}
