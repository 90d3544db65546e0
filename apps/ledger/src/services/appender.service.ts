import { hash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { decodeEvent, type EventVerifier } from '@tokenledger/contracts';
import { MESSAGING_OPTIONS, type MessagingOptions } from '@tokenledger/messaging-nest';
import {
  CHAIN_SEED,
  CompactRange,
  chainNext,
  decompose,
  emptyRoot,
  leafBytes,
  leafHash,
  logIdOf,
  nodeKey,
  type LeafContent,
  type RecordPosition,
} from '@tokenledger/ledger-core';
import { LedgerRepository, type LeafRow, type NewLeafRow } from '../repositories/ledger.repository';

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

type EventColumns = Pick<LeafRow, 'eventId' | 'eventType' | 'subject' | 'actor' | 'eventTime'>;

/** A leaf's exact bytes and its RFC 6962 hash. */
interface BuiltLeaf {
  kind: LeafContent['kind'];
  bytes: Buffer;
  hash: Buffer;
}

function buildLeaf(position: RecordPosition, content: LeafContent): BuiltLeaf {
  const bytes = leafBytes(position, content);
  return { kind: content.kind, bytes, hash: leafHash(bytes) };
}

/**
 * A record decoded, hashed and, when it is a valid event, already turned into its `event` leaf:
 * everything that does not depend on what the log holds. Only the rare duplicate or conflict needs
 * a different leaf, built inside the transaction. The decoded envelope itself is not kept, so a
 * batch keeps little alive while it waits for PostgreSQL.
 */
interface Prepared extends RecordPosition {
  value: Buffer;
  sha256: Buffer;
  rejection?: string;
  event?: { eventId: string; columns: EventColumns; leaf: BuiltLeaf };
}

function prepare(
  topic: string,
  partition: number,
  record: RawRecord,
  verifier: EventVerifier | undefined,
): Prepared {
  const value = record.value ?? Buffer.alloc(0);
  const position: RecordPosition = {
    topic,
    partition,
    offset: record.offset,
    timestamp: record.timestamp,
  };
  const sha256 = hash('sha256', value, 'buffer');
  // Records over the size limit are not even parsed.
  if (value.length > MAX_RECORD_BYTES) {
    return {
      ...position,
      value,
      sha256,
      rejection: `too-large: ${value.length} bytes, over the ${MAX_RECORD_BYTES}-byte limit`,
    };
  }
  const decoded = decodeEvent(value);
  if (!decoded.ok)
    return {
      ...position,
      value,
      sha256,
      rejection: `${decoded.error.code}: ${decoded.error.message}`,
    };
  // A valid event that its signer could not have produced, or not have been allowed to, is
  // evidence of a forgery attempt: a `rejected` leaf naming why (unsigned, bad-signature,
  // signer-not-allowed), never an `event` leaf that a reader could take for the real thing.
  const check = verifier?.verify(decoded.value);
  if (check && !check.ok)
    return { ...position, value, sha256, rejection: `${check.code}: ${check.message}` };
  const e = decoded.event;
  // The parsed record rather than the schema's output: same content, but already in canonical key
  // order when the producer wrote canonical JSON, so encoding the leaf copies nothing.
  const leaf = buildLeaf(position, { kind: 'event', event: decoded.value });
  return {
    ...position,
    value,
    sha256,
    event: {
      eventId: e.id,
      columns: {
        eventId: e.id,
        eventType: e.type,
        subject: e.subject,
        actor: e.actor,
        eventTime: e.time,
      },
      leaf,
    },
  };
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
  private readonly verifier: EventVerifier | undefined;

  constructor(
    private readonly repository: LedgerRepository,
    /** Its `verifier` (EVENT_SIGNERS): unset, signatures are not checked. */
    @Optional() @Inject(MESSAGING_OPTIONS) messaging?: Pick<MessagingOptions, 'verifier'>,
  ) {
    this.verifier = messaging?.verifier;
  }

  async append(topic: string, partition: number, records: RawRecord[]): Promise<AppendResult> {
    const logId = logIdOf(topic, partition);
    // CPU work that does not depend on the log's state happens before the head is locked.
    const prepared = records
      .map((r) => prepare(topic, partition, r, this.verifier))
      .sort((a, b) => a.offset - b.offset);
    return this.repository.transaction(async (m) => {
      const head = await this.repository.lockHead(
        m,
        logId,
        topic,
        partition,
        emptyRoot(),
        CHAIN_SEED,
      );
      const fresh = prepared.filter((r) => r.offset >= head.nextOffset);
      if (fresh.length === 0) {
        return {
          logId,
          appended: 0,
          size: head.size,
          rootHash: head.rootHash,
          nextOffset: head.nextOffset,
          rejected: [],
        };
      }

      // The right edge of the current tree (its perfect subtrees), to extend and to take the root of.
      const frontier = decompose(0, head.size);
      const stored = await this.repository.nodes(logId, frontier, m);
      const tree = new CompactRange(
        head.size,
        frontier.map((n) => {
          const hash = stored.get(nodeKey(n));
          if (!hash) throw new Error(`log ${logId}: stored node ${nodeKey(n)} is missing`);
          return hash;
        }),
      );
      const known = await this.repository.findEventIds(
        m,
        logId,
        fresh.flatMap((r) => (r.event ? [r.event.eventId] : [])),
      );

      const leaves: NewLeafRow[] = [];
      const rejected: Rejection[] = [];
      let chain = head.chainHead;

      /** A `rejected` leaf, and the record for the DLQ. */
      const reject = (record: Prepared, reason: string): BuiltLeaf => {
        const sha256 = record.sha256.toString('hex');
        rejected.push({ offset: record.offset, reason, sha256, value: record.value });
        return buildLeaf(record, { kind: 'rejected', reason, sha256, size: record.value.length });
      };

      for (const record of fresh) {
        const index = tree.length;
        let leaf: BuiltLeaf;
        let meta: (EventColumns & { payloadSha256: Buffer }) | undefined;
        const first = record.event && known.get(record.event.eventId);
        if (record.rejection !== undefined) {
          leaf = reject(record, record.rejection);
        } else if (record.event && first?.sha256.equals(record.sha256)) {
          leaf = buildLeaf(record, {
            kind: 'duplicate',
            eventId: record.event.eventId,
            sha256: record.sha256.toString('hex'),
            firstIndex: first.index,
          });
        } else if (record.event && first) {
          leaf = reject(
            record,
            `conflict: event id ${record.event.eventId} was recorded at index ${first.index} with other bytes`,
          );
        } else if (record.event) {
          leaf = record.event.leaf;
          meta = { ...record.event.columns, payloadSha256: record.sha256 };
          known.set(record.event.eventId, { index, sha256: record.sha256 });
        } else {
          throw new Error(`log ${logId}: offset ${record.offset} is neither an event nor rejected`);
        }
        chain = chainNext(chain, leaf.hash);
        const subtrees = Buffer.concat(tree.append(leaf.hash));
        leaves.push({
          logId,
          index,
          offset: record.offset,
          kind: leaf.kind,
          leaf: leaf.bytes,
          leafHash: leaf.hash,
          chainHash: chain,
          subtrees,
          ...meta,
        });
      }

      const size = tree.length;
      const rootHash = tree.root();
      await this.repository.insertLeaves(m, logId, leaves);
      const nextOffset = (fresh[fresh.length - 1] as Prepared).offset + 1;
      if (
        !(await this.repository.advanceHead(m, head, {
          size,
          rootHash,
          chainHead: chain,
          nextOffset,
        }))
      ) {
        throw new Error(`log ${logId}: head moved under this append (stale consumer); rolled back`);
      }
      return { logId, appended: leaves.length, size, rootHash, nextOffset, rejected };
    });
  }
}
