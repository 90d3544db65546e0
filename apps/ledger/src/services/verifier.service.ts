import { Injectable } from '@nestjs/common';
import { CHAIN_SEED, chainNext, leafHash, openCheckpoint, parseVerifierKey, type NoteVerifier } from '@tokenledger/ledger-core';
import { CompactRange } from '../domain/compact-range';
import { LedgerRepository } from '../repositories/ledger.repository';

export interface LogVerification {
  logId: string;
  ok: boolean;
  size: number;
  checkpointsChecked: number;
  /** The first index whose stored data does not match (or the first index a failing checkpoint cannot vouch for). */
  firstBadIndex?: number;
  problem?: string;
}

const PAGE = 5000;

/**
 * Recomputes a log from its stored leaf bytes: every leaf hash, the linear chain, and the root at
 * every checkpoint size, checked against the checkpoint's signature and root. Reports the first
 * bad index; a root mismatch is pinned to the span after the last checkpoint that still verifies.
 */
@Injectable()
export class VerifierService {
  constructor(private readonly repository: LedgerRepository) {}

  async verifyAll(): Promise<LogVerification[]> {
    const heads = await this.repository.heads();
    return Promise.all(heads.map((h) => this.verify(h.logId)));
  }

  async verify(logId: string): Promise<LogVerification> {
    const head = await this.repository.head(logId);
    const checkpoints = await this.repository.checkpoints(logId);
    const verifiers = await this.verifiers();
    const size = head?.size ?? 0;
    const fail = (firstBadIndex: number, problem: string, checked: number): LogVerification => ({ logId, ok: false, size, checkpointsChecked: checked, firstBadIndex, problem });

    const range = new CompactRange();
    let chain = CHAIN_SEED;
    let next = 0;
    let checked = 0;
    let lastGood = 0;
    const pending = [...checkpoints];
    const checkUpTo = (n: number): LogVerification | undefined => {
      while (pending[0] && pending[0].size === n) {
        const cp = pending.shift();
        if (!cp) break;
        const opened = openCheckpoint(cp.note, verifiers);
        if (!opened.ok) return fail(lastGood, `checkpoint at size ${cp.size}: ${opened.error.message}`, checked);
        if (opened.checkpoint.size !== cp.size || !range.root().equals(opened.checkpoint.rootHash)) {
          return fail(lastGood, `root of the first ${cp.size} stored leaves differs from the signed checkpoint at size ${cp.size}`, checked);
        }
        checked += 1;
        lastGood = cp.size;
      }
      return undefined;
    };

    for (;;) {
      const page = await this.repository.leaves(logId, next, PAGE);
      for (const row of page) {
        if (row.index !== next) return fail(next, `leaf ${next} is missing (next stored index is ${row.index})`, checked);
        const hash = leafHash(row.leaf);
        if (!hash.equals(row.leafHash)) return fail(next, `leaf ${next}: stored leaf hash does not match its bytes`, checked);
        chain = chainNext(chain, hash);
        if (!chain.equals(row.chainHash)) return fail(next, `leaf ${next}: chain hash does not match`, checked);
        range.append(hash);
        next += 1;
        const bad = checkUpTo(next);
        if (bad) return bad;
      }
      if (page.length < PAGE) break;
    }
    if (next < size) return fail(next, `the head says ${size} leaves but only ${next} are stored`, checked);
    if (pending.length > 0) {
      const cp = pending[0];
      return fail(next, `a checkpoint was signed at size ${cp?.size ?? '?'} but only ${next} leaves are stored (truncated)`, checked);
    }
    if (head && !range.root().equals(head.rootHash)) return fail(lastGood, 'the stored head root differs from the recomputed root', checked);
    return { logId, ok: true, size, checkpointsChecked: checked };
  }

  private async verifiers(): Promise<NoteVerifier[]> {
    const keys = await this.repository.keys();
    return keys.flatMap((k) => {
      const parsed = parseVerifierKey(k.verifierKey);
      return parsed.ok ? [parsed.verifier] : [];
    });
  }
}
