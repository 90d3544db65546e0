import { randomBytes } from 'node:crypto';
import { canonicalBytes } from '@tokenledger/canonical-json';
import { buildEncodedEvent, decodeEvent } from './codec';
import { EVENT_TYPES } from './events/registry';
import {
  appSignerEntries,
  EventSigningConfigError,
  EventVerifier,
  parseEventSigners,
  parseSigningKey,
  shortEventType,
  signEnvelope,
  signerEntry,
  signingInput,
  signingKeyFromSeed,
  type EventSignerEntry,
} from './signing';
import { SAMPLES, sampleId } from './test-support/samples';
import {
  VECTOR_SEED,
  naivePublicKey,
  naiveSign,
  naiveVerify,
} from './test-support/signing-reference';
import vectorFile from './test-support/signing-vectors.json';

// Provenance: signing-vectors.json was generated once by test-support/signing-reference.ts
// (sorted-key JSON and tweetnacl, not this module) from the fixed seed 0x00..0x1f, whose public
// key is the well-known 03a107bf...5531b8 (the same seed as ledger-core's signed-note vector).
const vectors = vectorFile.vectors as Array<{
  envelope: Record<string, unknown>;
  keyId: string;
  signingInput: string;
  sig: string;
  record: string;
}>;

const vectorKey = signingKeyFromSeed('vector-key-1', VECTOR_SEED);
const anomalyKey = signingKeyFromSeed('anomaly-1', Buffer.alloc(32, 1));
const sdkKey = signingKeyFromSeed('sdk-billing-1', Buffer.alloc(32, 2));
const SIGNERS: EventSignerEntry[] = [
  signerEntry(anomalyKey, ['anomaly.*', 'token.revoke-requested'], ['/tokenledger/anomaly']),
  signerEntry(sdkKey, ['token.used'], ['/sdk/*']),
];

function revokeRequested(source = '/tokenledger/anomaly', n = 1) {
  return buildEncodedEvent(
    {
      type: EVENT_TYPES.tokenRevokeRequested,
      ...SAMPLES[EVENT_TYPES.tokenRevokeRequested],
      source,
    },
    { now: () => 1_714_564_800_000 + n },
  ).event;
}

describe('event signing: vectors from the naive reference (fixed seed)', () => {
  it('derives the public key of the vector seed', () => {
    expect(vectorKey.publicKey.toString('hex')).toBe(
      '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8',
    );
    expect(vectorKey.publicKey.toString('base64url')).toBe(vectorFile.publicKey);
  });

  it.each(vectors.map((v) => [String(v.envelope['type']), v] as const))(
    '%s: same signing input, signature and record bytes',
    (_type, v) => {
      const signed = signEnvelope(v.envelope, vectorKey);
      expect(signingInput(signed).toString('utf8')).toBe(v.signingInput);
      expect(signed.sig).toBe(v.sig);
      expect(canonicalBytes(signed).toString('utf8')).toBe(v.record);
      const decoded = decodeEvent(v.record);
      expect(decoded.ok).toBe(true);
      const verifier = new EventVerifier([signerEntry(vectorKey, ['*'], ['*'])]);
      expect(verifier.verify(JSON.parse(v.record) as Record<string, unknown>)).toEqual({
        ok: true,
        keyId: 'vector-key-1',
      });
    },
  );
});

