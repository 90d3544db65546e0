import type { z } from 'zod';
import type { EventEnvelopeOf } from './envelope';
import { DATACONTENTTYPE, SPECVERSION } from './envelope';
import { EventValidationError, errorFromIssues, issuesFrom } from './errors';
import { EVENT_DATA_SCHEMAS, type EventData, type EventType, isEventType } from './events/registry';
import { defaultSubject } from './events/subject';
import { createUuidV7Generator, type RandomBytes, uuidv7 } from './uuidv7';
import { validateEnvelopeOfValidData } from './validate';

export interface BuildEventInput<T extends EventType> {
  type: T;
  /** e.g. `/tokenledger/issuance`. */
  source: string;
  /** `operator:<tokenId>`, `service:<name>` or `system`. */
  actor: string;
  data: EventData<T>;
  /** Default: {@link defaultSubject} (the tokenId for token events). */
  subject?: string;
  /** Default: the new event's own id (it starts a correlation). */
  correlationid?: string;
  causationid?: string;
  /** Default: a new UUIDv7. */
  id?: string;
  /** Default: `now` as RFC 3339 UTC with milliseconds. */
  time?: string;
}

export interface BuildEventOptions {
  /** Clock in Unix ms; default Date.now. */
  now?: () => number;
  /** Randomness for the id; default crypto (ids then also increase within one millisecond). */
  random?: RandomBytes;
}

const nextId = createUuidV7Generator();

/**
 * Assembles a CloudEvents envelope, fills the defaults and validates the result.
 * @throws EventValidationError with the failing field path
 */
export function buildEvent<T extends EventType>(
  input: BuildEventInput<T>,
  options: BuildEventOptions = {},
): EventEnvelopeOf<T> {
  const { type } = input;
  if (!isEventType(type)) {
    throw new EventValidationError(
      'unknown-type',
      'type',
      `unknown event type ${JSON.stringify(type)}`,
    );
  }
  // Check data before deriving anything from it.
  const schema: z.ZodType = EVENT_DATA_SCHEMAS[type];
  const data = schema.safeParse(input.data);
  if (!data.success) {
    throw EventValidationError.from(
      errorFromIssues('invalid-data', issuesFrom(data.error, ['data'])),
    );
  }
  const now = (options.now ?? Date.now)();
  const id = input.id ?? (options.random ? uuidv7(now, options.random) : nextId(now));
  const envelope = {
    specversion: SPECVERSION,
    id,
    source: input.source,
    type,
    subject: input.subject ?? defaultSubject(type, input.data),
    time: input.time ?? new Date(now).toISOString(),
    datacontenttype: DATACONTENTTYPE,
    actor: input.actor,
    correlationid: input.correlationid ?? id,
    ...(input.causationid === undefined ? {} : { causationid: input.causationid }),
    data: input.data,
  };
  // The data passed its schema above; the envelope (and the subject rule) is checked here.
  const result = validateEnvelopeOfValidData(envelope, data.data);
  if (!result.ok) throw EventValidationError.from(result.error);
  return result.event as EventEnvelopeOf<T>;
}
