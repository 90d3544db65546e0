import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { TOPICS, topicName } from '@tokenledger/contracts';

/** A checkpoint record holds a signed note (C2SP), not an event: the type served over HTTP too. */
const CHECKPOINT_CONTENT_TYPE = 'text/plain; charset=utf-8';
import { formatCheckpoint, signNote, verifyConsistency } from '@tokenledger/ledger-core';
import { KafkaConnection } from '@tokenledger/messaging-nest';
import { PeriodicTask, SERVICE_CONFIG } from '@tokenledger/service-host';
import { PinoLogger } from 'nestjs-pino';
import type { LedgerConfig } from '../config';
import { LedgerRepository, type LogHead } from '../repositories/ledger.repository';
import { LogAssignment } from './log-assignment';
import { ProofService } from './proof.service';
import { SigningGuard, checkpointOrigin } from './signing-guard.service';
import { SigningKeyService } from './signing-key.service';
import { WitnessingService } from './witnessing.service';

/**
 * Signs a C2SP checkpoint for every log whose size grew, at most every CHECKPOINT_INTERVAL_MS
 * (with several instances: the logs assigned to this one, one signer per log at a time).
 * MUST NOT sign a tree that does not extend the last signed one: before signing, a consistency
 * proof from the last stored checkpoint to the new head is built from storage and verified, and the
 * signer guard checks the head against the largest checkpoint ever published (learned outside the
 * database; a conflict halts the log). Nothing is signed before the guard has read the checkpoints
 * topic. Checkpoints are kept forever (append-only table), published to `ledger.checkpoints`
 * (key = logId), then submitted to the witnesses (beside this loop, never in it).
 */
@Injectable()
export class CheckpointerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task: PeriodicTask;

  constructor(
    private readonly repository: LedgerRepository,
    private readonly proofs: ProofService,
    private readonly keys: SigningKeyService,
    private readonly guard: SigningGuard,
    private readonly witnessing: WitnessingService,
    private readonly assignment: LogAssignment,
    private readonly kafka: KafkaConnection,
    private readonly logger: PinoLogger,
    @Inject(SERVICE_CONFIG) private readonly config: LedgerConfig,
  ) {
    this.task = new PeriodicTask(
      config.CHECKPOINT_INTERVAL_MS,
      () => this.signDue(),
      (error) => logger.warn({ err: String(error) }, 'checkpointing failed; will retry'),
    );
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }

  origin(logId: string): string {
    return checkpointOrigin(this.config, logId);
  }

  /**
   * One pass over all logs; returns the notes signed. Every log gets the guard's rollback check;
   * only the logs this instance is assigned (LogAssignment) are signed here, the others by the
   * instance that appends to them.
   */
  async signDue(): Promise<string[]> {
    await this.guard.ensureLoaded();
    const signed: string[] = [];
    for (const head of await this.repository.heads()) {
      if (this.guard.isHalted(head.logId)) {
        await this.guard.maySign(head); // records the halt in ops.audit if that failed before
        continue;
      }
      await this.guard.checkWithoutProof(head);
      if (this.guard.isHalted(head.logId) || !this.assignment.owns(head.logId)) continue;
      const note = await this.signIfGrown(head);
      if (note) signed.push(note);
    }
    return signed;
  }

  /**
   * Signs the log's head if it grew since its last checkpoint. Several instances may try the same
   * log at once (around a rebalance both the old and the new owner believe they hold it), so the
   * decision and the insert happen under a per-log advisory lock, with the head and the latest
   * checkpoint read again once it is held: checkpoints of one log are then stored one at a time, in
   * growing size, never twice for one size. An instance that finds the lock taken skips the log
   * this tick (the holder signs a head at least as large as the one it saw).
   */
  private async signIfGrown(seen: LogHead): Promise<string | undefined> {
    if (seen.size === 0) return undefined;
    const before = await this.repository.latestCheckpoint(seen.logId);
    if (before && before.size >= seen.size) return undefined;
    const signed = await this.repository.transaction(async (m) => {
      const [lock] = await m.query<Array<{ ok: boolean }>>(
        'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok',
        [`tokenledger:sign:${this.config.DB_SCHEMA}:${seen.logId}`],
      );
      if (!lock?.ok) return undefined;
      if (!(await this.keys.mayStillSign(m))) return undefined;
      const head = await this.repository.head(seen.logId);
      const last = await this.repository.latestCheckpoint(seen.logId, m);
      if (!head || head.size === 0 || (last && last.size >= head.size)) return undefined;
      if (last) {
        const proof = await this.proofs.consistency(head.logId, last.size, head.size);
        const check = verifyConsistency(
          last.size,
          head.size,
          proof.hashes,
          last.rootHash,
          head.rootHash,
        );
        if (!check.ok) {
          this.logger.error(
            { logId: head.logId, from: last.size, to: head.size, reason: check.error.message },
            'REFUSING to sign: the log does not extend its last checkpoint',
          );
          return undefined;
        }
      }
      if (!(await this.guard.maySign(head))) return undefined;
      const note = signNote(
        formatCheckpoint({
          origin: this.origin(head.logId),
          size: head.size,
          rootHash: head.rootHash,
        }),
        this.keys.signer,
      );
      await this.repository.insertCheckpoint(m, {
        logId: head.logId,
        size: head.size,
        rootHash: head.rootHash,
        note,
        keyName: this.keys.signer.name,
      });
      return { head, note };
    });
    if (!signed) return undefined;
    const { head, note } = signed;
    this.guard.signed(head.logId, head.size, head.rootHash);
    await this.kafka.producer
      .send({
        topic: topicName(TOPICS.checkpoints, this.config.TOPIC_PREFIX),
        acks: -1,
        messages: [
          { key: head.logId, value: note, headers: { 'content-type': CHECKPOINT_CONTENT_TYPE } },
        ],
      })
      .catch((error: unknown) =>
        this.logger.warn(
          { err: String(error), logId: head.logId },
          'checkpoint stored but not yet published',
        ),
      );
    this.witnessing.kick();
    return note;
  }
}