describe('event signing: against the naive reference on random events', () => {
  const seed = randomBytes(32);
  const key = signingKeyFromSeed('random-1', seed);
  const verifier = new EventVerifier([signerEntry(key, ['*'], ['*'])]);

  it('the reference verifies ours and we verify the reference, for 50 random events', () => {
    for (let n = 0; n < 50; n++) {
      const { event, bytes } = buildEncodedEvent(
        {
          type: EVENT_TYPES.tokenRevokeRequested,
          source: '/tokenledger/anomaly',
          actor: 'service:anomaly',
          data: {
            selector: {
              ownerId: `svc-${randomBytes(3).toString('hex')}`,
              ...(n % 2
                ? { label: { key: 'env', value: randomBytes(6).toString('base64url') } }
                : {}),
            },
            reason: 'bulk',
            requester: `operator:${sampleId(n)}`,
          },
        },
        { signingKey: key },
      );
      const record = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
      expect(naiveVerify(record, key.publicKey)).toBe(true);
      expect(record['sig']).toBe(event.sig);
      const { sig: _sig, sigkeyid: _id, ...unsigned } = record;
      const theirs = naiveSign(unsigned, 'random-1', seed);
      expect(theirs.record).toBe(bytes.toString('utf8'));
      expect(verifier.verify(JSON.parse(theirs.record) as Record<string, unknown>).ok).toBe(true);
    }
  });

  it('naive and module public keys agree', () => {
    expect(Buffer.from(naivePublicKey(seed)).equals(key.publicKey)).toBe(true);
  });
});

describe('EventVerifier', () => {
  const verifier = new EventVerifier(SIGNERS);

  it('accepts an allowed signer (glob over the short type)', () => {
    const event = signEnvelope(revokeRequested(), anomalyKey);
    expect(verifier.verify(event)).toEqual({ ok: true, keyId: 'anomaly-1' });
    expect(shortEventType(event.type)).toBe('token.revoke-requested');
  });

  it('unsigned: no sig or no sigkeyid', () => {
    const event = revokeRequested();
    expect(verifier.verify(event)).toMatchObject({ ok: false, code: 'unsigned' });
    const { sigkeyid: _k, ...noKeyId } = signEnvelope(event, anomalyKey);
    expect(verifier.verify(noKeyId)).toMatchObject({ ok: false, code: 'unsigned' });
  });

  it('bad-signature: a changed field, a key that is not configured, a forged key id', () => {
    const event = signEnvelope(revokeRequested(), anomalyKey);
    expect(verifier.verify({ ...event, actor: 'operator:x' })).toMatchObject({
      ok: false,
      code: 'bad-signature',
    });
    const unknown = signEnvelope(event, signingKeyFromSeed('anomaly-1', randomBytes(32)));
    expect(verifier.verify(unknown)).toMatchObject({ ok: false, code: 'bad-signature' });
    const stranger = signEnvelope(event, signingKeyFromSeed('stranger', randomBytes(32)));
    expect(verifier.verify(stranger)).toEqual({
      ok: false,
      code: 'bad-signature',
      message: 'key "stranger" is not a configured signer',
    });
    // sigkeyid is covered by the signature: relabelling a valid signature breaks it.
    expect(
      verifier.verify({ ...signEnvelope(event, sdkKey), sigkeyid: 'anomaly-1' }),
    ).toMatchObject({ ok: false, code: 'bad-signature' });
    expect(verifier.verify({ ...event, sig: 'A'.repeat(86) })).toMatchObject({
      code: 'bad-signature',
    });
  });

  it('signer-not-allowed: a type or a source outside the signer entry', () => {
    const bySdk = signEnvelope(revokeRequested('/sdk/billing'), sdkKey);
    expect(verifier.verify(bySdk)).toEqual({
      ok: false,
      code: 'signer-not-allowed',
      message: 'key sdk-billing-1 may not sign token.revoke-requested from /sdk/billing',
    });
    const wrongSource = signEnvelope(revokeRequested('/tokenledger/issuance'), anomalyKey);
    expect(verifier.verify(wrongSource)).toMatchObject({ code: 'signer-not-allowed' });
  });

  it('key rotation: two keys for one signer verify during the overlap; the retired one after', () => {
    const next = signingKeyFromSeed('anomaly-2', Buffer.alloc(32, 3));
    const rules = [['anomaly.*', 'token.revoke-requested'], ['/tokenledger/anomaly']] as const;
    const overlap = new EventVerifier([
      signerEntry(anomalyKey, [...rules[0]], [...rules[1]]),
      signerEntry(next, [...rules[0]], [...rules[1]]),
    ]);
    const old = signEnvelope(revokeRequested(), anomalyKey);
    const fresh = signEnvelope(revokeRequested(), next);
    expect(overlap.verify(old)).toEqual({ ok: true, keyId: 'anomaly-1' });
    expect(overlap.verify(fresh)).toEqual({ ok: true, keyId: 'anomaly-2' });
    const after = new EventVerifier([signerEntry(next, [...rules[0]], [...rules[1]])]);
    expect(after.verify(fresh).ok).toBe(true);
    expect(after.verify(old)).toMatchObject({ ok: false, code: 'bad-signature' });
  });
});

