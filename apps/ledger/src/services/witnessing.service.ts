import { createHash } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { verifyCosignature } from '@tokenledger/ledger-core';
import {
  MetricsService,
  PeriodicTask,
  ReadinessChecks,
  SERVICE_CONFIG,
} from '@tokenledger/service-host';
import { addCheckpoint } from '@tokenledger/witness';
import { PinoLogger } from 'nestjs-pino';
import type { LedgerConfig, WitnessEndpoint } from '../config';
import { CosignatureRepository, type CosignatureRow } from '../repositories/cosignature.repository';
import { LedgerRepository, type CheckpointRow } from '../repositories/ledger.repository';
import { LogAssignment } from './log-assignment';
import { ProofService } from './proof.service';
import { SigningGuard, checkpointOrigin } from './signing-guard.service';

export type SubmissionOutcome =
  'cosigned' | 'conflict' | 'inconsistent' | 'refused' | 'unreachable' | 'ahead' | 'superseded';

/** A checkpoint note with the verified cosignature lines of configured witnesses appended. */
export interface CosignedCheckpoint {
  readonly note: string;
  /** Distinct configured witnesses whose cosignature verified. */
  readonly cosigners: number;
  readonly witnessed: boolean;
}

const MAX_BACKOFF_MS = 5000;

/** The checkpoint body of a signed note: its text up to the blank line, with its final newline. */
const bodyOf = (note: string): string => note.slice(0, note.lastIndexOf('\n\n') + 1);

/**
 * Submits the latest checkpoint of every log to every witness in LEDGER_WITNESSES
 * (c2sp.org/tlog-witness add-checkpoint) with a consistency proof from the size that witness last
 * cosigned (from stored cosignatures, corrected by its 409 answers: then retried once), and stores
 * each verified cosignature (append-only). Runs beside the signing loop, never in it: after each
 * signing (`kick`) and every CHECKPOINT_INTERVAL_MS, so a witness that was down gets the latest
 * checkpoint, with one proof from its last size, once it is back. Every request has a timeout
 * (LEDGER_WITNESS_TIMEOUT_MS); an unreachable witness is retried with a backoff of at most 5 s.
 *
 * Below quorum it never fails open silently: `tokenledger_ledger_unwitnessed_logs` counts the logs
 * whose latest checkpoint lacks LEDGER_WITNESS_QUORUM cosignatures, and readiness says degraded.
 * A witness holding a larger checkpoint than the database has (a 409 above it), or refusing a
 * checkpoint as inconsistent (422), is asked for that checkpoint, which goes to the signer guard.
 *
 * With several ledger instances each submits the logs it is assigned (LogAssignment); around a
 * rebalance two may submit the same log. The witness serializes them: the later one gets a 409
 * with the size the other made it cosign and retries from there (same checkpoint: cosigned again;
 * older: `superseded` when the database already holds the newer one, no backoff, no alarm).
 */
