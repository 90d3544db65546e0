import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { decodeEvent } from '@tokenledger/contracts';
import { CHAIN_SEED, chainNext, emptyRoot, leafHash } from '@tokenledger/ledger-core';
import { CompactRange } from '../domain/compact-range';
import { leafBytes, logIdOf, type LeafContent } from '../domain/leaf';
import { decompose, nodeKey } from '../domain/tree-plan';
import { LedgerRepository, type LeafRow } from '../repositories/ledger.repository';

export interface RawRecord {
  offset: number;
  timestamp: number;
  value: Buffer | null;
}

export interface Rejection {
  offset: number;
  reason: string;
  sha256: string;
  value: Buffer;
}

export interface AppendResult {
  logId: string;
  appended: number;
  size: number;
  rootHash: Buffer;
  nextOffset: number;
  rejected: Rejection[];
}

/** Records above this size become `rejected` leaves (reason too-large), like the DLQ consumer. */
export const MAX_RECORD_BYTES = 256 * 1024;

/**
 * Turns a batch of one partition's records into leaves, in offset order, in ONE PostgreSQL
 * transaction: leaves (each with the tree nodes it completes), event ids, the new head and the next Kafka offset.
 *
 * Contract: records below the stored next offset are skipped (already appended), so a redelivered
 * batch appends nothing twice; the head update is conditional on the offset this transaction
 * started from, so a stale consumer cannot append.
 */
@Injectable()
export class AppenderService {
  constructor(private readonly repository: LedgerRepository) {}

  async append(topic: string, partition: number, records: RawRecord[]): Promise<AppendResult> {
    const logId = logIdOf(topic, partition);
    return this.repository.dataSource.transaction(async (m) => {
      const head = await this.repository.lockHead(m, logId, topic, partition, emptyRoot(), CHAIN_SEED);
      const fresh = records.filter((r) => r.offset >= head.nextOffset).sort((a, b) => a.offset - b.offset);
      if (fresh.length === 0) {
        return { logId, appended: 0, size: head.size, rootHash: head.rootHash, nextOffset: head.nextOffset, rejected: [] };
      }

      // The right edge of the current tree (its perfect subtrees), to extend and to take the root of.
      const frontier = decompose(0, head.size);
      const stored = await this.repository.nodes(logId, frontier, m);
      const tree = new CompactRange(head.size, frontier.map((n) => {
        const hash = stored.get(nodeKey(n));
        if (!hash) throw new Error(`log ${logId}: stored node ${nodeKey(n)} is missing`);
        return hash;
      }));
      // Decode once; records over the size limit are not even parsed.
      const decodedAll = fresh.map((r) => {
        const value = r.value ?? Buffer.alloc(0);
        return value.length > MAX_RECORD_BYTES ? undefined : decodeEvent(value);
      });
      const known = await this.repository.findEventIds(
        m,
        logId,
        decodedAll.flatMap((d) => (d?.ok ? [d.event.id] : [])),
      );

      const leaves: Array<LeafRow & { subtrees: Buffer }> = [];
      const newIds: Array<{ eventId: string; index: number; sha256: Buffer }> = [];
      const rejected: Rejection[] = [];
      let chain = head.chainHead;

      for (const [i, record] of fresh.entries()) {
        const index = tree.length;
        const value = record.value ?? Buffer.alloc(0);
        const digest = createHash('sha256').update(value).digest();
        const position = { topic, partition, offset: record.offset, timestamp: record.timestamp };
        let content: LeafContent;
        let meta: Pick<LeafRow, 'eventId' | 'eventType' | 'subject' | 'actor' | 'eventTime'> = {};
        const decoded = decodedAll[i];
        if (!decoded || !decoded.ok) {
          const reason = decoded ? `${decoded.error.code}: ${decoded.error.message}` : `too-large: ${value.length} bytes, over the ${MAX_RECORD_BYTES}-byte limit`;
          content = { kind: 'rejected', reason, sha256: digest.toString('hex'), size: value.length };
          rejected.push({ offset: record.offset, reason, sha256: digest.toString('hex'), value });
        } else {
          const event = decoded.event;
          const first = known.get(event.id);
          if (first && first.sha256.equals(digest)) {
            content = { kind: 'duplicate', eventId: event.id, sha256: digest.toString('hex'), firstIndex: first.index };
          } else if (first) {
            const reason = `conflict: event id ${event.id} was recorded at index ${first.index} with other bytes`;
            content = { kind: 'rejected', reason, sha256: digest.toString('hex'), size: value.length };
            rejected.push({ offset: record.offset, reason, sha256: digest.toString('hex'), value });
          } else {
            content = { kind: 'event', event };
            meta = { eventId: event.id, eventType: event.type, subject: event.subject, actor: event.actor, eventTime: event.time };
            known.set(event.id, { index, sha256: digest });
            newIds.push({ eventId: event.id, index, sha256: digest });
          }
        }
        const leaf = leafBytes(position, content);
        const hash = leafHash(leaf);
        chain = chainNext(chain, hash);
        const subtrees = Buffer.concat(tree.append(hash));
        leaves.push({ logId, index, offset: record.offset, kind: content.kind, leaf, leafHash: hash, chainHash: chain, subtrees, ...meta });
      }

      const size = tree.length;
      const rootHash = tree.root();
      await this.repository.insertLeaves(m, logId, leaves);
      await this.repository.insertEventIds(m, logId, newIds);
      const nextOffset = (fresh[fresh.length - 1] as RawRecord).offset + 1;
      if (!(await this.repository.advanceHead(m, head, { size, rootHash, chainHead: chain, nextOffset }))) {
        throw new Error(`log ${logId}: head moved under this append (stale consumer); rolled back`);
      }
      return { logId, appended: leaves.length, size, rootHash, nextOffset, rejected };
    });
  }
}