describe('signed encoding', () => {
  it('buildEncodedEvent with a key: the event and the bytes carry sig, decodeEvent accepts them', () => {
    const { event, bytes } = buildEncodedEvent(
      { type: EVENT_TYPES.tokenRevokeRequested, ...SAMPLES[EVENT_TYPES.tokenRevokeRequested] },
      { signingKey: anomalyKey },
    );
    expect(event.sigkeyid).toBe('anomaly-1');
    expect(bytes.equals(canonicalBytes(event))).toBe(true);
    const decoded = decodeEvent(bytes);
    if (!decoded.ok) throw decoded.error;
    expect(new EventVerifier(SIGNERS).verify(decoded.value)).toEqual({
      ok: true,
      keyId: 'anomaly-1',
    });
  });

  it('decodeEvent refuses a malformed sig or key id', () => {
    const event = signEnvelope(revokeRequested(), anomalyKey);
    expect(decodeEvent(JSON.stringify({ ...event, sig: 'x' }))).toMatchObject({ ok: false });
    expect(decodeEvent(JSON.stringify({ ...event, sigkeyid: 'a b' }))).toMatchObject({
      ok: false,
    });
  });
});

describe('configuration parsing', () => {
  it('EVENT_SIGNING_KEY round trip, and errors that never print the value', () => {
    const parsed = parseSigningKey(` ${anomalyKey.text}\n`);
    expect(parsed.keyId).toBe('anomaly-1');
    expect(parsed.publicKey.equals(anomalyKey.publicKey)).toBe(true);
    expect(JSON.stringify(parsed)).not.toContain(anomalyKey.text.split(':')[1]);
    const secret = `k:${Buffer.alloc(31, 9).toString('base64url')}`;
    expect(() => parseSigningKey(secret)).toThrow(EventSigningConfigError);
    try {
      parseSigningKey(secret);
    } catch (error) {
      expect(String(error)).not.toContain(secret.slice(2));
    }
  });

  it('EVENT_SIGNERS: a valid list parses; every problem is named', () => {
    expect(parseEventSigners(JSON.stringify(SIGNERS))).toEqual(SIGNERS);
    expect(() => parseEventSigners('{')).toThrow('must be a JSON list of signers');
    expect(() =>
      parseEventSigners(
        JSON.stringify([
          { ...SIGNERS[0], publicKey: 'abc' },
          { ...SIGNERS[1], types: [] },
          { ...SIGNERS[1], extra: 1 },
        ]),
      ),
    ).toThrow(
      '[0].publicKey must be a base64url 32-byte Ed25519 public key; [1].types must be a non-empty list of patterns; [2] has unknown fields extra; key id sdk-billing-1 appears twice',
    );
  });
});

describe('appSignerEntries', () => {
  it('gives each app its own types and source; the anomaly key may request revokes', () => {
    const entries = appSignerEntries({ anomaly: anomalyKey, issuance: sdkKey });
    const verifier = new EventVerifier(entries);
    expect(verifier.verify(signEnvelope(revokeRequested(), anomalyKey)).ok).toBe(true);
    // The issuance key may not ask for a revoke, whatever source it claims.
    expect(
      verifier.verify(signEnvelope(revokeRequested('/tokenledger/issuance'), sdkKey)),
    ).toMatchObject({ code: 'signer-not-allowed' });
    expect(entries.map((e) => e.sources)).toEqual([
      ['/tokenledger/anomaly'],
      ['/tokenledger/issuance'],
    ]);
  });
});
