import { canonicalBytes, canonicalize } from '@tokenledger/canonical-json';
import { buildEvent } from './build';
import {
  DEFAULT_MAX_EVENT_BYTES,
  buildEncodedEvent,
  decodeEvent,
  encodeEvent,
  partitionKey,
} from './codec';
import type { EventEnvelope } from './envelope';
import { EventDecodeError, EventValidationError } from './errors';
import { ALL_EVENT_TYPES, EVENT_TYPES } from './events/registry';
import { FIXED, REPLAY, TOKEN, sampleInput } from './test-support/samples';

const issued = () => buildEvent(sampleInput(EVENT_TYPES.tokenIssued), FIXED);

/** The encoded sample as a mutable plain object, to break on purpose. */
function plain(
  event: EventEnvelope = issued(),
): Record<string, unknown> & { data: Record<string, unknown> } {
  return JSON.parse(encodeEvent(event).toString('utf8')) as Record<string, unknown> & {
    data: Record<string, unknown>;
  };
}

function decodeFailure(input: Buffer | string, maxBytes?: number): EventDecodeError {
  const result = decodeEvent(input, maxBytes === undefined ? {} : { maxBytes });
  if (result.ok) throw new Error('expected decodeEvent to fail');
  expect(result.error).toBeInstanceOf(EventDecodeError);
  expect(result.error.retryable).toBe(false);
  return result.error;
}

