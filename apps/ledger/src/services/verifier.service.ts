import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  LogVerifier,
  verifyTrustedCheckpoint,
  type CheckpointNoteCheck,
  type LogError,
} from '@tokenledger/ledger-core';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import type { LedgerConfig } from '../config';
import { CosignatureRepository } from '../repositories/cosignature.repository';
import { LedgerRepository, type CheckpointRow } from '../repositories/ledger.repository';
import { SigningKeyService } from './signing-key.service';
import { verifierTrust, type VerifierTrust } from './verifier-trust';

/** What one configured witness said about one log. */
export interface WitnessReport {
  /** The witness's key name. */
  witness: string;
  /**
   * `ok`: it served a checkpoint that verifies under the trusted keys with its own cosignature;
   * `none`: it has cosigned nothing for this log (404); `unreachable`: no answer, a network error
   * or an unexpected status; `invalid`: what it served does not verify (not used for the check).
   */
  status: 'ok' | 'none' | 'unreachable' | 'invalid';
  /** The size of its checkpoint, when `ok`. */
  size?: number;
  message?: string;
}

export interface LogVerification {
  logId: string;
  ok: boolean;
  size: number;
  checkpointsChecked: number;
  /** The first failure: its code, the first index the stored log cannot vouch for, and why. */
  error?: LogError;
  /** The largest checkpoint a witness cosigned (verified), which the stored log must reach. */
  witnessedSize?: number;
  /** One report per configured witness, in configuration order. */
  witnesses: WitnessReport[];
}

export interface VerifyAnswer {
  /** Every log verified; with unreachable witnesses, as far as the reachable ones could show. */
  ok: boolean;
  logs: LogVerification[];
  /** Witnesses that were unreachable or answered something invalid for at least one log. */
  unreachableWitnesses: string[];
}

const WITNESS_TIMEOUT_MS = 5000;

/**
 * Recomputes a log from its stored leaf bytes with ledger-core's LogVerifier: every leaf hash, the
 * linear chain, and the root at every stored checkpoint size, each checkpoint checked against the
 * configured trust (verifierTrust: never `signing_keys`). Then against the outside: each
 * configured witness's latest cosigned checkpoint of the log (monitoring endpoint) MUST be
 * reached by the stored log with the same root, so a truncation or a rewrite that the database
 * alone hides (tail and later checkpoints deleted, head rolled back, suffix re-signed) is
 * `truncated` or `witnessed-root-mismatch`. Bounded memory: leaves and checkpoints are read in
 * pages, and logs are verified one at a time.
 */
@Injectable()
export class VerifierService {
  private readonly trust: VerifierTrust;
  /** Replaceable in tests; the witnesses are plain HTTP (c2sp.org/tlog-witness). */
  fetch: typeof globalThis.fetch = globalThis.fetch;
  /** Rows read per query: what one log's verification holds in memory at once. */
  pageSizes = { leaves: 5000, checkpoints: 1000 };

  constructor(
    private readonly repository: LedgerRepository,
    private readonly cosignatures: CosignatureRepository,
    keys: SigningKeyService,
    @Inject(SERVICE_CONFIG) config: LedgerConfig,
  ) {
    this.trust = verifierTrust(config, keys.verifierKey);
  }

  async verifyAll(): Promise<VerifyAnswer> {
    const unreachable = new Set<string>();
    const logs: LogVerification[] = [];
    for (const head of await this.repository.heads())
      logs.push(await this.verify(head.logId, unreachable));
    return this.answer(logs, unreachable);
  }

  async verifyOne(logId: string): Promise<VerifyAnswer> {
    const unreachable = new Set<string>();
    return this.answer([await this.verify(logId, unreachable)], unreachable);
  }

