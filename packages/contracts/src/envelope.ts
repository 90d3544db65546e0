import { z } from 'zod';
import { actorSchema, eventIdSchema, timestampSchema } from './events/common';
import type { EventData, EventType } from './events/registry';

const printable = (max: number) =>
  z
    .string()
    .regex(new RegExp(`^[\\x21-\\x7e]{1,${max}}$`), `expected 1-${max} printable ASCII characters`);

/**
 * CloudEvents 1.0 structured-mode JSON envelope, one per Kafka record. Strict: an unknown
 * attribute is an error. `data` is checked separately against the schema of `type`.
 */
export const envelopeHeaderSchema = z.strictObject({
  specversion: z.literal('1.0'),
  /** UUIDv7: unique per event, time ordered. */
  id: eventIdSchema,
  /** URI-reference of the producer, e.g. `/tokenledger/issuance`. */
  source: printable(256),
  type: z.string().min(1).max(256),
  /** The tokenId, or for events without one the id of what the event is about. Kafka key. */
  subject: printable(256),
  time: timestampSchema,
  datacontenttype: z.literal('application/json'),
  actor: actorSchema,
  /** Groups every event of one user-visible action; the first event's id when it starts one. */
  correlationid: printable(128),
  /** Id of the event that caused this one. */
  causationid: eventIdSchema.optional(),
  /** Key id of the producer's signing key (extension attribute, see signing.ts). */
  sigkeyid: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 characters of [A-Za-z0-9._-]')
    .optional(),
  /** Ed25519 signature, base64url without padding, over the envelope without `sig`. */
  sig: z
    .string()
    .regex(/^[A-Za-z0-9_-]{86}$/, 'expected an unpadded base64url Ed25519 signature')
    .optional(),
  data: z.looseObject({}),
});

export type EventEnvelopeHeader = Omit<z.infer<typeof envelopeHeaderSchema>, 'type' | 'data'>;

/** The envelope of one event type, with its typed data (distributes over a union of types). */
export type EventEnvelopeOf<T extends EventType> = T extends EventType
  ? EventEnvelopeHeader & { type: T; data: EventData<T> }
  : never;

/** Any event: a union discriminated by `type`. */
export type EventEnvelope = EventEnvelopeOf<EventType>;

export const SPECVERSION = '1.0';
export const DATACONTENTTYPE = 'application/json';

/**
 * The Kafka protocol binding of CloudEvents (structured content mode): every record whose value is
 * an event MUST carry this `content-type` header, or a receiver that follows the binding reads the
 * record in binary mode and finds no event attributes in its headers.
 */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

/** The headers of a record holding one event in structured mode (a fresh object each call). */
export function cloudEventHeaders(): { 'content-type': typeof CLOUDEVENTS_CONTENT_TYPE } {
  return { 'content-type': CLOUDEVENTS_CONTENT_TYPE };
}
