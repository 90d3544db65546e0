// A test log: leaves, checkpoints signed with ledger-core, consistency proofs between sizes.
import {
  consistencyProof,
  formatCheckpoint,
  leafHash,
  rootHash,
  signerFromSeed,
  signNote,
  verifierKey,
  type NoteSigner,
} from '@tokenledger/ledger-core';
import { formatAddCheckpointBody } from '../request';

export class TestLog {
  readonly signer: NoteSigner;
  readonly leaves: Buffer[];

  /**
   * `fork` changes every leaf from that index on: the same log key showing another history.
   * `keyName` (default: the origin) names the signing key, e.g. one key for the logs under a prefix.
   */
  constructor(
    readonly origin: string,
    size: number,
    options: { seedByte?: number; fork?: number; keyName?: string } = {},
  ) {
    this.signer = signerFromSeed(
      options.keyName ?? origin,
      Buffer.alloc(32, options.seedByte ?? 1),
    );
    this.leaves = Array.from({ length: size }, (_, i) =>
      leafHash(Buffer.from(`${i >= (options.fork ?? Infinity) ? 'fork-' : ''}leaf ${i}`)),
    );
  }

  get verifierKey(): string {
    return verifierKey(this.signer.name, this.signer.publicKey);
  }

  root(size: number): Buffer {
    return rootHash(this.leaves.slice(0, size));
  }

  body(size: number): string {
    return formatCheckpoint({ origin: this.origin, size, rootHash: this.root(size) });
  }

  note(size: number, signer: NoteSigner = this.signer): string {
    return signNote(this.body(size), signer);
  }

  proof(from: number, to: number): Buffer[] {
    return consistencyProof(from, to, this.leaves);
  }

  /** The add-checkpoint body from `from` to `to` with a real proof. */
  request(from: number, to: number): string {
    return formatAddCheckpointBody({
      oldSize: from,
      proof: this.proof(from, to),
      note: this.note(to),
    });
  }
}
