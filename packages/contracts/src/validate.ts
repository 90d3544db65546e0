import type { z } from 'zod';
import type { EventEnvelope } from './envelope';
import { envelopeHeaderSchema } from './envelope';
import { EventDecodeError, errorFromIssues, issuesFrom } from './errors';
import { EVENT_DATA_SCHEMAS, isEventType } from './events/registry';
import { tokenIdOf } from './events/subject';

export type DecodeResult =
  | {
      ok: true;
      event: EventEnvelope;
      /**
       * The validated input itself (for decodeEvent: what JSON.parse returned). The schemas are
       * strict and transform nothing, so it holds the same content as `event`, in the input's key
       * order: for a canonical record that is already RFC 8785 order, which makes re-encoding cheap.
       */
      value: EventEnvelope;
    }
  | { ok: false; error: EventDecodeError };

/**
 * Checks an already parsed value against the envelope, then against the data schema of its
 * type, then the key rule (subject = data.tokenId when the data has one).
 */
export function validateEvent(value: unknown): DecodeResult {
  return checkEnvelope(value, (schema, data) => schema.safeParse(data));
}

/**
 * {@link validateEvent} for an envelope whose `data` has just passed its type's schema (as in
 * buildEvent): the envelope and the key rule are checked, the data is not parsed a second time.
 */
export function validateEnvelopeOfValidData(value: unknown, validData: unknown): DecodeResult {
  return checkEnvelope(value, () => ({ success: true, data: validData }));
}

type DataCheck = (
  schema: z.ZodType,
  data: unknown,
) => { success: true; data: unknown } | { success: false; error: z.ZodError };

function checkEnvelope(value: unknown, checkData: DataCheck): DecodeResult {
  const header = envelopeHeaderSchema.safeParse(value);
  if (!header.success) {
    return { ok: false, error: errorFromIssues('invalid-envelope', issuesFrom(header.error)) };
  }
  const { type } = header.data;
  if (!isEventType(type)) {
    return {
      ok: false,
      error: new EventDecodeError(
        'unknown-type',
        'type',
        `unknown event type ${JSON.stringify(type)}`,
      ),
    };
  }
  const data = checkData(EVENT_DATA_SCHEMAS[type], header.data.data);
  if (!data.success) {
    return { ok: false, error: errorFromIssues('invalid-data', issuesFrom(data.error, ['data'])) };
  }
  const tokenId = tokenIdOf(data.data);
  if (tokenId !== undefined && header.data.subject !== tokenId) {
    return {
      ok: false,
      error: new EventDecodeError(
        'invalid-envelope',
        'subject',
        `expected the subject to equal data.tokenId ${tokenId}`,
      ),
    };
  }
  // Safe: `type` is a known type and `data` passed that type's schema.
  return {
    ok: true,
    event: { ...header.data, type, data: data.data } as EventEnvelope,
    value: value as EventEnvelope,
  };
}
