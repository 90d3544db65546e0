import { createHash } from 'node:crypto';
import { canonicalBytes } from '@tokenledger/canonical-json';

/** Where a Kafka record sits; the leaf commits to it. */
export interface RecordPosition {
  topic: string;
  partition: number;
  offset: number;
  /** Kafka record timestamp (LogAppendTime on audited topics), ms since the epoch. */
  timestamp: number;
}

/**
 * The recorded event, as JSON. Kept as JSON rather than the contracts' EventEnvelope type: a leaf
 * commits to bytes, and the offline verifier MUST read leaves written under any earlier schema
 * version without pulling the event registry (zod) in. The event was validated once, at ingest;
 * parseLeaf only checks what the ledger itself relies on (id, type and subject are strings).
 */
export interface LeafEvent {
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly [attribute: string]: unknown;
}

export type LeafContent<Event extends object = LeafEvent> =
  | { kind: 'event'; event: Event }
  | { kind: 'duplicate'; eventId: string; sha256: string; firstIndex: number }
  | { kind: 'rejected'; reason: string; sha256: string; size: number };

export type LeafKind = LeafContent['kind'];

/** A parsed leaf: its version, record position and content. */
export type Leaf = { readonly v: 1 } & Readonly<RecordPosition> & Readonly<LeafContent>;

/**
 * The exact bytes of a leaf: RFC 8785 canonical JSON of
 * `{"v":1,"topic","partition","offset","timestamp","kind", ...content}`. A pure function of the
 * Kafka record and of earlier records of the same partition (duplicates), so a log rebuilt from
 * Kafka has the same leaves and roots. These bytes MUST NOT change: stored logs depend on them.
 */
export function leafBytes(position: RecordPosition, content: LeafContent<object>): Buffer {
  const { topic, partition, offset, timestamp } = position;
  return canonicalBytes({ v: 1, topic, partition, offset, timestamp, ...content });
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export type LeafErrorCode =
  'not-json' | 'bad-version' | 'bad-position' | 'bad-kind' | 'bad-content' | 'not-canonical';

export type ParseLeafResult =
  | { readonly ok: true; readonly leaf: Leaf }
  | {
      readonly ok: false;
      readonly error: { readonly code: LeafErrorCode; readonly message: string };
    };

const POSITION_KEYS = ['v', 'topic', 'partition', 'offset', 'timestamp', 'kind'];
const CONTENT_KEYS: Record<LeafKind, readonly string[]> = {
  event: ['event'],
  duplicate: ['eventId', 'sha256', 'firstIndex'],
  rejected: ['reason', 'sha256', 'size'],
};
const SHA256_HEX = /^[0-9a-f]{64}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const isCount = (x: unknown): x is number =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isKind = (x: unknown): x is LeafKind =>
  x === 'event' || x === 'duplicate' || x === 'rejected';

/**
 * Reads leaf bytes back; never throws and trusts no shape: the version, the position, the kind
 * and exactly the members of that kind are checked, and the bytes MUST be the canonical form
 * (so leafBytes of the result gives the same bytes back).
 */
export function parseLeaf(bytes: Uint8Array): ParseLeafResult {
  const bad = (code: LeafErrorCode, message: string): ParseLeafResult => ({
    ok: false,
    error: { code, message },
  });
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return bad('not-json', 'leaf is not UTF-8 JSON');
  }
  if (!isRecord(value)) return bad('not-json', 'leaf is not a JSON object');
  if (value.v !== 1) return bad('bad-version', `leaf version ${JSON.stringify(value.v)} is not 1`);
  const { topic, partition, offset, timestamp, kind } = value;
  if (
    typeof topic !== 'string' ||
    topic.length === 0 ||
    !isCount(partition) ||
    !isCount(offset) ||
    !isCount(timestamp)
  ) {
    return bad(
      'bad-position',
      'topic, partition, offset and timestamp must be a topic name and non-negative integers',
    );
  }
  if (!isKind(kind))
    return bad('bad-kind', `kind ${JSON.stringify(kind)} is not event, duplicate or rejected`);
  const allowed = new Set([...POSITION_KEYS, ...CONTENT_KEYS[kind]]);
  const keys = Object.keys(value);
  const extra = keys.find((k) => !allowed.has(k));
  if (extra !== undefined || keys.length !== allowed.size) {
    return bad(
      'bad-content',
      `a ${kind} leaf has exactly ${[...allowed].join(', ')}${extra === undefined ? '' : `, not ${extra}`}`,
    );
  }
  const contentError = checkContent(kind, value);
  if (contentError) return bad('bad-content', contentError);
  const leaf = value as Leaf;
  let canonical: Buffer;
  try {
    canonical = canonicalBytes(leaf);
  } catch (error) {
    return bad(
      'not-canonical',
      `leaf has no canonical form: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!canonical.equals(bytes))
    return bad('not-canonical', 'leaf bytes are not RFC 8785 canonical JSON');
  return { ok: true, leaf };
}

function checkContent(kind: LeafKind, value: Record<string, unknown>): string | undefined {
  switch (kind) {
    case 'event': {
      const event = value.event;
      if (
        !isRecord(event) ||
        typeof event.id !== 'string' ||
        typeof event.type !== 'string' ||
        typeof event.subject !== 'string'
      ) {
        return 'event must be an object with string id, type and subject';
      }
      return undefined;
    }
    case 'duplicate':
      if (
        typeof value.eventId !== 'string' ||
        typeof value.sha256 !== 'string' ||
        !SHA256_HEX.test(value.sha256) ||
        !isCount(value.firstIndex)
      ) {
        return 'a duplicate names an eventId, the record sha256 (hex) and the firstIndex';
      }
      return undefined;
    case 'rejected':
      if (
        typeof value.reason !== 'string' ||
        typeof value.sha256 !== 'string' ||
        !SHA256_HEX.test(value.sha256) ||
        !isCount(value.size)
      ) {
        return 'a rejected leaf names a reason, the record sha256 (hex) and its size';
      }
      return undefined;
  }
}
