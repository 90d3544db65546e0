/**
 * One verifiable log per partition of each audited topic, named `<topic>-<partition>`.
 * Kafka topic names are [A-Za-z0-9._-]{1,249}; the partition is a decimal without leading zeros,
 * so every log id has exactly one spelling and formatLogId(parseLogId(id)) === id.
 */
export interface LogRef {
  readonly topic: string;
  readonly partition: number;
}

const LOG_ID = /^([A-Za-z0-9._-]{1,249})-(0|[1-9][0-9]{0,9})$/;

export type ParseLogIdResult =
  | ({ readonly ok: true } & LogRef)
  | {
      readonly ok: false;
      readonly error: { readonly code: 'malformed-log-id'; readonly message: string };
    };

/** `<topic>-<partition>`. */
export function logIdOf(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** Splits a log id at its last `-`; never throws. */
export function parseLogId(logId: string): ParseLogIdResult {
  const match = LOG_ID.exec(logId);
  const partition = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(partition) || partition > 2 ** 31 - 1) {
    return {
      ok: false,
      error: {
        code: 'malformed-log-id',
        message: `${JSON.stringify(logId)} is not <topic>-<partition>`,
      },
    };
  }
  return { ok: true, topic: match[1] as string, partition };
}

export function isLogId(logId: string): boolean {
  return parseLogId(logId).ok;
}
