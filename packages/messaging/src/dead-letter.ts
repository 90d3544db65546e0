import { createHash } from 'node:crypto';
import type { RecordProducer } from './client';

export const DLQ_HEADERS = {
  reason: 'tl-dlq-reason',
  code: 'tl-dlq-code',
  topic: 'tl-source-topic',
  partition: 'tl-source-partition',
  offset: 'tl-source-offset',
  sha256: 'tl-source-sha256',
} as const;

/** The `content-type` of every dead letter (see DeadLetterWriter.write). */
export const DEAD_LETTER_CONTENT_TYPE = 'application/octet-stream';

/** A record that will not be handled, with where it came from and why. */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | string | null;
  /** The original bytes, unchanged. */
  value: Buffer;
  /** Machine-readable: `not-json`, `invalid-data`, `too-large`, ... */
  code: string;
  /** Human-readable; names the failing field where there is one. */
  reason: string;
  /** Hex SHA-256 of `value`. */
  sha256: string;
}

export function deadLetterOf(
  source: {
    topic: string;
    partition: number;
    offset: string;
    key: Buffer | string | null;
    value: Buffer;
  },
  code: string,
  reason: string,
): DeadLetter {
  return {
    ...source,
    code,
    reason,
    sha256: createHash('sha256').update(source.value).digest('hex'),
  };
}

/**
 * The one writer of `ledger.dlq`. A dead letter MUST be acknowledged by every in-sync replica
 * (acks=all) before the offset of its record is committed, or a crash in between loses it.
 */
export class DeadLetterWriter {
  constructor(
    private readonly producer: RecordProducer,
    /** Full name of the dead-letter topic (`ledger.dlq` with any prefix). */
    private readonly topic: string,
  ) {}

  async write(letter: DeadLetter): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: [
        {
          key: letter.key,
          value: letter.value,
          headers: {
            // The source record's bytes as they came, which may not be an event at all (an
            // invalid-data letter): opaque bytes to a CloudEvents receiver, never a structured event.
            'content-type': DEAD_LETTER_CONTENT_TYPE,
            [DLQ_HEADERS.reason]: letter.reason,
            [DLQ_HEADERS.code]: letter.code,
            [DLQ_HEADERS.topic]: letter.topic,
            [DLQ_HEADERS.partition]: String(letter.partition),
            [DLQ_HEADERS.offset]: letter.offset,
            [DLQ_HEADERS.sha256]: letter.sha256,
          },
        },
      ],
    });
  }
}
