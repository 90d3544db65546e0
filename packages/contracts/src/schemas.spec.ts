import { z } from 'zod';
import { parseActor, operatorActor, serviceActor } from './actor';
import { isRfc3339Utc } from './events/common';
import {
  ALL_EVENT_TYPES,
  EVENT_DATA_SCHEMAS,
  EVENT_TOPIC,
  EVENT_TYPES,
  type EventType,
} from './events/registry';
import { AUDITED_TOPICS } from './topics';
import { NEW_TOKEN, OPERATOR, SAMPLES, TOKEN } from './test-support/samples';

/** Paths of the issues when `data` (the sample's data with `patch` applied) is checked. */
function issuePaths(
  type: EventType,
  patch: Record<string, unknown>,
  remove: string[] = [],
): string[] {
  const data: Record<string, unknown> = { ...SAMPLES[type].data, ...patch };
  for (const key of remove) delete data[key];
  const schema: z.ZodType = EVENT_DATA_SCHEMAS[type];
  const result = schema.safeParse(data);
  return result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
}

/** Every property name reachable in a schema (objects, optionals, arrays, records). */
function fieldNames(schema: z.core.$ZodType, into: string[] = []): string[] {
  if (schema instanceof z.ZodObject) {
    const shape: Record<string, z.core.$ZodType> = schema.shape;
    for (const [key, child] of Object.entries(shape)) {
      into.push(key);
      fieldNames(child, into);
    }
  } else if (schema instanceof z.ZodOptional) {
    fieldNames(schema.unwrap(), into);
  } else if (schema instanceof z.ZodArray) {
    fieldNames(schema.element, into);
  } else if (schema instanceof z.ZodRecord) {
    fieldNames(schema.valueType, into);
  }
  return into;
}

describe('event registry', () => {
  it('names every type tokenledger.<name>.v1 and maps it to its topic', () => {
    expect(ALL_EVENT_TYPES).toHaveLength(18);
    for (const type of ALL_EVENT_TYPES) {
      expect(type).toMatch(/^tokenledger\.(token|anomaly|ops)\.[a-z-]+\.v1$/);
      expect(AUDITED_TOPICS).toContain(EVENT_TOPIC[type]);
    }
    expect(EVENT_TOPIC[EVENT_TYPES.tokenUsed]).toBe('tokens.usage');
    expect(EVENT_TOPIC[EVENT_TYPES.tokenRevokeRequested]).toBe('tokens.commands');
    expect(EVENT_TOPIC[EVENT_TYPES.anomalyDetected]).toBe('anomalies');
    expect(EVENT_TOPIC[EVENT_TYPES.opsKeyRotated]).toBe('ops.audit');
    expect(EVENT_TOPIC[EVENT_TYPES.tokenLeakReported]).toBe('tokens.lifecycle');
  });

  it('has no field that could hold a token secret, its hash, or private key material', () => {
    const forbidden = /^token$|secret|plaintext|hash|private|pepper|password/i;
    for (const type of ALL_EVENT_TYPES) {
      const names = fieldNames(EVENT_DATA_SCHEMAS[type]);
      expect(names.length).toBeGreaterThan(0);
      expect({ type, offending: names.filter((name) => forbidden.test(name)) }).toEqual({
        type,
        offending: [],
      });
    }
  });

  it.each(ALL_EVENT_TYPES)('%s rejects unknown fields', (type) => {
    expect(issuePaths(type, { tokenPlaintext: 'tlk_live_x' })).toEqual(['']);
  });
});