/** Same value with every object's keys inserted in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reverseKeys(v)]),
  );
}

describe('encodeEvent / decodeEvent', () => {
  it.each(ALL_EVENT_TYPES)('round-trips %s', (type) => {
    const event = buildEvent(sampleInput(type), FIXED);
    const bytes = encodeEvent(event);
    const decoded = decodeEvent(bytes);
    expect(decoded).toEqual({ ok: true, event, value: event });
    if (!decoded.ok) return;
    expect(encodeEvent(decoded.event).equals(bytes)).toBe(true);
    expect(canonicalBytes(decoded.value).equals(bytes)).toBe(true);
    expect(decodeEvent(bytes.toString('utf8'))).toEqual({ ok: true, event, value: event });
  });

  it.each(ALL_EVENT_TYPES)(
    'buildEncodedEvent(%s) gives the event buildEvent gives and the bytes encodeEvent gives',
    (type) => {
      const { event, bytes } = buildEncodedEvent(sampleInput(type), FIXED);
      expect(event).toEqual(buildEvent(sampleInput(type), FIXED));
      expect(bytes.equals(encodeEvent(event))).toBe(true);
    },
  );

  it('buildEncodedEvent refuses invalid input and oversized events like buildEvent and encodeEvent', () => {
    expect(() =>
      buildEncodedEvent(
        {
          ...sampleInput('tokenledger.token.expired.v1'),
          data: { tokenId: 'nope', expiredAt: 'x' },
        },
        FIXED,
      ),
    ).toThrow(EventValidationError);
    expect(() =>
      buildEncodedEvent(sampleInput('tokenledger.token.expired.v1'), { ...FIXED, maxBytes: 50 }),
    ).toThrow(/exceeds the limit of 50/);
  });

  it('writes RFC 8785 canonical JSON, independent of key order', () => {
    const event = issued();
    const bytes = encodeEvent(event);
    expect(bytes.equals(canonicalBytes(event))).toBe(true);
    expect(bytes.toString('utf8')).toBe(canonicalize(event));
    expect(encodeEvent(reverseKeys(event) as EventEnvelope).equals(bytes)).toBe(true);
    expect(bytes.toString('utf8').startsWith('{"actor":"operator:')).toBe(true);
  });

  it('names the failing data field', () => {
    const broken = plain();
    broken.data.scopes = ['ledger:read', 42];
    const error = decodeFailure(JSON.stringify(broken));
    expect(error.code).toBe('invalid-data');
    expect(error.path).toBe('data.scopes[1]');
    expect(error.message).toBe('data.scopes[1]: expected string, received number');
  });

  it('names a missing data field and reports every issue', () => {
    const broken = plain();
    delete broken.data.tokenId;
    broken.data.owner = { type: 'robot', id: 'x' };
    const error = decodeFailure(JSON.stringify(broken));
    expect(error.code).toBe('invalid-data');
    expect(error.path).toBe('data.tokenId');
    expect(error.issues.map((issue) => issue.path)).toEqual(['data.tokenId', 'data.owner.type']);
    expect(error.message).toMatch(/^data\.tokenId: .*\(and 1 more\)$/);
  });

  it('rejects an unknown data field (no room for a token hash or secret)', () => {
    const broken = plain();
    broken.data.tokenHash = 'deadbeef';
    const error = decodeFailure(JSON.stringify(broken));
    expect(error.code).toBe('invalid-data');
    expect(error.path).toBe('data.tokenHash');
    expect(error.message).toBe('data.tokenHash: unknown field');
  });

  it('rejects an unknown envelope attribute, including __proto__', () => {
    const broken = plain();
    broken.traceparent = '00-abc';
    expect(decodeFailure(JSON.stringify(broken))).toMatchObject({
      code: 'invalid-envelope',
      path: 'traceparent',
    });
    const text = encodeEvent(issued()).toString('utf8').replace(/^\{/, '{"__proto__":{"x":1},');
    expect(decodeFailure(text)).toMatchObject({ code: 'invalid-envelope', path: '__proto__' });
  });

  it.each<[string, (event: Record<string, unknown>) => void, string]>([
    ['specversion', (e) => (e.specversion = '0.3'), 'specversion'],
    ['id not UUIDv7', (e) => (e.id = '9b2a4c1e-5d6f-4a3b-8c7d-0e1f2a3b4c5d'), 'id'],
    ['time with an offset', (e) => (e.time = '2024-05-01T14:00:00+02:00'), 'time'],
    ['time on 30 February', (e) => (e.time = '2024-02-30T00:00:00Z'), 'time'],
    ['datacontenttype', (e) => (e.datacontenttype = 'text/plain'), 'datacontenttype'],
    ['actor', (e) => (e.actor = 'operator:bob'), 'actor'],
    ['missing source', (e) => delete e.source, 'source'],
    ['data not an object', (e) => (e.data = []), 'data'],
    ['subject other than data.tokenId', (e) => (e.subject = REPLAY), 'subject'],
  ])('rejects a bad envelope: %s', (_name, mutate, path) => {
    const broken = plain();
    mutate(broken);
    const error = decodeFailure(JSON.stringify(broken));
    expect(error.code).toBe('invalid-envelope');
    expect(error.path).toBe(path);
    expect(error.message.startsWith(`${path}: `)).toBe(true);
  });

  it('rejects a value that is not an object', () => {
    expect(decodeFailure('[1,2]')).toMatchObject({ code: 'invalid-envelope', path: '' });
    expect(decodeFailure('null').message).toMatch(/^event: expected object/);
  });

  it('reports an unknown type as such', () => {
    const broken = plain();
    broken.type = 'tokenledger.token.teleported.v1';
    const error = decodeFailure(JSON.stringify(broken));
    expect(error.code).toBe('unknown-type');
    expect(error.path).toBe('type');
    expect(error.message).toContain('tokenledger.token.teleported.v1');
  });

  it('reports text that is not JSON, not UTF-8, or starts with a BOM', () => {
    expect(decodeFailure('{"specversion":')).toMatchObject({ code: 'not-json', path: '' });
    expect(decodeFailure(Buffer.from([0x7b, 0xff, 0x7d])).code).toBe('not-json');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), encodeEvent(issued())]);
    expect(decodeFailure(bom).code).toBe('not-json');
  });

  it('refuses a lone surrogate (escaped, so valid UTF-8) as not I-JSON, naming the field; a surrogate pair is fine', () => {
    const text = (name: string): string =>
      JSON.stringify({ ...plain(), data: { ...plain().data, name } });
    expect(decodeFailure(text('x\ud800'))).toMatchObject({ code: 'not-json', path: 'data.name' });
    expect(decodeFailure(Buffer.from(text('\udfff'))).message).toContain('lone surrogate');
    expect(decodeEvent(text('x\ud83d\ude00')).ok).toBe(true);
    // A backslash before "ud800" is no escape of a surrogate: the slow check runs and accepts it.
    expect(decodeEvent(text('\\ud800')).ok).toBe(true);
    const event = issued();
    expect(() => encodeEvent({ ...event, data: { ...event.data, name: 'x\ud800' } })).toThrow(
      EventValidationError,
    );
    expect(() => encodeEvent({ ...event, data: { ...event.data, name: 'x\ud800' } })).toThrow(
      'data.name: ',
    );
  });

  it('refuses records over maxBytes (default 1 MiB) before parsing them', () => {
    expect(DEFAULT_MAX_EVENT_BYTES).toBe(1024 * 1024);
    expect(decodeFailure(Buffer.alloc(DEFAULT_MAX_EVENT_BYTES + 1, 0x20)).code).toBe('too-large');
    const bytes = encodeEvent(issued());
    expect(decodeFailure(bytes, bytes.length - 1).code).toBe('too-large');
    expect(decodeEvent(bytes, { maxBytes: bytes.length }).ok).toBe(true);
    // Multi-byte characters count as bytes, not characters.
    expect(decodeFailure('"€€"', 7).code).toBe('too-large');
  });

  it('encodeEvent validates and enforces maxBytes too', () => {
    const event = issued();
    const broken = { ...event, data: { ...event.data, scopes: [] } };
    expect(() => encodeEvent(broken)).toThrow(EventValidationError);
    expect(() => encodeEvent(broken)).toThrow('data.scopes: Too small');
    let caught: unknown;
    try {
      encodeEvent(event, { maxBytes: 100 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(EventValidationError);
    expect(caught).toMatchObject({ code: 'too-large', path: '' });
  });
});

describe('partitionKey', () => {
  it('is the tokenId for token events, so one token stays in one partition', () => {
    for (const type of [
      EVENT_TYPES.tokenIssued,
      EVENT_TYPES.tokenUsed,
      EVENT_TYPES.anomalyDetected,
    ]) {
      expect(partitionKey(buildEvent(sampleInput(type), FIXED))).toBe(TOKEN);
    }
  });

  it('is the subject for events without a token (ops.*)', () => {
    const started = buildEvent(sampleInput(EVENT_TYPES.opsReplayStarted), FIXED);
    expect(partitionKey(started)).toBe(REPLAY);
    expect(partitionKey(started)).toBe(started.subject);
  });
});
