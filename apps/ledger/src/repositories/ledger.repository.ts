import { Inject, Injectable } from '@nestjs/common';
import { WhereBuilder, arrayLiteral, inTransaction, quoteIdent, type Tx } from '@tokenledger/sql';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { DataSource, type EntityManager } from 'typeorm';
import type { LedgerConfig } from '../config';
import { completingLeaf, nodeKey, type NodeRef } from '@tokenledger/ledger-core';

export interface LogHead {
  logId: string;
  topic: string;
  partition: number;
  size: number;
  rootHash: Buffer;
  chainHead: Buffer;
  nextOffset: number;
}

export interface LeafRow {
  logId: string;
  index: number;
  offset: number;
  kind: 'event' | 'duplicate' | 'rejected';
  leaf: Buffer;
  leafHash: Buffer;
  chainHash: Buffer;
  eventId?: string;
  eventType?: string;
  subject?: string;
  actor?: string;
  eventTime?: string;
}

/**
 * A leaf as the appender writes it: with the hashes of the subtrees it completes, and for an
 * `event` leaf its query columns and the SHA-256 of its Kafka record (duplicate detection).
 */
export type NewLeafRow = LeafRow & { subtrees: Buffer; payloadSha256?: Buffer };

export interface CheckpointRow {
  logId: string;
  size: number;
  rootHash: Buffer;
  note: string;
  keyName: string;
  signedAt: Date;
}

interface CheckpointDbRow {
  log_id: string;
  size: string;
  root_hash: Buffer;
  note: string;
  key_name: string;
  signed_at: Date;
}

function toCheckpoint(row: CheckpointDbRow): CheckpointRow {
  return {
    logId: row.log_id,
    size: Number(row.size),
    rootHash: row.root_hash,
    note: row.note,
    keyName: row.key_name,
    signedAt: row.signed_at,
  };
}

interface HeadRow {
  log_id: string;
  topic: string;
  partition: number;
  size: string;
  root_hash: Buffer;
  chain_head: Buffer;
  next_offset: string;
}

const toHead = (r: HeadRow): LogHead => ({
  logId: r.log_id,
  topic: r.topic,
  partition: r.partition,
  size: Number(r.size),
  rootHash: r.root_hash,
  chainHead: r.chain_head,
  nextOffset: Number(r.next_offset),
});

interface LeafDbRow {
  log_id: string;
  idx: string;
  kafka_offset: string;
  kind: LeafRow['kind'];
  leaf: Buffer;
  leaf_hash: Buffer;
  chain_hash: Buffer;
}

const toLeaf = (r: LeafDbRow): LeafRow => ({
  logId: r.log_id,
  index: Number(r.idx),
  offset: Number(r.kafka_offset),
  kind: r.kind,
  leaf: r.leaf,
  leafHash: r.leaf_hash,
  chainHash: r.chain_hash,
});

/** Byte strings laid end to end, with where each starts and how long it is. */
function packed(parts: Buffer[]): { bytes: Buffer; starts: number[]; lengths: number[] } {
  const starts: number[] = [];
  const lengths: number[] = [];
  let at = 0;
  for (const p of parts) {
    starts.push(at);
    lengths.push(p.length);
    at += p.length;
  }
  return { bytes: Buffer.concat(parts, at), starts, lengths };
}