describe('cross-field rules', () => {
  it('token.issued: expiresAt after issuedAt, rotatedFrom not itself', () => {
    expect(issuePaths(EVENT_TYPES.tokenIssued, { expiresAt: '2024-05-01T12:00:00Z' })).toEqual([
      'expiresAt',
    ]);
    expect(issuePaths(EVENT_TYPES.tokenIssued, { rotatedFrom: TOKEN })).toEqual(['rotatedFrom']);
    expect(issuePaths(EVENT_TYPES.tokenIssued, { rotatedFrom: NEW_TOKEN })).toEqual([]);
    // Owner-scoped operator scopes (token-core) can be recorded; spaces still cannot.
    expect(issuePaths(EVENT_TYPES.tokenIssued, { scopes: ['tokens:read@team-a'] })).toEqual([]);
    expect(issuePaths(EVENT_TYPES.tokenIssued, { scopes: ['tokens:read@team a'] })).toEqual([
      'scopes.0',
    ]);
    expect(issuePaths(EVENT_TYPES.tokenIssued, { scopes: [] })).toEqual(['scopes']);
    expect(issuePaths(EVENT_TYPES.tokenIssued, { prefix: 'tlk_live_' + 'A'.repeat(38) })).toEqual([
      'prefix',
    ]);
  });

  it('token.issued: optional limits with the limits-changed schemas; events without them stay valid', () => {
    // The sample has no limits: an event written before limits could be set at issue time.
    expect(issuePaths(EVENT_TYPES.tokenIssued, {})).toEqual([]);
    expect(
      issuePaths(EVENT_TYPES.tokenIssued, {
        rateLimit: { limit: 10, windowSeconds: 60 },
        credits: { remaining: 3, refill: { amount: 3, intervalSeconds: 3600 } },
      }),
    ).toEqual([]);
    expect(
      issuePaths(EVENT_TYPES.tokenIssued, { rateLimit: { limit: 0, windowSeconds: 60 } }),
    ).toEqual(['rateLimit.limit']);
    expect(issuePaths(EVENT_TYPES.tokenIssued, { credits: { remaining: -1 } })).toEqual([
      'credits.remaining',
    ]);
    // null is a limits-changed removal, not a setting a new token can carry.
    expect(issuePaths(EVENT_TYPES.tokenIssued, { credits: null })).toEqual(['credits']);
  });

  it('token.rotated: the new token differs from the old one', () => {
    expect(issuePaths(EVENT_TYPES.tokenRotated, { newTokenId: TOKEN })).toEqual(['newTokenId']);
    expect(issuePaths(EVENT_TYPES.tokenRotated, { graceSeconds: -1 })).toEqual(['graceSeconds']);
  });

  it('token.used: rejection iff rejected; tokenId only missing for unknown tokens', () => {
    expect(issuePaths(EVENT_TYPES.tokenUsed, { outcome: 'accepted' })).toEqual(['rejection']);
    expect(issuePaths(EVENT_TYPES.tokenUsed, {}, ['rejection'])).toEqual(['rejection']);
    expect(issuePaths(EVENT_TYPES.tokenUsed, { outcome: 'accepted' }, ['rejection'])).toEqual([]);
    expect(issuePaths(EVENT_TYPES.tokenUsed, {}, ['tokenId'])).toEqual(['tokenId']);
    expect(issuePaths(EVENT_TYPES.tokenUsed, { rejection: 'unknown' }, ['tokenId'])).toEqual([]);
    expect(issuePaths(EVENT_TYPES.tokenUsed, { ip: '300.1.1.1' })).toEqual(['ip']);
    expect(issuePaths(EVENT_TYPES.tokenUsed, { ip: '192.0.2.10', country: 'fr' })).toEqual([
      'country',
    ]);
  });

  it('token.revoke-requested: exactly one of tokenId and selector; anomaly needs anomalyId', () => {
    const type = EVENT_TYPES.tokenRevokeRequested;
    expect(issuePaths(type, { selector: { ownerId: 'billing' } })).toEqual(['tokenId']);
    expect(issuePaths(type, {}, ['tokenId'])).toEqual(['tokenId']);
    expect(
      issuePaths(type, { selector: { label: { key: 'env', value: 'prod' } } }, ['tokenId']),
    ).toEqual([]);
    expect(issuePaths(type, { selector: {} }, ['tokenId'])).toEqual(['selector']);
    // The reported poison record: jsonb refuses U+0000, so the schema does (a dead letter).
    expect(
      issuePaths(type, { selector: { label: { key: 'env', value: 'pr\u0000od' } } }, ['tokenId']),
    ).toEqual(['selector.label.value']);
    expect(issuePaths(type, {}, ['anomalyId'])).toEqual(['anomalyId']);
    expect(
      issuePaths(type, { reason: 'requested', requester: `operator:${OPERATOR}` }, ['anomalyId']),
    ).toEqual([]);
    expect(issuePaths(type, { requester: 'alice' })).toEqual(['requester']);
  });

  it('token.revoked: an optional one-line comment of at most 500 characters', () => {
    const type = EVENT_TYPES.tokenRevoked;
    expect(issuePaths(type, { comment: 'key found in a public gist' })).toEqual([]);
    expect(issuePaths(type, { comment: 'x'.repeat(500) })).toEqual([]);
    expect(issuePaths(type, { comment: 'x'.repeat(501) })).toEqual(['comment']);
    expect(issuePaths(type, { comment: '' })).toEqual(['comment']);
    for (const control of ['\n', '\t', '\u0000', '\u001b[31m', '\u007f', '\u0085', '\u202e'])
      expect(issuePaths(type, { comment: `leaked${control}` })).toEqual(['comment']);
    // Letters of any script are text, not control characters.
    expect(issuePaths(type, { comment: 'fuite signalée: clé publiée, 漏洩' })).toEqual([]);
  });

  it('token.leak-reported: a resolved outcome needs the tokenId', () => {
    expect(issuePaths(EVENT_TYPES.tokenLeakReported, {}, ['tokenId'])).toEqual(['tokenId']);
    expect(issuePaths(EVENT_TYPES.tokenLeakReported, { outcome: 'unknown' }, ['tokenId'])).toEqual(
      [],
    );
    expect(issuePaths(EVENT_TYPES.tokenLeakReported, { url: 'javascript:alert(1)' })).toEqual([
      'url',
    ]);
  });

  it('anomaly.detected: at least one evidence event id', () => {
    expect(issuePaths(EVENT_TYPES.anomalyDetected, { evidence: [] })).toEqual(['evidence']);
    expect(issuePaths(EVENT_TYPES.anomalyDetected, { evidence: ['not-an-id'] })).toEqual([
      'evidence.0',
    ]);
    expect(issuePaths(EVENT_TYPES.anomalyDetected, { severity: 'urgent' })).toEqual(['severity']);
  });

  it('ops events: offsets as decimal strings, error only on failure', () => {
    expect(issuePaths(EVENT_TYPES.opsReplayStarted, { fromOffset: 12 })).toEqual(['fromOffset']);
    expect(issuePaths(EVENT_TYPES.opsReplayFinished, { error: 'boom' })).toEqual(['error']);
    expect(issuePaths(EVENT_TYPES.opsReplayFinished, { error: 'boom', outcome: 'failed' })).toEqual(
      [],
    );
    expect(issuePaths(EVENT_TYPES.opsKeyRotated, { verifierKey: 'not a key' })).toEqual([
      'verifierKey',
    ]);
    expect(
      issuePaths(EVENT_TYPES.opsSigningHalted, { severity: 'warning', reason: 'other' }),
    ).toEqual(['severity', 'reason']);
    expect(issuePaths(EVENT_TYPES.opsSigningHalted, { logId: 'a b' })).toEqual(['logId']);
    expect(
      issuePaths(EVENT_TYPES.opsBreakGlass, { rootTokenFrom: 'api', reason: 'because' }),
    ).toEqual(['rootTokenFrom', 'reason']);
    // A webhook event names the origin only: a path or query could hold a credential.
    expect(
      issuePaths(EVENT_TYPES.opsWebhookChanged, { urlOrigin: 'https://h.example/hook?key=s' }),
    ).toEqual(['urlOrigin']);
  });

  it('controls: limits within bounds, null removes one', () => {
    expect(issuePaths(EVENT_TYPES.tokenLimitsChanged, { rateLimit: null, credits: null })).toEqual(
      [],
    );
    expect(
      issuePaths(EVENT_TYPES.tokenLimitsChanged, {
        rateLimit: { limit: 0, windowSeconds: 60 },
        credits: { remaining: -1 },
      }),
    ).toEqual(['rateLimit.limit', 'credits.remaining']);
    expect(issuePaths(EVENT_TYPES.tokenRotationDue, { maxAgeDays: 0 })).toEqual(['maxAgeDays']);
  });
});

