import { createHash } from 'node:crypto';
import { canonicalBytes } from '@tokenledger/canonical-json';
import type { EventEnvelope } from '@tokenledger/contracts';

/** Where a Kafka record sits; the leaf commits to it. */
export interface RecordPosition {
  topic: string;
  partition: number;
  offset: number;
  /** Kafka record timestamp (LogAppendTime on audited topics), ms since the epoch. */
  timestamp: number;
}

export type LeafContent =
  | { kind: 'event'; event: EventEnvelope }
  | { kind: 'duplicate'; eventId: string; sha256: string; firstIndex: number }
  | { kind: 'rejected'; reason: string; sha256: string; size: number };

/**
 * The exact bytes of a leaf: RFC 8785 canonical JSON of
 * `{"v":1,"topic","partition","offset","timestamp","kind", ...content}`. A pure function of the
 * Kafka record and of earlier records of the same partition (duplicates), so a log rebuilt from
 * Kafka has the same leaves and roots.
 */
export function leafBytes(position: RecordPosition, content: LeafContent): Buffer {
  const { topic, partition, offset, timestamp } = position;
  return canonicalBytes({ v: 1, topic, partition, offset, timestamp, ...content });
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function logIdOf(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}