/** SQL of the ledger schema. Every write happens inside the caller's transaction. */
@Injectable()
export class LedgerRepository {
  private readonly s: string;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(SERVICE_CONFIG) config: LedgerConfig,
  ) {
    this.s = quoteIdent(config.DB_SCHEMA);
  }

  /**
   * Runs `work` in one transaction on the ledger schema (this repository's methods take its `m`):
   * an append or a checkpoint commits whole or not at all.
   */
  transaction<T>(work: (m: Tx) => Promise<T>): Promise<T> {
    return inTransaction(this.dataSource, work);
  }

  /** The head of a log, created empty when missing, locked for the rest of the transaction. */
  async lockHead(
    m: EntityManager,
    logId: string,
    topic: string,
    partition: number,
    emptyRoot: Buffer,
    chainSeed: Buffer,
  ): Promise<LogHead> {
    await m.query(
      `INSERT INTO ${this.s}.logs (log_id, topic, partition, root_hash, chain_head) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [logId, topic, partition, emptyRoot, chainSeed],
    );
    const [row] = await m.query<HeadRow[]>(
      `SELECT * FROM ${this.s}.logs WHERE log_id = $1 FOR UPDATE`,
      [logId],
    );
    if (!row) throw new Error(`log ${logId} vanished`);
    return toHead(row);
  }

  /**
   * Moves the head. MUST be conditional on the offset the appender started from: a stale
   * consumer (a zombie after a rebalance) then updates nothing and its transaction is rolled back.
   */
  async advanceHead(
    m: EntityManager,
    head: LogHead,
    next: { size: number; rootHash: Buffer; chainHead: Buffer; nextOffset: number },
  ): Promise<boolean> {
    const result = await m.query<[unknown[], number]>(
      `UPDATE ${this.s}.logs SET size = $2, root_hash = $3, chain_head = $4, next_offset = $5, updated_at = now()
        WHERE log_id = $1 AND next_offset = $6 AND size = $7`,
      [
        head.logId,
        next.size,
        next.rootHash,
        next.chainHead,
        next.nextOffset,
        head.nextOffset,
        head.size,
      ],
    );
    return result[1] === 1;
  }

  /**
   * One statement per batch: the leaf rows, each `event` leaf with its query columns and its
   * record's SHA-256 (the duplicate index, migration 311). Byte columns travel as one binary
   * parameter each (sliced in SQL by offset and length), the rest as arrays expanded by unnest: a
   * bytea[] parameter would be sent as hex text, which costs more CPU on both sides than the
   * insert itself.
   */
  async insertLeaves(m: EntityManager, logId: string, rows: NewLeafRow[]): Promise<void> {
    if (rows.length === 0) return;
    const leaves = packed(rows.map((r) => r.leaf));
    const subtrees = packed(rows.map((r) => r.subtrees));
    const empty = Buffer.alloc(0);
    const sha = packed(rows.map((r) => r.payloadSha256 ?? empty));
    await m.query(
      `INSERT INTO ${this.s}.leaves (log_id, idx, kafka_offset, kind, leaf, leaf_hash, chain_hash, subtrees, event_id, event_type, subject, actor, event_time, payload_sha256)
       SELECT $1, u.idx, u.kafka_offset, u.kind,
              substring($2::bytea FROM u.leaf_at + 1 FOR u.leaf_length),
              substring($3::bytea FROM (u.n - 1)::int * 32 + 1 FOR 32),
              substring($4::bytea FROM (u.n - 1)::int * 32 + 1 FOR 32),
              substring($5::bytea FROM u.subtrees_at + 1 FOR u.subtrees_length),
              u.event_id, u.event_type, u.subject, u.actor, u.event_time,
              CASE WHEN u.event_id IS NULL THEN NULL ELSE substring($18::bytea FROM u.sha_at + 1 FOR 32) END
         FROM unnest($6::bigint[], $7::bigint[], $8::text[], $9::int[], $10::int[], $11::int[], $12::int[],
                     $13::uuid[], $14::text[], $15::text[], $16::text[], $17::timestamptz[], $19::int[])
              WITH ORDINALITY AS u(idx, kafka_offset, kind, leaf_at, leaf_length, subtrees_at, subtrees_length,
                                   event_id, event_type, subject, actor, event_time, sha_at, n)`,
      [
        logId,
        leaves.bytes,
        Buffer.concat(rows.map((r) => r.leafHash)),
        Buffer.concat(rows.map((r) => r.chainHash)),
        subtrees.bytes,
        arrayLiteral(rows.map((r) => r.index)),
        arrayLiteral(rows.map((r) => r.offset)),
        arrayLiteral(rows.map((r) => r.kind)),
        arrayLiteral(leaves.starts),
        arrayLiteral(leaves.lengths),
        arrayLiteral(subtrees.starts),
        arrayLiteral(subtrees.lengths),
        arrayLiteral(rows.map((r) => r.eventId)),
        arrayLiteral(rows.map((r) => r.eventType)),
        arrayLiteral(rows.map((r) => r.subject)),
        arrayLiteral(rows.map((r) => r.actor)),
        arrayLiteral(rows.map((r) => r.eventTime)),
        sha.bytes,
        arrayLiteral(sha.starts),
      ],
    );
  }

  /** Where each of these event ids was first recorded in the log, with its record's SHA-256. */
  async findEventIds(
    m: EntityManager,
    logId: string,
    eventIds: string[],
  ): Promise<Map<string, { index: number; sha256: Buffer }>> {
    if (eventIds.length === 0) return new Map();
    const rows = await m.query<Array<{ event_id: string; idx: string; payload_sha256: Buffer }>>(
      `SELECT event_id, idx, payload_sha256 FROM ${this.s}.leaves WHERE log_id = $1 AND event_id = ANY($2::uuid[])`,
      [logId, eventIds],
    );
    return new Map(
      rows.map((r) => [r.event_id, { index: Number(r.idx), sha256: r.payload_sha256 }]),
    );
  }

  /**
   * Stored perfect-subtree hashes, in one read: each lives in the row of the leaf that completes
   * it (tree-plan's completingLeaf). Nodes not stored (beyond the tree) are absent from the map.
   */
  async nodes(
    logId: string,
    refs: NodeRef[],
    m: EntityManager = this.dataSource.manager,
  ): Promise<Map<string, Buffer>> {
    if (refs.length === 0) return new Map();
    const rows = await m.query<Array<{ idx: string; leaf_hash: Buffer; subtrees: Buffer }>>(
      `SELECT idx, leaf_hash, subtrees FROM ${this.s}.leaves WHERE log_id = $1 AND idx = ANY($2::bigint[])`,
      [logId, [...new Set(refs.map(completingLeaf))]],
    );
    const byIndex = new Map(rows.map((r) => [Number(r.idx), r]));
    const found = new Map<string, Buffer>();
    for (const ref of refs) {
      const row = byIndex.get(completingLeaf(ref));
      if (!row) continue;
      const hash =
        ref.level === 0
          ? row.leaf_hash
          : row.subtrees.subarray((ref.level - 1) * 32, ref.level * 32);
      if (hash.length === 32) found.set(nodeKey(ref), hash);
    }
    return found;
  }

  /**
   * The hashes of tree level `level`, nodes [start, start + count), in index order, in one read
   * (what a C2SP hash tile holds: tile level L is tree level 8L). Node (level, i) covers leaves
   * [i * 2^level, (i + 1) * 2^level). Contract: returns exactly `count` 32-byte hashes when every
   * one of those nodes is complete in the stored log, and fewer when some is not (the caller asks
   * only for nodes below a checkpoint's size, so fewer means storage lost a row). Today: level 0
   * is `leaf_hash`, level l > 0 the l-th hash of `subtrees` in the row of the leaf completing it.
   */
  async levelHashes(logId: string, level: number, start: number, count: number): Promise<Buffer[]> {
    if (count <= 0) return [];
    if (level === 0) {
      const rows = await this.dataSource.query<Array<{ h: Buffer }>>(
        `SELECT leaf_hash AS h FROM ${this.s}.leaves WHERE log_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx`,
        [logId, start, start + count],
      );
      return rows.map((r) => r.h);
    }
    const leaves = Array.from({ length: count }, (_, i) =>
      completingLeaf({ level, index: start + i }),
    );
    const rows = await this.dataSource.query<Array<{ h: Buffer }>>(
      `SELECT substring(subtrees FROM $3::int FOR 32) AS h FROM ${this.s}.leaves
        WHERE log_id = $1 AND idx = ANY($2::bigint[]) ORDER BY idx`,
      [logId, leaves, (level - 1) * 32 + 1],
    );
    return rows.map((r) => r.h).filter((h) => h.length === 32);
  }

  /**
   * The exact bytes of leaves [start, start + count), in index order, in one read (what a C2SP
   * entry bundle holds). Contract: fewer than `count` only when the stored log lacks some of them.
   */
  async leafBytesRange(logId: string, start: number, count: number): Promise<Buffer[]> {
    if (count <= 0) return [];
    const rows = await this.dataSource.query<Array<{ leaf: Buffer }>>(
      `SELECT leaf FROM ${this.s}.leaves WHERE log_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx`,
      [logId, start, start + count],
    );
    return rows.map((r) => r.leaf);
  }

  async heads(): Promise<LogHead[]> {
    const rows = await this.dataSource.query<HeadRow[]>(
      `SELECT * FROM ${this.s}.logs ORDER BY topic, partition`,
    );
    return rows.map(toHead);
  }

  async head(logId: string): Promise<LogHead | undefined> {
    const [row] = await this.dataSource.query<HeadRow[]>(
      `SELECT * FROM ${this.s}.logs WHERE log_id = $1`,
      [logId],
    );
    return row && toHead(row);
  }

  async leaves(logId: string, from: number, limit: number): Promise<LeafRow[]> {
    const rows = await this.dataSource.query<LeafDbRow[]>(
      `SELECT log_id, idx, kafka_offset, kind, leaf, leaf_hash, chain_hash FROM ${this.s}.leaves
        WHERE log_id = $1 AND idx >= $2 ORDER BY idx LIMIT $3`,
      [logId, from, limit],
    );
    return rows.map(toLeaf);
  }

  /**
   * The logs holding at least one `event` leaf whose subject is `subject`, in logId order (a
   * token's evidence). Served by the subject index.
   */
  async subjectLogs(subject: string): Promise<string[]> {
    const rows = await this.dataSource.query<Array<{ log_id: string }>>(
      `SELECT DISTINCT log_id FROM ${this.s}.leaves WHERE subject = $1 AND kind = 'event' ORDER BY log_id`,
      [subject],
    );
    return rows.map((r) => r.log_id);
  }

  /** How many `event` leaves of `subject` log `logId` holds below index `below`. */
  async countSubjectLeaves(subject: string, logId: string, below: number): Promise<number> {
    const [row] = await this.dataSource.query<Array<{ n: string }>>(
      `SELECT count(*) AS n FROM ${this.s}.leaves WHERE subject = $1 AND kind = 'event' AND log_id = $2 AND idx < $3`,
      [subject, logId, below],
    );
    return Number(row?.n ?? 0);
  }

  /**
   * At most `limit` `event` leaves of `subject` in log `logId` with afterIndex < index < below, in
   * index order (keyset paging: pass the last index read as afterIndex, -1 to start). Leaves never
   * change, so pages read at different times add up to exactly the countSubjectLeaves set.
   */
  async subjectLeaves(
    subject: string,
    logId: string,
    afterIndex: number,
    below: number,
    limit: number,
  ): Promise<LeafRow[]> {
    const rows = await this.dataSource.query<LeafDbRow[]>(
      `SELECT log_id, idx, kafka_offset, kind, leaf, leaf_hash, chain_hash FROM ${this.s}.leaves
        WHERE subject = $1 AND kind = 'event' AND log_id = $2 AND idx > $3 AND idx < $4
        ORDER BY idx LIMIT $5`,
      [subject, logId, afterIndex, below, limit],
    );
    return rows.map(toLeaf);
  }

  /** Entries matching event filters, across logs, ordered by event time then position. */
  async findEvents(filter: {
    subject?: string;
    type?: string;
    actor?: string;
    since?: string;
    until?: string;
    after?: { time: string; logId: string; index: number };
    limit: number;
  }): Promise<Array<LeafRow & { eventTime: string }>> {
    const where = new WhereBuilder(['event_time IS NOT NULL', "kind = 'event'"]);
    if (filter.subject) where.add('subject = ?', filter.subject);
    if (filter.type) where.add('event_type = ?', filter.type);
    if (filter.actor) where.add('actor = ?', filter.actor);
    if (filter.since) where.add('event_time >= ?', filter.since);
    if (filter.until) where.add('event_time < ?', filter.until);
    if (filter.after)
      where.add(
        '(event_time, log_id, idx) > (?, ?, ?)',
        filter.after.time,
        filter.after.logId,
        filter.after.index,
      );
    const limit = where.param(filter.limit);
    const rows = await this.dataSource.query<Array<LeafDbRow & { event_time: Date }>>(
      `SELECT log_id, idx, kafka_offset, kind, leaf, leaf_hash, chain_hash, event_time FROM ${this.s}.leaves
        ${where.sql()} ORDER BY event_time, log_id, idx LIMIT ${limit}`,
      where.params,
    );
    return rows.map((r) => ({ ...toLeaf(r), eventTime: r.event_time.toISOString() }));
  }

  async insertCheckpoint(m: EntityManager, c: Omit<CheckpointRow, 'signedAt'>): Promise<void> {
    await m.query(
      `INSERT INTO ${this.s}.checkpoints (log_id, size, root_hash, note, key_name) VALUES ($1, $2, $3, $4, $5)`,
      [c.logId, c.size, c.rootHash, c.note, c.keyName],
    );
  }

  async latestCheckpoint(
    logId: string,
    m: EntityManager = this.dataSource.manager,
  ): Promise<CheckpointRow | undefined> {
    const [row] = await m.query<CheckpointDbRow[]>(
      `SELECT * FROM ${this.s}.checkpoints WHERE log_id = $1 ORDER BY size DESC LIMIT 1`,
      [logId],
    );
    return row && toCheckpoint(row);
  }

  async checkpoints(logId: string): Promise<CheckpointRow[]> {
    const rows = await this.dataSource.query<CheckpointDbRow[]>(
      `SELECT * FROM ${this.s}.checkpoints WHERE log_id = $1 ORDER BY size`,
      [logId],
    );
    return rows.map(toCheckpoint);
  }

  /** At most `limit` checkpoints of a log with size > `afterSize`, by size (keyset paging). */
  async checkpointPage(logId: string, afterSize: number, limit: number): Promise<CheckpointRow[]> {
    const rows = await this.dataSource.query<CheckpointDbRow[]>(
      `SELECT * FROM ${this.s}.checkpoints WHERE log_id = $1 AND size > $2 ORDER BY size LIMIT $3`,
      [logId, afterSize, limit],
    );
    return rows.map(toCheckpoint);
  }

  /**
   * Every key that ever signed, oldest first. Active: the key activated last (signing_key_events,
   * migration 306); for a database from before that migration, the `active` column.
   */
  async keys(): Promise<
    Array<{ name: string; verifierKey: string; active: boolean; retiredAt: Date | null }>
  > {
    const rows = await this.dataSource.query<
      Array<{ key_name: string; verifier_key: string; active: boolean; retired_at: Date | null }>
    >(
      `WITH latest AS (
         SELECT verifier_key FROM ${this.s}.signing_key_events WHERE event = 'activated' ORDER BY at DESC LIMIT 1)
       SELECT k.key_name, k.verifier_key,
              CASE WHEN EXISTS (SELECT 1 FROM latest) THEN k.verifier_key = (SELECT verifier_key FROM latest)
                   ELSE k.active END AS active,
              (SELECT max(e.at) FROM ${this.s}.signing_key_events e
                WHERE e.verifier_key = k.verifier_key AND e.event = 'retired'
                  AND e.at > coalesce((SELECT max(a.at) FROM ${this.s}.signing_key_events a
                                        WHERE a.verifier_key = k.verifier_key AND a.event = 'activated'), '-infinity')) AS retired_at
         FROM ${this.s}.signing_keys k ORDER BY k.added_at`,
    );
    return rows.map((r) => ({
      name: r.key_name,
      verifierKey: r.verifier_key,
      active: r.active,
      retiredAt: r.retired_at,
    }));
  }
}