describe('field formats', () => {
  it.each([
    ['2024-05-01T12:00:00Z', true],
    ['2024-05-01T12:00:00.123456789Z', true],
    ['2024-02-29T23:59:59Z', true],
    ['2023-02-29T00:00:00Z', false],
    ['2000-02-29T00:00:00Z', true],
    ['1900-02-29T00:00:00Z', false],
    ['2024-04-31T00:00:00Z', false],
    ['2024-13-01T00:00:00Z', false],
    ['2024-00-10T00:00:00Z', false],
    ['2024-05-00T00:00:00Z', false],
    ['2024-05-01T24:00:00Z', false],
    ['2024-05-01T12:00:60Z', false],
    ['2024-05-01t12:00:00z', false],
    ['2024-05-01T12:00:00+00:00', false],
    ['2024-05-01T12:00Z', false],
  ])('isRfc3339Utc(%j) is %s', (value, expected) => {
    expect(isRfc3339Utc(value)).toBe(expected);
  });

  it('builds and parses actors', () => {
    expect(operatorActor(OPERATOR)).toBe(`operator:${OPERATOR}`);
    expect(serviceActor('anomaly')).toBe('service:anomaly');
    expect(() => serviceActor('bad name')).toThrow(RangeError);
    expect(() => operatorActor('alice')).toThrow(RangeError);
    expect(parseActor(`operator:${OPERATOR}`)).toEqual({ kind: 'operator', tokenId: OPERATOR });
    expect(parseActor('service:billing-api')).toEqual({ kind: 'service', name: 'billing-api' });
    expect(parseActor('system')).toEqual({ kind: 'system' });
    expect(parseActor('root')).toBeUndefined();
  });
});
