import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Principal } from '@tokenledger/auth';
import { canonicalBytes } from '@tokenledger/canonical-json';
import {
  AUDITED_TOPICS,
  ReplayAudit,
  cloudEventHeaders,
  topicName,
  type Clock,
  type IdSource,
} from '@tokenledger/contracts';
import { EventOutbox, KafkaConnection } from '@tokenledger/messaging-nest';
import { UnitOfWork } from '@tokenledger/sql';
import { CLOCK, ID_SOURCE, SERVICE_CONFIG } from '@tokenledger/service-host';
import { parseLeaf, parseLogId } from '@tokenledger/ledger-core';
import { DomainError } from '@tokenledger/errors';
import { PinoLogger } from 'nestjs-pino';
import type { LedgerConfig } from '../config';
import { ReplayRepository, type LeafSelection } from '../repositories/replay.repository';

export interface ReplayRequest extends LeafSelection {
  targetTopic: string;
  ratePerSecond?: number;
}

export interface ReplayStatus {
  replayId: string;
  status: 'running' | 'completed' | 'failed';
  total: number;
  done: number;
  request: ReplayRequest;
  requestedBy: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

/** Headers on every replayed record. */
export const REPLAY_HEADERS = {
  replay: 'tl-replay-id',
  log: 'tl-source-log',
  index: 'tl-source-index',
} as const;

const PAGE = 500;

/**
 * Republishes recorded events to a target topic, each as the canonical JSON bytes recorded in its
 * leaf (the project's producers send canonical JSON, so these are the original bytes), key =
 * subject, with headers naming the replay and the source log and index. Who replayed what is
 * recorded in ops.audit (ops.replay-started / ops.replay-finished). Audited topics cannot be a
 * target: a replay must never add records to the logs it reads.
 */
@Injectable()
export class ReplayService implements OnApplicationShutdown {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly replays: ReplayRepository,
    private readonly kafka: KafkaConnection,
    private readonly outbox: EventOutbox,
    private readonly logger: PinoLogger,
    private readonly uow: UnitOfWork,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_SOURCE) private readonly ids: IdSource,
    @Inject(SERVICE_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async start(request: ReplayRequest, principal: Principal): Promise<ReplayStatus> {
    const audited = new Set(AUDITED_TOPICS.map((t) => topicName(t, this.config.TOPIC_PREFIX)));
    if (audited.has(request.targetTopic) || request.targetTopic.startsWith('__')) {
      throw new DomainError(
        'bad_target',
        `targetTopic ${request.targetTopic} is an audited or internal topic`,
      );
    }
    const count = await this.replays.measure(request);
    const total = Number(count?.n ?? 0);
    const log = request.logId !== undefined ? parseLogId(request.logId) : undefined;
    if (log && !log.ok) throw new DomainError('bad_log_id', log.error.message);
    const sourceTopic = request.topic ?? log?.topic ?? 'unknown';
    const audit = new ReplayAudit(this.ids, this.clock, {
      topic: sourceTopic,
      ...(log ? { partitions: [log.partition] } : {}),
      ...(count?.first ? { fromOffset: count.first } : {}),
      ...(count?.last ? { toOffset: count.last } : {}),
      target: request.targetTopic,
    });
    const { replayId } = audit;
    await this.uow.run(async (m) => {
      await this.replays.insert(m, replayId, request, principal.actor, total);
      await this.outbox.append(m, [audit.started()], { actor: principal.actor });
    });
    this.outbox.publishSoon();
    const run = this.run(audit, request, principal).finally(() => this.running.delete(run));
    this.running.add(run);
    return (await this.get(replayId)) as ReplayStatus;
  }

  async get(replayId: string): Promise<ReplayStatus | undefined> {
    const row = await this.replays.find(replayId);
    if (!row) return undefined;
    return {
      replayId: row.replay_id,
      status: row.status,
      total: Number(row.total),
      done: Number(row.done),
      request: row.request as ReplayRequest,
      requestedBy: row.requested_by,
      startedAt: row.started_at.toISOString(),
      finishedAt: row.finished_at?.toISOString() ?? null,
      error: row.error,
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  private async run(
    audit: ReplayAudit,
    request: ReplayRequest,
    principal: Principal,
  ): Promise<void> {
    const { replayId } = audit;
    let done = 0;
    let outcome: 'completed' | 'failed' = 'completed';
    let error: string | undefined;
    try {
      const admin = this.kafka.kafka.admin();
      await admin.connect();
      try {
        if (!(await admin.listTopics()).includes(request.targetTopic)) {
          await admin.createTopics({
            topics: [{ topic: request.targetTopic, numPartitions: this.config.TOPIC_PARTITIONS }],
            waitForLeaders: true,
          });
        }
      } finally {
        await admin.disconnect();
      }
      const started = this.clock.now();
      let after: { logId: string; index: number } | undefined;
      for (;;) {
        const rows = await this.replays.leafPage(request, after, PAGE);
        if (rows.length === 0) break;
        const messages = rows.map((r) => {
          const parsed = parseLeaf(r.leaf);
          if (!parsed.ok || parsed.leaf.kind !== 'event')
            throw new Error(
              `leaf ${r.log_id}#${r.idx} is not an event leaf: ${parsed.ok ? parsed.leaf.kind : parsed.error.message}`,
            );
          const { event } = parsed.leaf;
          return {
            key: event.subject,
            value: canonicalBytes(event),
            headers: {
              ...cloudEventHeaders(),
              [REPLAY_HEADERS.replay]: replayId,
              [REPLAY_HEADERS.log]: r.log_id,
              [REPLAY_HEADERS.index]: r.idx,
            },
          };
        });
        for (let i = 0; i < messages.length; i += 100) {
          const chunk = messages.slice(i, i + 100);
          await this.kafka.producer.send({ topic: request.targetTopic, acks: -1, messages: chunk });
          done += chunk.length;
          if (request.ratePerSecond) {
            const due = started + (done / request.ratePerSecond) * 1000;
            const now = this.clock.now();
            if (due > now) await new Promise((r) => setTimeout(r, due - now));
          }
        }
        await this.replays.progress(replayId, done);
        const last = rows[rows.length - 1];
        if (!last) break;
        after = { logId: last.log_id, index: Number(last.idx) };
      }
    } catch (e) {
      outcome = 'failed';
      error = e instanceof Error ? e.message.slice(0, 1000) : 'replay failed';
      this.logger.warn({ replayId, err: error }, 'replay failed');
    }
    await this.uow.run(async (m) => {
      await this.replays.finish(m, replayId, outcome, done, error ?? null);
      await this.outbox.append(m, [audit.finished(outcome, done, error)], {
        actor: principal.actor,
      });
    });
    this.outbox.publishSoon();
  }
}
