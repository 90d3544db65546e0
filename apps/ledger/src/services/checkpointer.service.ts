import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { TOPICS, topicName } from '@tokenledger/contracts';
import { formatCheckpoint, signNote, verifyConsistency } from '@tokenledger/ledger-core';
import { KafkaConnection } from '@tokenledger/messaging-nest';
import { PeriodicTask, SERVICE_CONFIG } from '@tokenledger/service-host';
import { PinoLogger } from 'nestjs-pino';
import type { LedgerConfig } from '../config';
import { LedgerRepository, type LogHead } from '../repositories/ledger.repository';
import { ProofService } from './proof.service';
import { SigningKeyService } from './signing-key.service';

/**
 * Signs a C2SP checkpoint for every log whose size grew, at most every CHECKPOINT_INTERVAL_MS.
 * MUST NOT sign a tree that does not extend the last signed one: before signing, a consistency
 * proof from the last checkpoint to the new head is built from storage and verified. Checkpoints
 * are kept forever (append-only table) and published to `ledger.checkpoints` (key = logId).
 */
@Injectable()
export class CheckpointerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task: PeriodicTask;

  constructor(
    private readonly repository: LedgerRepository,
    private readonly proofs: ProofService,
    private readonly keys: SigningKeyService,
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
    return `${this.config.LEDGER_ORIGIN}/${logId}`;
  }

  /** One pass over all logs; returns the notes signed. */
  async signDue(): Promise<string[]> {
    const signed: string[] = [];
    for (const head of await this.repository.heads()) {
      const note = await this.signIfGrown(head);
      if (note) signed.push(note);
    }
    return signed;
  }

  private async signIfGrown(head: LogHead): Promise<string | undefined> {
    if (head.size === 0) return undefined;
    const last = await this.repository.latestCheckpoint(head.logId);
    if (last && last.size >= head.size) return undefined;
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
    const note = signNote(
      formatCheckpoint({
        origin: this.origin(head.logId),
        size: head.size,
        rootHash: head.rootHash,
      }),
      this.keys.signer,
    );
    await this.repository.transaction((m) =>
      this.repository.insertCheckpoint(m, {
        logId: head.logId,
        size: head.size,
        rootHash: head.rootHash,
        note,
        keyName: this.keys.signer.name,
      }),
    );
    await this.kafka.producer
      .send({
        topic: topicName(TOPICS.checkpoints, this.config.TOPIC_PREFIX),
        acks: -1,
        messages: [{ key: head.logId, value: note }],
      })
      .catch((error: unknown) =>
        this.logger.warn(
          { err: String(error), logId: head.logId },
          'checkpoint stored but not yet published',
        ),
      );
    return note;
  }
}
