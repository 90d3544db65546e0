import { Inject, Injectable } from '@nestjs/common';
import { SchemaRepository, WhereBuilder, type Tx } from '@tokenledger/sql';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../config';

/** Which event leaves a replay republishes. */
export interface LeafSelection {
  logId?: string;
  topic?: string;
  fromIndex?: number;
  toIndex?: number;
  since?: string;
  until?: string;
  types?: string[];
}

export interface ReplayRow {
  replay_id: string;
  status: 'running' | 'completed' | 'failed';
  total: string;
  done: string;
  request: unknown;
  requested_by: string;
  started_at: Date;
  finished_at: Date | null;
  error: string | null;
}

/** Replays (table `replays`) and the pages of leaves they read. Reads only leaves, never writes them. */
@Injectable()
export class ReplayRepository extends SchemaRepository {
  constructor(dataSource: DataSource, @Inject(SERVICE_CONFIG) config: LedgerConfig) {
    super(dataSource, config.DB_SCHEMA);
  }

  /** How many event leaves the selection holds, and their first and last Kafka offsets. */
  async measure(
    selection: LeafSelection,
  ): Promise<{ n: string; first: string | null; last: string | null } | undefined> {
    const where = this.where(selection);
    const [count] = await this.dataSource.query<
      Array<{ n: string; first: string | null; last: string | null }>
    >(
      `SELECT count(*) AS n, min(kafka_offset)::text AS first, max(kafka_offset)::text AS last FROM ${this.s}.leaves ${where.sql()}`,
      where.params,
    );
    return count;
  }

  /** The next `limit` event leaves of the selection after `after`, in (log_id, idx) order. */
  leafPage(
    selection: LeafSelection,
    after: { logId: string; index: number } | undefined,
    limit: number,
  ): Promise<Array<{ log_id: string; idx: string; leaf: Buffer }>> {
    const where = this.where(selection, after);
    return this.page({
      columns: 'log_id, idx, leaf',
      table: 'leaves',
      where,
      orderBy: 'log_id, idx',
      limit,
    });
  }

  async insert(
    tx: Tx,
    replayId: string,
    request: unknown,
    requestedBy: string,
    total: number,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO ${this.s}.replays (replay_id, request, requested_by, status, total) VALUES ($1, $2, $3, 'running', $4)`,
      [replayId, JSON.stringify(request), requestedBy, total],
    );
  }

  async find(replayId: string): Promise<ReplayRow | undefined> {
    const [row] = await this.dataSource.query<ReplayRow[]>(
      `SELECT * FROM ${this.s}.replays WHERE replay_id = $1`,
      [replayId],
    );
    return row;
  }

  async progress(replayId: string, done: number): Promise<void> {
    await this.dataSource.query(`UPDATE ${this.s}.replays SET done = $2 WHERE replay_id = $1`, [
      replayId,
      done,
    ]);
  }

  async finish(
    tx: Tx,
    replayId: string,
    outcome: 'completed' | 'failed',
    done: number,
    error: string | null,
  ): Promise<void> {
    await tx.query(
      `UPDATE ${this.s}.replays SET status = $2, done = $3, error = $4, finished_at = now() WHERE replay_id = $1`,
      [replayId, outcome, done, error],
    );
  }

  private where(selection: LeafSelection, after?: { logId: string; index: number }): WhereBuilder {
    const where = new WhereBuilder(["kind = 'event'"]);
    if (selection.logId) where.add('log_id = ?', selection.logId);
    else if (selection.topic)
      where.add('log_id LIKE ?', `${selection.topic.replace(/[\\%_]/g, (c) => `\\${c}`)}-%`);
    if (selection.fromIndex !== undefined) where.add('idx >= ?', selection.fromIndex);
    if (selection.toIndex !== undefined) where.add('idx < ?', selection.toIndex);
    if (selection.since) where.add('event_time >= ?', selection.since);
    if (selection.until) where.add('event_time < ?', selection.until);
    if (selection.types?.length) where.add('event_type = ANY(?::text[])', selection.types);
    if (after) where.add('(log_id, idx) > (?, ?)', after.logId, after.index);
    return where;
  }
}