  /**
   * `unreachable` (shared across the logs of one request): witnesses that failed once are not
   * asked again in the same request, so a hanging witness costs one timeout, not one per log.
   */
  async verify(logId: string, unreachable = new Set<string>()): Promise<LogVerification> {
    const { policy } = this.trust;
    const check: CheckpointNoteCheck = (note) => {
      const r = verifyTrustedCheckpoint(note, policy, logId, { requireQuorum: false });
      return r.ok ? { ok: true, checkpoint: r.trusted.checkpoint } : r;
    };
    const log = new LogVerifier([], check);
    const witnessed = await this.askWitnesses(logId, unreachable);
    for (const w of witnessed.anchors) log.expectRoot(w.size, w.rootHash, `witness ${w.witness}`);

    const { leaves: LEAF_PAGE, checkpoints: CHECKPOINT_PAGE } = this.pageSizes;
    let loadedUpTo = -1;
    let allLoaded = false;
    const loadCheckpointsUpTo = async (size: number): Promise<void> => {
      while (!allLoaded && loadedUpTo < size) {
        const page = await this.repository.checkpointPage(logId, loadedUpTo, CHECKPOINT_PAGE);
        log.addCheckpoints(await this.withCosignatures(logId, page));
        if (page.length < CHECKPOINT_PAGE) allLoaded = true;
        const last = page[page.length - 1];
        if (last) loadedUpTo = last.size;
      }
    };

    const head = await this.repository.head(logId);
    let failed = false;
    for (let next = 0; !failed; next += LEAF_PAGE) {
      await loadCheckpointsUpTo(next + LEAF_PAGE);
      const page = await this.repository.leaves(logId, next, LEAF_PAGE);
      failed = page.some((row) => log.push(row) !== undefined);
      if (page.length < LEAF_PAGE) break;
    }
    if (!failed) await loadCheckpointsUpTo(log.length + 1);
    const result = log.finish(head);
    return {
      logId,
      ok: result.ok,
      size: head?.size ?? 0,
      checkpointsChecked: result.checkpointsChecked,
      ...(result.ok ? {} : { error: result.error }),
      ...(witnessed.largest !== undefined ? { witnessedSize: witnessed.largest } : {}),
      witnesses: witnessed.reports,
    };
  }

  /**
   * Each stored checkpoint as served: its note with the cosignature lines stored for it, so that
   * a checkpoint of a retired key is dated by its witnesses' timestamps (trust.md). The lines are
   * checked by verifyTrustedCheckpoint like any other.
   */
  private async withCosignatures(logId: string, page: CheckpointRow[]): Promise<CheckpointRow[]> {
    const first = page[0];
    const last = page[page.length - 1];
    if (!first || !last) return page;
    const lines = await this.cosignatures.linesBetween(logId, first.size, last.size);
    return page.map((cp) => ({ ...cp, note: `${cp.note}${lines.get(cp.size) ?? ''}` }));
  }

  private answer(logs: LogVerification[], unreachable: Set<string>): VerifyAnswer {
    return { ok: logs.every((l) => l.ok), logs, unreachableWitnesses: [...unreachable] };
  }

  /** Each configured witness's latest checkpoint of the log, verified under the trusted keys. */
  private async askWitnesses(
    logId: string,
    unreachable: Set<string>,
  ): Promise<{
    reports: WitnessReport[];
    anchors: Array<{ witness: string; size: number; rootHash: Buffer }>;
    largest?: number;
  }> {
    const { policy, witnesses } = this.trust;
    const originHash = createHash('sha256')
      .update(`${policy.originPrefix}/${logId}`, 'utf8')
      .digest('hex');
    const anchors: Array<{ witness: string; size: number; rootHash: Buffer }> = [];
    const reports = await Promise.all(
      witnesses.map(async ({ name, url }): Promise<WitnessReport> => {
        if (unreachable.has(name))
          return {
            witness: name,
            status: 'unreachable',
            message: 'unreachable earlier in this run',
          };
        const base = url.endsWith('/') ? url : `${url}/`;
        let status: number;
        let body: string;
        try {
          const res = await this.fetch(new URL(`${originHash}/checkpoint`, base), {
            signal: AbortSignal.timeout(WITNESS_TIMEOUT_MS),
          });
          status = res.status;
          body = await res.text();
        } catch (error) {
          unreachable.add(name);
          return {
            witness: name,
            status: 'unreachable',
            message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          };
        }
        if (status === 404) return { witness: name, status: 'none' };
        if (status !== 200) {
          unreachable.add(name);
          return { witness: name, status: 'unreachable', message: `HTTP ${status}` };
        }
        const opened = verifyTrustedCheckpoint(body, policy, logId, { requireQuorum: false });
        const own = policy.witnesses.find((w) => w.verifier.name === name)?.verifierKey;
        if (!opened.ok || !opened.trusted.cosignatures.some((c) => c.witness === own)) {
          unreachable.add(name);
          return {
            witness: name,
            status: 'invalid',
            message: opened.ok
              ? 'the checkpoint it serves carries no valid cosignature of its own'
              : `${opened.error.code}: ${opened.error.message}`,
          };
        }
        const { size, rootHash } = opened.trusted.checkpoint;
        anchors.push({ witness: name, size, rootHash });
        return { witness: name, status: 'ok', size };
      }),
    );
    const largest = anchors.length > 0 ? Math.max(...anchors.map((a) => a.size)) : undefined;
    return { reports, anchors, ...(largest !== undefined ? { largest } : {}) };
  }
}
