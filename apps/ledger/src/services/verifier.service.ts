import { Injectable } from '@nestjs/common';
import {
  LogVerifier,
  parseVerifierKey,
  type LogError,
  type NoteVerifier,
} from '@tokenledger/ledger-core';
import { LedgerRepository } from '../repositories/ledger.repository';

export interface LogVerification {
  logId: string;
  ok: boolean;
  size: number;
  checkpointsChecked: number;
  /** The first failure: its code, the first index the stored log cannot vouch for, and why. */
  error?: LogError;
}

const PAGE = 5000;

/**
 * Recomputes a log from its stored leaf bytes with ledger-core's LogVerifier: every leaf hash, the
 * linear chain, and the root at every checkpoint size, checked against the checkpoint's signature
 * and root. Reports the first bad index; a root mismatch is pinned to the span after the last
 * checkpoint that still verifies.
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
    const log = new LogVerifier(checkpoints, await this.verifiers());
    const size = head?.size ?? 0;
    let failed = false;
    for (let next = 0; !failed; next += PAGE) {
      const page = await this.repository.leaves(logId, next, PAGE);
      failed = page.some((row) => log.push(row) !== undefined);
      if (page.length < PAGE) break;
    }
    const result = log.finish(head);
    return result.ok
      ? { logId, ok: true, size, checkpointsChecked: result.checkpointsChecked }
      : {
          logId,
          ok: false,
          size,
          checkpointsChecked: result.checkpointsChecked,
          error: result.error,
        };
  }

  private async verifiers(): Promise<NoteVerifier[]> {
    const keys = await this.repository.keys();
    return keys.flatMap((k) => {
      const parsed = parseVerifierKey(k.verifierKey);
      return parsed.ok ? [parsed.verifier] : [];
    });
  }
}
