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
  | 'head-root-mismatch'
  | 'witnessed-root-mismatch';

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

/** Checks a stored checkpoint note (signature, origin); what LogVerifier needs of its answer. */
export type CheckpointNoteCheck = (note: string) =>
  | {
      readonly ok: true;
      readonly checkpoint: { readonly size: number; readonly rootHash: Uint8Array };
    }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

interface PendingCheckpoint {
  readonly size: number;
  /** A stored note to check, or a root already checked elsewhere (a witness's checkpoint). */
  readonly note?: string;
  readonly rootHash?: Uint8Array;
  /** Who vouches for `rootHash` (named in the error). */
  readonly source?: string;
}

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
  private pending: PendingCheckpoint[] = [];
  private readonly check: CheckpointNoteCheck;
  private checked = 0;
  private lastGood = 0;
  private failure: LogError | undefined;

  /**
   * `checkpoints`: signed checkpoints of the log (more may follow through addCheckpoints);
   * `verify`: the keys to check them with (then `origin`, when given, MUST be theirs), or a check
   * of its own (a pinned TrustPolicy's, see verifyTrustedCheckpoint).
   */
  constructor(
    checkpoints: ReadonlyArray<{ readonly size: number; readonly note: string }>,
    verify: readonly NoteVerifier[] | CheckpointNoteCheck,
    origin?: string,
  ) {
    this.check =
      typeof verify === 'function' ? verify : (note) => openCheckpoint(note, verify, origin);
    this.addCheckpoints(checkpoints);
  }

  /** Rows pushed so far. */
  get length(): number {
    return this.chain.next;
  }

  /**
   * More checkpoints (a page). A checkpoint MUST be added before the leaf that completes its size
   * is pushed: one smaller than `length` fails as a root mismatch.
   */
  addCheckpoints(
    checkpoints: ReadonlyArray<{ readonly size: number; readonly note: string }>,
  ): void {
    this.enqueue(checkpoints.map((c) => ({ size: c.size, note: c.note })));
  }

  /**
   * A root at `size` checked elsewhere (the largest checkpoint a witness cosigned): the stored log
   * MUST reach that size with that root, else 'truncated' or 'witnessed-root-mismatch'. Same
   * ordering rule as addCheckpoints.
   */
  expectRoot(size: number, rootHash: Uint8Array, source: string): void {
    this.enqueue([{ size, rootHash, source }]);
  }

  private enqueue(items: PendingCheckpoint[]): void {
    // At one size, the stored checkpoint is checked before a witness's: its failure says more.
    const rank = (c: PendingCheckpoint): number => (c.rootHash === undefined ? 0 : 1);
    this.pending = [...this.pending, ...items].sort((a, b) => a.size - b.size || rank(a) - rank(b));
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
    else if (this.pending.length > 0) {
      const largest = this.pending[this.pending.length - 1] as PendingCheckpoint;
      this.fail(
        'truncated',
        stored,
        largest.source
          ? `${largest.source} cosigned a checkpoint at size ${largest.size} but only ${stored} leaves are stored (truncated)`
          : `a checkpoint was signed at size ${largest.size} but only ${stored} leaves are stored (truncated)`,
      );
    } else if (head && !this.range.root().equals(head.rootHash))
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
      if (cp.rootHash !== undefined) {
        if (cp.size !== size || !this.range.root().equals(Buffer.from(cp.rootHash)))
          return this.fail(
            'witnessed-root-mismatch',
            this.lastGood,
            `root of the first ${cp.size} stored leaves differs from the checkpoint ${cp.source ?? 'a witness'} cosigned at size ${cp.size}`,
          );
        this.lastGood = Math.max(this.lastGood, cp.size);
        continue;
      }
      const opened = this.check(cp.note ?? '');
      if (!opened.ok)
        return this.fail(
          'checkpoint-failed',
          this.lastGood,
          `checkpoint at size ${cp.size}: ${opened.error.code}: ${opened.error.message}`,
        );
      if (
        opened.checkpoint.size !== cp.size ||
        cp.size !== size ||
        !this.range.root().equals(Buffer.from(opened.checkpoint.rootHash))
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
