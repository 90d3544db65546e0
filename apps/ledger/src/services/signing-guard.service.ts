import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  AUDITED_TOPICS,
  EVENT_TYPES,
  TOPICS,
  topicName,
  type Clock,
  type OpsSigningHaltedV1,
} from '@tokenledger/contracts';
import { DomainError } from '@tokenledger/errors';
import {
  isLogId,
  logIdOf,
  openCheckpoint,
  verifyConsistency,
  type NoteVerifier,
} from '@tokenledger/ledger-core';
import { EventOutbox, KafkaConnection } from '@tokenledger/messaging-nest';
import { CLOCK, MetricsService, ReadinessChecks, SERVICE_CONFIG } from '@tokenledger/service-host';
import { UnitOfWork } from '@tokenledger/sql';
import { PinoLogger } from 'nestjs-pino';
import type { LedgerConfig } from '../config';
import { LedgerRepository, type LogHead } from '../repositories/ledger.repository';
import { ProofService } from './proof.service';
import { SigningKeyService } from './signing-key.service';

/** A checkpoint this ledger published, as learned from outside its database. */
export interface PublishedCheckpoint {
  readonly size: number;
  readonly rootHash: Buffer;
  /** `ledger.checkpoints`, `witness:<name>` or `this-process`. */
  readonly source: string;
}

interface Halt {
  readonly data: OpsSigningHaltedV1;
  recorded: boolean;
}

/** Reading `ledger.checkpoints` from the start gives up after this long (retried next tick). */
const TOPIC_READ_TIMEOUT_MS = 60_000;

export const checkpointOrigin = (config: LedgerConfig, logId: string): string =>
  `${config.LEDGER_ORIGIN}/${logId}`;

/**
 * The signer guard. Knows, per log, the largest checkpoint the ledger ever published, learned
 * from outside its database: the `ledger.checkpoints` topic read from the beginning at start, the
 * checkpoints witnesses hold (their 409 answers), and what this process signed. Only checkpoints
 * whose signature verifies with the ledger's own key or LEDGER_TRUSTED_KEYS count.
 *
 * MUST be asked before every signature: a head smaller than that checkpoint once its log has
 * re-read its partition up to where it ended at start (before that it is only not signed), or
 * one it cannot prove consistent with it from storage, halts signing of that log for the life of
 * the process (a critical `ops.signing-halted` event, `tokenledger_ledger_signing_halted{log_id}
 * 1`, readiness degraded). The stored log was truncated or rewritten; an operator must restore it.
 */
@Injectable()
export class SigningGuard {
  private readonly published = new Map<string, PublishedCheckpoint>();
  private readonly halts = new Map<string, Halt>();
  /** Per log, the end offset (high watermark) of its partition when the guard loaded. */
  private readonly endsAtStart = new Map<string, bigint>();
  private loading: Promise<void> | undefined;
  private loaded = false;
  private readonly haltedGauge: ReturnType<MetricsService['gauge']>;

