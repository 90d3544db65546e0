import { ChainVerifier } from './chain';
import { openCheckpoint } from './checkpoint';
import { CompactRange } from './compact-range';
import type { NoteVerifier } from './note';
import { HASH_SIZE, leafHash } from './rfc6962';

export type LogErrorCode =
  | 'missing-leaf'
  | 'leaf-hash-mismatch'
  | 'chain-mismatch'
  | 'bad-hash-length'
  | 'checkpoint-failed'
  | 'checkpoint-root-mismatch'
  | 'truncated'
  | 'head-root-mismatch';

export interface LogError {
  readonly code: LogErrorCode;
  /**
   * The first index the stored log cannot vouch for: a changed leaf, hash or chain value at its
   * own index; a missing row at its index; for a root that differs from a signed checkpoint, the
   * size of the last checkpoint that still verifies (the leaves before it are vouched for by a
   * signature, the span after it is not).
   */
  readonly index: number;
  readonly message: string;
}

export type LogVerification =
  | { readonly ok: true; readonly size: number; readonly checkpointsChecked: number }
  | { readonly ok: false; readonly checkpointsChecked: number; readonly error: LogError };

/** A stored leaf row as the verifier needs it. */
export interface StoredLeaf {
  readonly index: number;
  readonly leaf: Uint8Array;
  readonly leafHash: Uint8Array;
  readonly chainHash: Uint8Array;
}

/**
 * Recomputes a stored log, leaf by leaf, from its leaf bytes: every leaf hash, the linear chain,
 * and the root at every checkpoint size, checked against the checkpoint's signature and root.
 * Rows MUST be pushed in index order from 0; the first failure sticks. Pure: the caller reads.
 */
export class LogVerifier {
  private readonly range = new CompactRange();
  private readonly chain = new ChainVerifier();
  private readonly pending: Array<{ readonly size: number; readonly note: string }>;
  private checked = 0;
  private lastGood = 0;
  private failure: LogError | undefined;

  /** `checkpoints`: every signed checkpoint of the log; `origin`, when given, MUST be theirs. */
  constructor(
    checkpoints: ReadonlyArray<{ readonly size: number; readonly note: string }>,
    private readonly verifiers: readonly NoteVerifier[],
    private readonly origin?: string,
  ) {
    this.pending = [...checkpoints].sort((a, b) => a.size - b.size);
  }

  get checkpointsChecked(): number {
    return this.checked;
  }

  push(row: StoredLeaf): LogError | undefined {
    if (this.failure) return this.failure;
    const next = this.chain.next;
    if (next === 0) {
      const early = this.checkUpTo(0);
      if (early) return early;
    }
    if (row.index !== next)
      return this.fail(
        'missing-leaf',
        next,
        `leaf ${next} is missing (next stored index is ${row.index})`,
      );
    const hash = leafHash(row.leaf);
    if (row.leafHash.length !== HASH_SIZE || !hash.equals(row.leafHash))
      return this.fail(
        'leaf-hash-mismatch',
        next,
        `leaf ${next}: stored leaf hash does not match its bytes`,
      );
    const broken = this.chain.check(hash, row.chainHash);
    if (broken)
      return this.fail(broken.code, broken.index, `leaf ${next}: chain hash does not match`);
    this.range.append(hash);
    return this.checkUpTo(next + 1);
  }

  /** After the last stored row: `head` is the stored head (size and root), if any. */
  finish(head?: { readonly size: number; readonly rootHash: Uint8Array }): LogVerification {
    const done = (): LogVerification =>
      this.failure
        ? { ok: false, checkpointsChecked: this.checked, error: this.failure }
        : { ok: true, size: this.range.length, checkpointsChecked: this.checked };
    if (this.failure) return done();
    const stored = this.range.length;
    if (stored === 0 && this.checkUpTo(0)) return done();
    const size = head?.size ?? 0;
    if (stored < size)
      this.fail('truncated', stored, `the head says ${size} leaves but only ${stored} are stored`);
    else if (this.pending[0])
      this.fail(
        'truncated',
        stored,
        `a checkpoint was signed at size ${this.pending[0].size} but only ${stored} leaves are stored (truncated)`,
      );
    else if (head && !this.range.root().equals(head.rootHash))
      this.fail(
        'head-root-mismatch',
        this.lastGood,
        'the stored head root differs from the recomputed root',
      );
    return done();
  }

  private checkUpTo(size: number): LogError | undefined {
    while (this.pending[0] && this.pending[0].size <= size) {
      const cp = this.pending.shift();
      if (!cp) break;
      const opened = openCheckpoint(cp.note, this.verifiers, this.origin);
      if (!opened.ok)
        return this.fail(
          'checkpoint-failed',
          this.lastGood,
          `checkpoint at size ${cp.size}: ${opened.error.code}: ${opened.error.message}`,
        );
      if (
        opened.checkpoint.size !== cp.size ||
        cp.size !== size ||
        !this.range.root().equals(opened.checkpoint.rootHash)
      ) {
        return this.fail(
          'checkpoint-root-mismatch',
          this.lastGood,
          `root of the first ${cp.size} stored leaves differs from the signed checkpoint at size ${cp.size}`,
        );
      }
      this.checked += 1;
      this.lastGood = cp.size;
    }
    return undefined;
  }

  private fail(code: LogErrorCode, index: number, message: string): LogError {
    this.failure = { code, index, message };
    return this.failure;
  }
}
