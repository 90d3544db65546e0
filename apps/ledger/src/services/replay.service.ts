import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Principal } from '@tokenledger/auth';
import { canonicalBytes } from '@tokenledger/canonical-json';
import { AUDITED_TOPICS, topicName, uuidv7 } from '@tokenledger/contracts';
import { parseLeaf, parseLogId } from '@tokenledger/ledger-core';
import { EventOutbox, KafkaConnection } from '@tokenledger/messaging';
import { WhereBuilder } from '@tokenledger/sql';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { DomainError } from '@tokenledger/errors';
import { PinoLogger } from 'nestjs-pino';
import type { LedgerConfig } from '../config';
import { LedgerRepository } from '../repositories/ledger.repository';

export interface ReplayRequest {
  logId?: string;
  topic?: string;
  fromIndex?: number;
  toIndex?: number;
  since?: string;
  until?: string;
  types?: string[];
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
export const REPLAY_HEADERS = { replay: 'tl-replay-id', log: 'tl-source-log', index: 'tl-source-index' } as const;

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
    private readonly repository: LedgerRepository,
    private readonly kafka: KafkaConnection,
    private readonly outbox: EventOutbox,
    private readonly logger: PinoLogger,
    @Inject(SERVICE_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async start(request: ReplayRequest, principal: Principal): Promise<ReplayStatus> {
    const audited = new Set(AUDITED_TOPICS.map((t) => topicName(t, this.config.TOPIC_PREFIX)));
    if (audited.has(request.targetTopic) || request.targetTopic.startsWith('__')) {
      throw new DomainError('bad_target', `targetTopic ${request.targetTopic} is an audited or internal topic`);
    }
    const where = this.selection(request);
    const [count] = await this.repository.dataSource.query<Array<{ n: string; first: string | null; last: string | null }>>(
      `SELECT count(*) AS n, min(kafka_offset)::text AS first, max(kafka_offset)::text AS last FROM ${this.repository.s}.leaves ${where.sql()}`,
      where.params,
    );
    const total = Number(count?.n ?? 0);
    const replayId = uuidv7();
    const log = request.logId !== undefined ? parseLogId(request.logId) : undefined;
    if (log && !log.ok) throw new DomainError('bad_log_id', log.error.message);
    const sourceTopic = request.topic ?? log?.topic ?? 'unknown';
    await this.repository.dataSource.transaction(async (m) => {
      await m.query(`INSERT INTO ${this.repository.s}.replays (replay_id, request, requested_by, status, total) VALUES ($1, $2, $3, 'running', $4)`, [
        replayId, JSON.stringify(request), principal.actor, total,
      ]);
      await this.outbox.append(
        m,
        [
          {
            type: 'tokenledger.ops.replay-started.v1',
            data: {
              replayId,
              topic: sourceTopic,
              ...(log ? { partitions: [log.partition] } : {}),
              ...(count?.first ? { fromOffset: count.first } : {}),
              ...(count?.last ? { toOffset: count.last } : {}),
              target: request.targetTopic,
              startedAt: new Date().toISOString(),
            },
          },
        ],
        { actor: principal.actor },
      );
    });
    this.outbox.publishSoon();
    const run = this.run(replayId, request, principal).finally(() => this.running.delete(run));
    this.running.add(run);
    return (await this.get(replayId)) as ReplayStatus;
  }

  async get(replayId: string): Promise<ReplayStatus | undefined> {
    const [row] = await this.repository.dataSource.query<Array<{ replay_id: string; status: ReplayStatus['status']; total: string; done: string; request: ReplayRequest; requested_by: string; started_at: Date; finished_at: Date | null; error: string | null }>>(
      `SELECT * FROM ${this.repository.s}.replays WHERE replay_id = $1`,
      [replayId],
    );
    if (!row) return undefined;
    return {
      replayId: row.replay_id,
      status: row.status,
      total: Number(row.total),
      done: Number(row.done),
      request: row.request,
      requestedBy: row.requested_by,
      startedAt: row.started_at.toISOString(),
      finishedAt: row.finished_at?.toISOString() ?? null,
      error: row.error,
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  private selection(request: ReplayRequest, after?: { logId: string; index: number }): WhereBuilder {
    const where = new WhereBuilder(["kind = 'event'"]);
    if (request.logId) where.add('log_id = ?', request.logId);
    else if (request.topic) where.add('log_id LIKE ?', `${request.topic.replace(/[\\%_]/g, (c) => `\\${c}`)}-%`);
    if (request.fromIndex !== undefined) where.add('idx >= ?', request.fromIndex);
    if (request.toIndex !== undefined) where.add('idx < ?', request.toIndex);
    if (request.since) where.add('event_time >= ?', request.since);
    if (request.until) where.add('event_time < ?', request.until);
    if (request.types?.length) where.add('event_type = ANY(?::text[])', request.types);
    if (after) where.add('(log_id, idx) > (?, ?)', after.logId, after.index);
    return where;
  }

  private async run(replayId: string, request: ReplayRequest, principal: Principal): Promise<void> {
    let done = 0;
    let outcome: 'completed' | 'failed' = 'completed';
    let error: string | undefined;
    try {
      const admin = this.kafka.kafka.admin();
      await admin.connect();
      try {
        if (!(await admin.listTopics()).includes(request.targetTopic)) {
          await admin.createTopics({ topics: [{ topic: request.targetTopic, numPartitions: this.config.TOPIC_PARTITIONS }], waitForLeaders: true });
        }
      } finally {
        await admin.disconnect();
      }
      const started = Date.now();
      let after: { logId: string; index: number } | undefined;
      for (;;) {
        const where = this.selection(request, after);
        const limit = where.param(PAGE);
        const rows = await this.repository.dataSource.query<Array<{ log_id: string; idx: string; leaf: Buffer }>>(
          `SELECT log_id, idx, leaf FROM ${this.repository.s}.leaves ${where.sql()} ORDER BY log_id, idx LIMIT ${limit}`,
          where.params,
        );
        if (rows.length === 0) break;
        const messages = rows.map((r) => {
          const parsed = parseLeaf(r.leaf);
          if (!parsed.ok || parsed.leaf.kind !== 'event') throw new Error(`leaf ${r.log_id}#${r.idx} is not an event leaf: ${parsed.ok ? parsed.leaf.kind : parsed.error.message}`);
          const { event } = parsed.leaf;
          return {
            key: event.subject,
            value: canonicalBytes(event),
            headers: { [REPLAY_HEADERS.replay]: replayId, [REPLAY_HEADERS.log]: r.log_id, [REPLAY_HEADERS.index]: r.idx },
          };
        });
        for (let i = 0; i < messages.length; i += 100) {
          const chunk = messages.slice(i, i + 100);
          await this.kafka.producer.send({ topic: request.targetTopic, acks: -1, messages: chunk });
          done += chunk.length;
          if (request.ratePerSecond) {
            const due = started + (done / request.ratePerSecond) * 1000;
            if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
          }
        }
        await this.repository.dataSource.query(`UPDATE ${this.repository.s}.replays SET done = $2 WHERE replay_id = $1`, [replayId, done]);
        const last = rows[rows.length - 1];
        if (!last) break;
        after = { logId: last.log_id, index: Number(last.idx) };
      }
    } catch (e) {
      outcome = 'failed';
      error = e instanceof Error ? e.message.slice(0, 1000) : 'replay failed';
      this.logger.warn({ replayId, err: error }, 'replay failed');
    }
    await this.repository.dataSource.transaction(async (m) => {
      await m.query(`UPDATE ${this.repository.s}.replays SET status = $2, done = $3, error = $4, finished_at = now() WHERE replay_id = $1`, [replayId, outcome, done, error ?? null]);
      await this.outbox.append(
        m,
        [{ type: 'tokenledger.ops.replay-finished.v1', data: { replayId, outcome, recordsReplayed: done, finishedAt: new Date().toISOString(), ...(error ? { error } : {}) } }],
        { actor: principal.actor },
      );
    });
    this.outbox.publishSoon();
  }
}
