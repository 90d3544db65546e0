import { Controller, Inject, Injectable } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { AUDITED_TOPICS } from '@tokenledger/contracts';
import type { ConsumedRecord, RawBatchOutcome } from '@tokenledger/messaging';
import {
  BatchContext,
  type BatchPatternExtras,
  type ConsumerGroupSettings,
} from '@tokenledger/messaging-nest';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { logIdOf } from '@tokenledger/ledger-core';
import type { LedgerConfig } from '../config';
import { LedgerRepository } from '../repositories/ledger.repository';
import { AppenderService } from '../services/appender.service';
import { LogAssignment } from '../services/log-assignment';

/**
 * PostgreSQL, not Kafka, holds the ledger's position: on each assignment the consumer seeks to
 * the next offset stored with the log, and Kafka's committed offsets are only a hint.
 */
@Injectable()
export class IngestSettings implements ConsumerGroupSettings {
  readonly partitionsConsumedConcurrently = 3;
  readonly sessionTimeoutMs: number;

  constructor(
    private readonly repository: LedgerRepository,
    private readonly assignment: LogAssignment,
    @Inject(SERVICE_CONFIG) config: LedgerConfig,
  ) {
    this.sessionTimeoutMs = config.LEDGER_SESSION_TIMEOUT_MS;
  }

  /**
   * On assignment: continue from the offset stored with each log, whatever Kafka committed; a log
   * this database does not have yet starts at offset 0 (audited topics keep every record), which
   * is how a ledger is rebuilt from Kafka into an empty database.
   */
  async seekOnAssign(topic: string, partition: number): Promise<number> {
    const head = await this.repository.head(logIdOf(topic, partition));
    return head?.nextOffset ?? 0;
  }

  /** Which logs this instance signs and witnesses follows Kafka's assignment (LogAssignment). */
  onAssignment(assignment: Readonly<Record<string, readonly number[]>>): void {
    this.assignment.update(assignment);
  }
}

/**
 * Consumes every partition of the audited topics into the verifiable logs, records as delivered
 * (an invalid one becomes a `rejected` leaf, then a dead letter). Several ledger instances form one
 * consumer group; a stale member cannot append (see AppenderService).
 */
@Controller()
export class IngestConsumer {
  constructor(private readonly appender: AppenderService) {}

  @EventPattern([...AUDITED_TOPICS], {
    raw: true,
    settings: IngestSettings,
  } satisfies BatchPatternExtras)
  async ingest(
    @Payload() batch: ConsumedRecord[],
    @Ctx() context: BatchContext,
  ): Promise<RawBatchOutcome> {
    const records = batch.map((m) => ({
      offset: Number(m.offset),
      timestamp: Number(m.timestamp),
      value: m.value,
    }));
    const result = await this.appender.append(context.getTopic(), context.getPartition(), records);
    return {
      nextOffset: result.nextOffset,
      deadLetters: result.rejected.map((r) => ({
        offset: r.offset,
        code: r.reason.split(':')[0] ?? 'rejected',
        reason: r.reason,
      })),
    };
  }
}
