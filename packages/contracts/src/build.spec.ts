import { buildEvent, type BuildEventInput } from './build';
import { encodeEvent } from './codec';
import { EventValidationError } from './errors';
import { EVENT_TYPES, type EventType } from './events/registry';
import { FIXED, OPERATOR, REPLAY, TOKEN, sampleId, sampleInput } from './test-support/samples';
import { isUuidV7, uuidv7Timestamp } from './uuidv7';

function buildFailure<T extends EventType>(input: BuildEventInput<T>): EventValidationError {
  try {
    buildEvent(input, FIXED);
  } catch (error) {
    if (error instanceof EventValidationError) return error;
    throw error;
  }
  throw new Error('expected buildEvent to throw');
}

describe('buildEvent', () => {
  it('fills the CloudEvents attributes from the injected clock and randomness', () => {
    const event = buildEvent(sampleInput(EVENT_TYPES.tokenIssued), FIXED);
    expect(event).toMatchObject({
      specversion: '1.0',
      source: '/tokenledger/issuance',
      type: 'tokenledger.token.issued.v1',
      subject: TOKEN,
      time: '2024-05-01T12:00:00.000Z',
      datacontenttype: 'application/json',
      actor: `operator:${OPERATOR}`,
    });
    expect(isUuidV7(event.id)).toBe(true);
    expect(uuidv7Timestamp(event.id)).toBe(FIXED.now());
    expect(event.correlationid).toBe(event.id);
    expect('causationid' in event).toBe(false);
    expect(event.data.scopes).toEqual(['invoices:read', 'ledger:read']);
  });

  it('is reproducible byte for byte with a fixed clock and randomness', () => {
    const a = encodeEvent(buildEvent(sampleInput(EVENT_TYPES.tokenRevoked), FIXED));
    const b = encodeEvent(buildEvent(sampleInput(EVENT_TYPES.tokenRevoked), FIXED));
    expect(a.equals(b)).toBe(true);
  });

  it('keeps given id, time, correlation and causation', () => {
    const cause = sampleId(100);
    const event = buildEvent(
      {
        ...sampleInput(EVENT_TYPES.tokenRevoked),
        id: sampleId(101),
        time: '2024-05-01T12:00:00.123456Z',
        correlationid: 'req-42',
        causationid: cause,
      },
      FIXED,
    );
    expect(event).toMatchObject({
      id: sampleId(101),
      time: '2024-05-01T12:00:00.123456Z',
      correlationid: 'req-42',
      causationid: cause,
    });
  });

  it('gives increasing ids without injected randomness, even within one millisecond', () => {
    const now = () => 1_714_564_800_000;
    const ids = Array.from(
      { length: 50 },
      () => buildEvent(sampleInput(EVENT_TYPES.tokenExpired), { now }).id,
    );
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(50);
  });

  it.each<[EventType, string]>([
    [EVENT_TYPES.tokenIssuanceDenied, 'alice@example.com'],
    [EVENT_TYPES.tokenRevokeRequested, TOKEN],
    [EVENT_TYPES.opsReplayStarted, REPLAY],
    [EVENT_TYPES.opsReplayFinished, REPLAY],
    [EVENT_TYPES.opsPolicyChanged, 'default'],
    [EVENT_TYPES.opsKeyRotated, 'checkpoint-2024-05'],
    [EVENT_TYPES.opsSigningHalted, 'tokens.lifecycle-0'],
    [EVENT_TYPES.opsWebhookChanged, REPLAY],
    [EVENT_TYPES.tokenRotationDue, TOKEN],
    [EVENT_TYPES.tokenLimitsChanged, TOKEN],
  ])('derives the subject of %s', (type, expected) => {
    expect(buildEvent(sampleInput(type), FIXED).subject).toBe(expected);
  });

  it('uses the requester as subject for a selector revoke request', () => {
    const event = buildEvent(
      {
        type: EVENT_TYPES.tokenRevokeRequested,
        source: '/tokenledger/revocation',
        actor: `operator:${OPERATOR}`,
        data: {
          selector: { ownerId: 'billing', scope: 'admin' },
          reason: 'bulk',
          requester: `operator:${OPERATOR}`,
        },
      },
      FIXED,
    );
    expect(event.subject).toBe(`operator:${OPERATOR}`);
  });

  it('uses the prefix as subject for the usage of an unknown token', () => {
    const input = sampleInput(EVENT_TYPES.tokenUsed);
    const { tokenId: _unknown, ...data } = input.data;
    const event = buildEvent(
      { ...input, data: { ...data, prefix: 'tlk_live_ZZZZ', rejection: 'unknown' } },
      FIXED,
    );
    expect(event.subject).toBe('tlk_live_ZZZZ');
  });

  it('refuses a subject other than the tokenId', () => {
    const error = buildFailure({ ...sampleInput(EVENT_TYPES.tokenExpired), subject: REPLAY });
    expect(error.code).toBe('invalid-envelope');
    expect(error.path).toBe('subject');
  });

  it('reports invalid data with its path before deriving anything from it', () => {
    const input = sampleInput(EVENT_TYPES.tokenIssuanceDenied);
    const error = buildFailure({
      ...input,
      data: { ...input.data, requested: undefined },
    } as unknown as typeof input);
    expect(error.code).toBe('invalid-data');
    expect(error.path).toBe('data.requested');
  });

  it('reports invalid envelope attributes', () => {
    expect(buildFailure({ ...sampleInput(EVENT_TYPES.tokenExpired), actor: 'root' }).path).toBe(
      'actor',
    );
    expect(
      buildFailure({ ...sampleInput(EVENT_TYPES.tokenExpired), causationid: 'nope' }).path,
    ).toBe('causationid');
    expect(
      buildFailure({ ...sampleInput(EVENT_TYPES.tokenExpired), time: '2024-05-01 12:00:00' }).path,
    ).toBe('time');
  });

  it('reports an unknown type', () => {
    const input = {
      ...sampleInput(EVENT_TYPES.tokenExpired),
      type: 'tokenledger.token.expired.v9',
    };
    const error = buildFailure(input as unknown as BuildEventInput<EventType>);
    expect(error.code).toBe('unknown-type');
    expect(error.path).toBe('type');
  });
});