@Injectable()
export class WitnessingService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task: PeriodicTask;
  private running: Promise<void> | undefined;
  private again = false;
  /** `<witness vkey> <logId>` -> the size that witness holds for that log, as far as known. */
  private readonly known = new Map<string, number>();
  private knownLoaded = false;
  private readonly backoff = new Map<string, { until: number; failures: number }>();
  private unwitnessed: string[] | undefined;
  private readonly submissions: ReturnType<MetricsService['counter']>;
  private readonly unwitnessedGauge: ReturnType<MetricsService['gauge']>;

  constructor(
    private readonly cosignatures: CosignatureRepository,
    private readonly ledger: LedgerRepository,
    private readonly assignment: LogAssignment,
    private readonly proofs: ProofService,
    private readonly guard: SigningGuard,
    private readonly logger: PinoLogger,
    metrics: MetricsService,
    readiness: ReadinessChecks,
    @Inject(SERVICE_CONFIG) private readonly config: LedgerConfig,
  ) {
    this.submissions = metrics.counter(
      'tokenledger_ledger_witness_submissions_total',
      'Checkpoint submissions to witnesses, by witness name and outcome (cosigned, conflict, inconsistent, refused, unreachable, ahead, superseded)',
      ['witness', 'outcome'],
    );
    this.unwitnessedGauge = metrics.gauge(
      'tokenledger_ledger_unwitnessed_logs',
      'Logs whose latest checkpoint has fewer cosignatures than LEDGER_WITNESS_QUORUM (all logs with a checkpoint when no witness is configured)',
    );
    this.task = new PeriodicTask(
      config.CHECKPOINT_INTERVAL_MS,
      () => this.run(),
      (error) => logger.warn({ err: String(error) }, 'witnessing failed; will retry'),
    );
    readiness.register('witnesses', () => this.readiness());
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.task.stop();
    await this.running;
  }

  /** Asks for a run now (after a checkpoint was signed); never waits for it. */
  kick(): void {
    void this.run().catch((error: unknown) =>
      this.logger.warn({ err: String(error) }, 'witnessing failed; will retry'),
    );
  }

  /** One pass; a call during a pass makes one more pass after it. Resolves when done. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** The latest checkpoint of `logId` as served: with the cosignatures collected for it. */
  async cosigned(cp: CheckpointRow): Promise<CosignedCheckpoint> {
    const rows = await this.cosignatures.forCheckpoint(cp.logId, cp.size);
    const body = bodyOf(cp.note);
    const lines: string[] = [];
    for (const w of this.config.LEDGER_WITNESSES) {
      const row = rows.find((r) => r.witnessKey === w.verifierKey);
      if (row && verifyCosignature(body, row.line, w.verifier).ok) lines.push(row.line);
    }
    const quorum = this.config.LEDGER_WITNESS_QUORUM;
    return {
      note: `${cp.note}${lines.join('')}`,
      cosigners: lines.length,
      witnessed: quorum > 0 && lines.length >= quorum,
    };
  }

  private readiness(): { status: 'ok' | 'degraded'; reason?: string } {
    const quorum = this.config.LEDGER_WITNESS_QUORUM;
    if (this.config.LEDGER_WITNESSES.length === 0)
      return {
        status: 'degraded',
        reason: 'no witnesses configured (LEDGER_WITNESSES): checkpoints are not witnessed',
      };
    const below = this.unwitnessed ?? [];
    if (below.length === 0) return { status: 'ok' };
    return {
      status: 'degraded',
      reason: `${below.length} log(s) below the witness quorum of ${quorum}: ${below.slice(0, 10).join(', ')}${below.length > 10 ? ', ...' : ''}`,
    };
  }

  private async pass(): Promise<void> {
    const witnesses = this.config.LEDGER_WITNESSES;
    const latest = await this.cosignatures.latestCheckpoints();
    if (witnesses.length === 0) {
      this.unwitnessed = latest.map((c) => c.logId);
      this.unwitnessedGauge.set(this.unwitnessed.length);
      return;
    }
    if (!this.knownLoaded) {
      const sizes = await this.cosignatures.lastCosignedSizes(witnesses.map((w) => w.verifierKey));
      for (const [key, size] of sizes)
        if ((this.known.get(key) ?? -1) < size) this.known.set(key, size);
      this.knownLoaded = true;
    }
    const now = Date.now();
    const work: Array<Promise<void>> = [];
    const cosignedBy = new Map<string, Set<string>>();
    for (const cp of latest) {
      const have = new Set(
        (await this.cosignatures.forCheckpoint(cp.logId, cp.size)).map((r) => r.witnessKey),
      );
      cosignedBy.set(cp.logId, have);
      // Readiness counts every log; submissions only for this instance's logs (LogAssignment).
      if (!this.assignment.owns(cp.logId)) continue;
      for (const w of witnesses) {
        if (have.has(w.verifierKey)) continue;
        if ((this.backoff.get(w.verifierKey)?.until ?? 0) > now) continue;
        work.push(
          this.submit(w, cp).then((cosigned) => {
            if (cosigned) have.add(w.verifierKey);
          }),
        );
      }
    }
    await Promise.all(work);
    const quorum = this.config.LEDGER_WITNESS_QUORUM;
    this.unwitnessed = latest
      .filter((cp) => (cosignedBy.get(cp.logId)?.size ?? 0) < quorum)
      .map((cp) => cp.logId);
    this.unwitnessedGauge.set(this.unwitnessed.length);
  }

  /** Submits `cp` to `w`; true when a verified cosignature was stored. Never throws. */
  private async submit(w: WitnessEndpoint, cp: CheckpointRow): Promise<boolean> {
    const key = `${w.verifierKey} ${cp.logId}`;
    const name = w.verifier.name;
    try {
      let old = this.known.get(key) ?? 0;
      for (let attempt = 0; attempt < 2; attempt += 1) {
        if (old > cp.size) {
          // Another instance may have signed (and submitted) a newer checkpoint since this pass
          // read `cp`: then the database has it, and the next pass submits that one.
          const stored = await this.ledger.latestCheckpoint(cp.logId);
          if (stored && stored.size >= old) {
            this.count(name, 'superseded');
            this.again = true;
            return false;
          }
          // The witness holds a larger checkpoint than the database: tell the signer guard.
          this.count(name, 'ahead');
          this.backOff(w);
          await this.learnFromWitness(w, cp.logId);
          return false;
        }
        const proof =
          old === 0 ? [] : (await this.proofs.consistency(cp.logId, old, cp.size)).hashes;
        const outcome = await addCheckpoint({
          url: w.url,
          oldSize: old,
          proof,
          note: cp.note,
          verifiers: [w.verifier],
          signal: AbortSignal.timeout(this.config.LEDGER_WITNESS_TIMEOUT_MS),
        });
        switch (outcome.kind) {
          case 'cosigned': {
            await this.cosignatures.insert(this.rows(w, cp, outcome.lines));
            this.known.set(key, cp.size);
            this.backoff.delete(w.verifierKey);
            this.count(name, 'cosigned');
            return true;
          }
          case 'conflict':
            this.count(name, 'conflict');
            this.known.set(key, outcome.size);
            old = outcome.size;
            continue;
          case 'refused': {
            const kind: SubmissionOutcome =
              outcome.status === 422
                ? 'inconsistent'
                : outcome.retryable
                  ? 'unreachable'
                  : 'refused';
            this.count(name, kind);
            this.backOff(w);
            this.logger.warn(
              {
                witness: name,
                logId: cp.logId,
                size: cp.size,
                oldSize: old,
                status: outcome.status,
                reason: outcome.message,
              },
              kind === 'inconsistent'
                ? 'witness refused the checkpoint as inconsistent with what it cosigned'
                : 'witness did not cosign; will retry',
            );
            if (kind === 'inconsistent') await this.learnFromWitness(w, cp.logId);
            return false;
          }
        }
      }
      return false;
    } catch (error) {
      this.count(name, 'unreachable');
      this.backOff(w);
      this.logger.warn(
        {
          witness: name,
          logId: cp.logId,
          err: error instanceof Error ? error.message : String(error),
        },
        'witness submission failed; will retry',
      );
      return false;
    }
  }

  /** The verified cosignature lines of `w` in its answer, as rows. */
  private rows(w: WitnessEndpoint, cp: CheckpointRow, answer: string): CosignatureRow[] {
    const body = bodyOf(cp.note);
    const out: CosignatureRow[] = [];
    for (const line of answer.split('\n').filter((l) => l.length > 0)) {
      const full = `${line}\n`;
      const checked = verifyCosignature(body, full, w.verifier);
      if (!checked.ok) continue;
      out.push({
        logId: cp.logId,
        size: cp.size,
        rootHash: cp.rootHash,
        witnessKey: w.verifierKey,
        witnessName: w.verifier.name,
        cosignedAt: checked.cosignature.timestamp,
        line: full,
      });
      break;
    }
    return out;
  }

  /** Reads the witness's checkpoint of `logId` (monitoring endpoint) and gives it to the guard. */
  private async learnFromWitness(w: WitnessEndpoint, logId: string): Promise<void> {
    const origin = checkpointOrigin(this.config, logId);
    const hash = createHash('sha256').update(origin, 'utf8').digest('hex');
    const base = w.url.endsWith('/') ? w.url : `${w.url}/`;
    try {
      const res = await fetch(new URL(`${hash}/checkpoint`, base), {
        signal: AbortSignal.timeout(this.config.LEDGER_WITNESS_TIMEOUT_MS),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      if (!this.guard.learnNote(logId, text, `witness:${w.verifier.name}`))
        this.logger.warn(
          { witness: w.verifier.name, logId },
          'the checkpoint a witness holds is not signed by a trusted log key; ignored',
        );
    } catch (error) {
      this.logger.warn(
        {
          witness: w.verifier.name,
          logId,
          err: error instanceof Error ? error.message : String(error),
        },
        'could not read the checkpoint a witness holds; will retry',
      );
    }
  }

  private count(witness: string, outcome: SubmissionOutcome): void {
    this.submissions.inc({ witness, outcome });
  }

  private backOff(w: WitnessEndpoint): void {
    const failures = (this.backoff.get(w.verifierKey)?.failures ?? 0) + 1;
    const delay = Math.min(
      MAX_BACKOFF_MS,
      this.config.CHECKPOINT_INTERVAL_MS * 2 ** (failures - 1),
    );
    this.backoff.set(w.verifierKey, { until: Date.now() + delay, failures });
  }
}