  constructor(
    private readonly proofs: ProofService,
    private readonly repository: LedgerRepository,
    private readonly keys: SigningKeyService,
    private readonly kafka: KafkaConnection,
    private readonly outbox: EventOutbox,
    private readonly uow: UnitOfWork,
    private readonly logger: PinoLogger,
    metrics: MetricsService,
    readiness: ReadinessChecks,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_CONFIG) private readonly config: LedgerConfig,
  ) {
    this.haltedGauge = metrics.gauge(
      'tokenledger_ledger_signing_halted',
      'Logs the ledger refuses to sign (1): their stored tree does not extend the largest published checkpoint',
      ['log_id'],
    );
    readiness.register('signing', () =>
      this.halts.size === 0
        ? { status: 'ok' }
        : {
            status: 'degraded',
            reason: `signing halted for ${[...this.halts.values()]
              .map(
                (h) =>
                  `${h.data.logId} (${h.data.reason}, published ${h.data.publishedSize}, stored ${h.data.headSize})`,
              )
              .join(', ')}`,
          },
    );
  }

  /** The keys a published checkpoint may be signed with: never rows of `signing_keys`. */
  verifiers(): NoteVerifier[] {
    return [this.keys.verifier, ...this.config.LEDGER_TRUSTED_KEYS.map((k) => k.verifier)];
  }

  largestPublished(logId: string): PublishedCheckpoint | undefined {
    return this.published.get(logId);
  }

  isHalted(logId: string): boolean {
    return this.halts.has(logId);
  }

  haltedLogs(): string[] {
    return [...this.halts.keys()];
  }

  /**
   * Takes `note` as a checkpoint of `logId` the ledger published, if it verifies with a trusted
   * key and names that log's origin. Returns whether it was accepted.
   */
  learnNote(logId: string, note: string, source: string): boolean {
    if (!isLogId(logId)) return false;
    const opened = openCheckpoint(note, this.verifiers(), checkpointOrigin(this.config, logId));
    if (!opened.ok) return false;
    this.learn(logId, { ...opened.checkpoint, source });
    return true;
  }

  /** Records a checkpoint this process just signed and stored. */
  signed(logId: string, size: number, rootHash: Buffer): void {
    this.learn(logId, { size, rootHash, source: 'this-process' });
  }

  private learn(logId: string, c: PublishedCheckpoint): void {
    const known = this.published.get(logId);
    if (known !== undefined && known.size >= c.size) {
      if (known.size === c.size && !known.rootHash.equals(c.rootHash))
        this.logger.error(
          { logId, size: c.size, sources: [known.source, c.source] },
          'two different checkpoints of one size were published under trusted keys',
        );
      return;
    }
    this.published.set(logId, { size: c.size, rootHash: c.rootHash, source: c.source });
  }

  /** Reads `ledger.checkpoints` from the beginning once; a failed read is retried on the next call. */
  ensureLoaded(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    this.loading ??= this.readTopic().then(
      () => {
        this.loaded = true;
      },
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }

  /**
   * Whether `head` may be signed. MUST be called before signing; a refusal halts the log, except
   * for a head that was merely read before a larger published checkpoint was learned (false, no
   * halt: the stored log has grown past it since; see stillBehind). A head
   * that is behind the published checkpoint is refused without a proof (cheap: checked every tick).
   */
  async maySign(head: LogHead): Promise<boolean> {
    const halt = this.halts.get(head.logId);
    if (halt !== undefined) {
      if (!halt.recorded) await this.record(halt);
      return false;
    }
    const p = this.published.get(head.logId);
    if (p === undefined) return true;
    if (head.size < p.size) {
      const behind = await this.stillBehind(head, p);
      return behind ? this.halt(behind, p, 'smaller-than-published') : false;
    }
    if (head.size === p.size)
      return head.rootHash.equals(p.rootHash) || this.halt(head, p, 'inconsistent-with-published');
    let proof: Buffer[];
    try {
      proof = (await this.proofs.consistency(head.logId, p.size, head.size)).hashes;
    } catch (error) {
      // Storage cannot even build the proof (missing rows): not the published history.
      if (error instanceof DomainError) return this.halt(head, p, 'inconsistent-with-published');
      throw error;
    }
    const check = verifyConsistency(p.size, head.size, proof, p.rootHash, head.rootHash);
    return check.ok || this.halt(head, p, 'inconsistent-with-published');
  }

  /**
   * The checks that need no proof, for every head on every tick (even one with nothing to sign):
   * behind the published checkpoint, or at its size with another root, halts the log.
   */
  async checkWithoutProof(head: LogHead): Promise<void> {
    const p = this.published.get(head.logId);
    if (p === undefined || this.halts.has(head.logId)) return;
    if (head.size < p.size) {
      const behind = await this.stillBehind(head, p);
      if (behind) await this.halt(behind, p, 'smaller-than-published');
    } else if (head.size === p.size && !head.rootHash.equals(p.rootHash))
      await this.halt(head, p, 'inconsistent-with-published');
  }

  /**
   * `head` is smaller than the published checkpoint `p`: the stored log as read now if it still
   * is (a rollback), else undefined. With several instances `head` can simply be older than `p`:
   * read before another instance signed `p` and a witness told this one of it. Heads only grow
   * (the owner's trigger) and every checkpoint is signed from a committed head, so a head read
   * after `p` was learned covers `p` unless the stored log was truncated. Undefined, too, while
   * the log is still re-reading its partition from Kafka (see below).
   */
  private async stillBehind(head: LogHead, p: PublishedCheckpoint): Promise<LogHead | undefined> {
    const now = await this.repository.head(head.logId);
    if (now !== undefined && now.size >= p.size) return undefined;
    // Still re-reading its partition (a database restored from a dump older than the checkpoints,
    // a ledger rebuilt from Kafka): the log is legitimately behind what was published. It is not
    // signed meanwhile, and judged once its stored position reaches where the partition ended when
    // this process started, by then holding every record any published checkpoint covered. A
    // truncated log (its position kept, its leaves gone) is judged at once.
    const end = this.endsAtStart.get(head.logId);
    if (end !== undefined && BigInt(now?.nextOffset ?? 0) < end) return undefined;
    return now ?? { ...head, size: 0 };
  }

  private async halt(
    head: LogHead,
    p: PublishedCheckpoint,
    reason: OpsSigningHaltedV1['reason'],
  ): Promise<false> {
    const halt: Halt = {
      data: {
        logId: head.logId,
        severity: 'critical',
        reason,
        publishedSize: p.size,
        headSize: head.size,
        source: p.source,
        haltedAt: new Date(this.clock.now()).toISOString(),
      },
      recorded: false,
    };
    this.halts.set(head.logId, halt);
    this.haltedGauge.set({ log_id: head.logId }, 1);
    this.logger.error(
      { logId: head.logId, reason, publishedSize: p.size, storedSize: head.size, source: p.source },
      'signing HALTED: the stored log does not extend the largest checkpoint it published (truncated or rewritten)',
    );
    await this.record(halt);
    return false;
  }

  private async record(halt: Halt): Promise<void> {
    try {
      await this.uow.run((m) =>
        this.outbox.append(m, [{ type: EVENT_TYPES.opsSigningHalted, data: halt.data }], {
          actor: 'service:ledger',
        }),
      );
      halt.recorded = true;
      this.outbox.publishSoon();
    } catch (error) {
      this.logger.warn(
        { logId: halt.data.logId, err: error instanceof Error ? error.message : String(error) },
        'signing halt not yet recorded in ops.audit; retrying',
      );
    }
  }

  /** Every record of `ledger.checkpoints` up to its end as of now (empty or missing: nothing). */
  private async readTopic(): Promise<void> {
    const topic = topicName(TOPICS.checkpoints, this.config.TOPIC_PREFIX);
    const admin = this.kafka.kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    try {
      const existing = new Set(await admin.listTopics());
      for (const base of AUDITED_TOPICS) {
        const audited = topicName(base, this.config.TOPIC_PREFIX);
        if (!existing.has(audited)) continue;
        for (const o of await admin.fetchTopicOffsets(audited))
          this.endsAtStart.set(logIdOf(audited, o.partition), BigInt(o.high));
      }
      if (!existing.has(topic)) return;
      const offsets = await admin.fetchTopicOffsets(topic);
      ends = new Map(
        offsets
          .filter((o) => BigInt(o.high) > BigInt(o.low))
          .map((o) => [o.partition, BigInt(o.high) - 1n]),
      );
    } finally {
      await admin.disconnect();
    }
    if (ends.size === 0) return;
    const groupPrefix = this.config.KAFKA_GROUP_PREFIX ?? this.config.TOPIC_PREFIX;
    const consumer = this.kafka.kafka.consumer({
      groupId: `${groupPrefix}ledger-guard-${randomBytes(6).toString('hex')}`,
    });
    let accepted = 0;
    let refused = 0;
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`reading ${topic} took over ${TOPIC_READ_TIMEOUT_MS} ms`)),
          TOPIC_READ_TIMEOUT_MS,
        );
        consumer
          .run({
            autoCommit: false,
            eachMessage: ({ partition, message }) => {
              const logId = message.key?.toString() ?? '';
              const note = message.value?.toString('utf8') ?? '';
              if (this.learnNote(logId, note, TOPICS.checkpoints)) accepted += 1;
              else refused += 1;
              const end = ends.get(partition);
              if (end !== undefined && BigInt(message.offset) >= end) ends.delete(partition);
              if (ends.size === 0) {
                clearTimeout(timer);
                resolve();
              }
              return Promise.resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    this.logger.info(
      { topic, accepted, refused, logs: this.published.size },
      'largest published checkpoints read from the checkpoints topic',
    );
  }
}
