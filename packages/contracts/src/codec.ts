import { TextDecoder } from 'node:util';
import { CanonicalJsonError, canonicalBytes, canonicalize } from '@tokenledger/canonical-json';
import { buildEvent, type BuildEventInput, type BuildEventOptions } from './build';
import type { EventEnvelope, EventEnvelopeOf } from './envelope';
import type { EventType } from './events/registry';
import { EventDecodeError, EventValidationError } from './errors';
import { signEnvelope, type EventSigningKey } from './signing';
import { type DecodeResult, validateEvent } from './validate';

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** Larger records are refused on both sides (producers throw, consumers get `too-large`). */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

export interface CodecOptions {
  /** Default {@link DEFAULT_MAX_EVENT_BYTES} (1 MiB). */
  maxBytes?: number;
  /**
   * Encoding: sign the event with this key (sets `sigkeyid` and `sig`, see signing.ts). The
   * returned event of buildEncodedEvent then carries them too. Without it the record is unsigned.
   */
  signingKey?: EventSigningKey;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The Kafka record value of an event: RFC 8785 canonical JSON (UTF-8), so the bytes, and the
 * ledger leaf built from them, do not depend on key order. Validates first.
 * @throws EventValidationError
 */
export function encodeEvent(event: EventEnvelope, options: CodecOptions = {}): Buffer {
  const result = validateEvent(event);
  if (!result.ok) throw EventValidationError.from(result.error);
  return encodeValidated(result.event, options).bytes;
}

/**
 * buildEvent and encodeEvent in one, validating once: the event buildEvent returns has just been
 * validated and is encoded before any code could change it. For hot paths (usage reporters).
 * @throws EventValidationError
 */
export function buildEncodedEvent<T extends EventType>(
  input: BuildEventInput<T>,
  options: BuildEventOptions & CodecOptions = {},
): { event: EventEnvelopeOf<T>; bytes: Buffer } {
  return encodeValidated(buildEvent(input, options), options);
}

/** `$.data.items[2]` (canonical-json) as `data.items[2]` (this package's paths). */
function fieldPath(error: CanonicalJsonError): string {
  return error.path.replace(/^\$\.?/, '');
}

function encodeValidated<E extends EventEnvelope>(
  unsigned: E,
  options: CodecOptions,
): { event: E; bytes: Buffer } {
  let bytes: Buffer;
  let event = unsigned;
  try {
    if (options.signingKey) event = signEnvelope(unsigned, options.signingKey);
    bytes = canonicalBytes(event);
  } catch (error) {
    // A string with a lone surrogate passes the schemas but has no RFC 8785 form.
    if (error instanceof CanonicalJsonError)
      throw new EventValidationError('invalid-data', fieldPath(error), error.message);
    throw error;
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_EVENT_BYTES;
  if (bytes.length > maxBytes) {
    throw new EventValidationError(
      'too-large',
      '',
      `${bytes.length} bytes exceeds the limit of ${maxBytes}`,
    );
  }
  return { event, bytes };
}

/**
 * Parses and validates a Kafka record value. Never throws: a bad record is a result with a
 * `code` and the failing field `path`, so consumers can dead-letter it.
 */
export function decodeEvent(bytes: Uint8Array | string, options: CodecOptions = {}): DecodeResult {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.byteLength;
  if (size > maxBytes) {
    return {
      ok: false,
      error: new EventDecodeError(
        'too-large',
        '',
        `${size} bytes exceeds the limit of ${maxBytes}`,
      ),
    };
  }
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : utf8.decode(bytes);
  } catch {
    return { ok: false, error: new EventDecodeError('not-json', '', 'not valid UTF-8') };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, error: new EventDecodeError('not-json', '', `not JSON (${reason})`) };
  }
  // Decoded UTF-8 is well-formed, so a lone surrogate can only come from a \uD800-\uDFFF escape.
  // Such text is not I-JSON (RFC 7493 §2.1) and has no RFC 8785 form, so no leaf could hold it.
  if (SURROGATE_ESCAPE.test(text)) {
    try {
      canonicalize(value);
    } catch (error) {
      if (error instanceof CanonicalJsonError)
        return {
          ok: false,
          error: new EventDecodeError('not-json', fieldPath(error), error.message),
        };
      throw error;
    }
  }
  return validateEvent(value);
}

/**
 * The Kafka key of an event: its subject. For token events that is the tokenId, so one token's
 * events stay ordered in one partition; events without a token use the subject they were built
 * with (owner id, replayId, policyId, keyId: see defaultSubject).
 */
export function partitionKey(event: Pick<EventEnvelope, 'subject'>): string {
  return event.subject;
}
