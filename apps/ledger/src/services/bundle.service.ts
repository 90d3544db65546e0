import { Injectable } from '@nestjs/common';
import { DomainError } from '@tokenledger/errors';
import {
  BUNDLE_VERSION,
  CHAIN_SEED,
  EVIDENCE_VERSION,
  formatBundleLine,
  type BundleLine,
} from '@tokenledger/ledger-core';
import { LedgerRepository, type CheckpointRow } from '../repositories/ledger.repository';
import { CheckpointerService } from './checkpointer.service';
import { ProofService } from './proof.service';
import { WitnessingService } from './witnessing.service';

/** Rows read per query while a bundle streams. */
const PAGE = 1000;

/**
 * The two evidence bundles (format: ledger-core bundle.ts, docs/design/ledger.md), as NDJSON
 * lines produced while the client reads them: storage is read one page at a time, so memory does
 * not depend on the size of the bundle. Everything that can fail on the request (unknown log, bad
 * range, no evidence) fails before the first line.
 */
@Injectable()
export class BundleService {
  constructor(
    private readonly repository: LedgerRepository,
    private readonly proofs: ProofService,
    private readonly checkpointer: CheckpointerService,
    private readonly witnessing: WitnessingService,
  ) {}

  /**
   * A range bundle (version 2) of entries [from, min(to, checkpoint size)) against the log's latest
   * checkpoint: the header carries the compact ranges of [0, from) and [to, checkpoint size).
   */
  async range(logId: string, from: number, to?: number): Promise<AsyncIterable<string>> {
    const cp = await this.repository.latestCheckpoint(logId);
    if (!cp) throw new DomainError('log_not_found', `no checkpoint for ${logId} yet`);
    const end = Math.min(to ?? cp.size, cp.size);
    if (from >= end) throw new DomainError('bad_range', `from must be below ${end}`);
    const [before] = from > 0 ? await this.repository.leaves(logId, from - 1, 1) : [];
    const head: BundleLine[] = [
      {
        type: 'bundle',
        version: BUNDLE_VERSION,
        logId,
        origin: this.checkpointer.origin(logId),
        from,
        to: end,
        treeSize: cp.size,
        chainStart: before?.chainHash ?? CHAIN_SEED,
        prefix: await this.proofs.subtrees(logId, 0, from),
        suffix: await this.proofs.subtrees(logId, end, cp.size),
      },
      await this.keysLine(),
      { type: 'checkpoint', size: cp.size, note: await this.note(cp) },
    ];
    const { repository } = this;
    async function* lines(): AsyncGenerator<string> {
      for (const line of head) yield formatBundleLine(line);
      for (let at = from; at < end; at += PAGE) {
        const rows = await repository.leaves(logId, at, Math.min(PAGE, end - at));
        // A stored leaf missing below the checkpoint size: stop; the verifier reports `truncated`.
        if (rows.length === 0 || rows[0]?.index !== at) return;
        for (const row of rows)
          yield formatBundleLine({
            type: 'entry',
            index: row.index,
            leaf: row.leaf,
            chainHash: row.chainHash,
          });
      }
    }
    return lines();
  }

  /**
   * Every `event` leaf of one token below the latest checkpoint of its log, across logs (logId
   * order, then index order), each with its inclusion proof to that checkpoint. Entries appended
   * after a log's latest checkpoint are left out until the next one is signed (about
   * CHECKPOINT_INTERVAL_MS later). `no_evidence` (404) when there is none.
   */
  async tokenEvidence(tokenId: string): Promise<AsyncIterable<string>> {
    const sections: Array<{ cp: CheckpointRow; entries: number; note: string }> = [];
    for (const logId of await this.repository.subjectLogs(tokenId)) {
      const cp = await this.repository.latestCheckpoint(logId);
      if (!cp) continue;
      const entries = await this.repository.countSubjectLeaves(tokenId, logId, cp.size);
      if (entries > 0) sections.push({ cp, entries, note: await this.note(cp) });
    }
    if (sections.length === 0)
      throw new DomainError(
        'no_evidence',
        `no recorded event of token ${tokenId} is covered by a signed checkpoint yet`,
      );
    const head: BundleLine[] = [
      { type: 'evidence', version: EVIDENCE_VERSION, tokenId, logs: sections.length },
      await this.keysLine(),
    ];
    const { repository, proofs } = this;
    async function* lines(): AsyncGenerator<string> {
      for (const line of head) yield formatBundleLine(line);
      for (const { cp, entries, note } of sections) {
        const { logId, size } = cp;
        yield formatBundleLine({ type: 'log', logId, size, entries, note });
        for (let after = -1; ;) {
          const rows = await repository.subjectLeaves(tokenId, logId, after, size, PAGE);
          if (rows.length === 0) break;
          const paths = await proofs.inclusionMany(
            logId,
            rows.map((r) => r.index),
            size,
          );
          for (const [i, row] of rows.entries())
            yield formatBundleLine({
              type: 'log-entry',
              logId,
              index: row.index,
              leaf: row.leaf,
              proof: paths[i] ?? [],
            });
          after = (rows[rows.length - 1] as { index: number }).index;
        }
      }
    }
    return lines();
  }

  private async keysLine(): Promise<BundleLine> {
    const keys = await this.repository.keys();
    return {
      type: 'keys',
      keys: keys.map((k) => ({ name: k.name, verifierKey: k.verifierKey, active: k.active })),
    };
  }

  /** The checkpoint as served: the log's signature and the configured witnesses' cosignatures. */
  private async note(cp: CheckpointRow): Promise<string> {
    return (await this.witnessing.cosigned(cp)).note;
  }
}
