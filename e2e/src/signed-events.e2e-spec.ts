import { randomBytes } from 'node:crypto';
import {
  EventVerifier,
  TOPICS,
  buildEvent,
  decodeEvent,
  encodeEvent,
  signingKeyFromSeed,
  topicName,
  type EventSigningKey,
} from '@tokenledger/contracts';
import { logIdOf } from '@tokenledger/ledger-core';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  testKafka,
  type TestDatabase,
} from '@tokenledger/testing';
import { startSystem, type RunningSystem } from './system';

interface Entry {
  record: {
    kind: string;
    offset: number;
    event?: { id: string; type: string; subject: string; sigkeyid?: string };
    reason?: string;
  };
}

/**
 * Issue 15, signed events: a `token.revoke-requested` forged onto tokens.commands is not obeyed
 * unless its signer may send it. Unknown key, a signer not allowed the type, and no signature at
 * all: each is a `rejected` leaf with its reason and a dead letter, and the token stays active.
 */
describe('signed events: forged commands are recorded as rejected and not obeyed', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  const prefix = freshTopicPrefix();
  const commands = topicName(TOPICS.commands, prefix);
  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
  const admin = (): Record<string, string> => ({
    ...bearer(system.rootToken),
    'content-type': 'application/json',
  });

  async function issue(name: string): Promise<{ token: string; tokenId: string }> {
    const res = await fetch(`${system.apps.issuance.url}/v1/tokens`, {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify({
        owner: { type: 'service', id: 'billing' },
        name,
        scopes: ['invoices:read'],
        ttlSeconds: 3600,
      }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { token: string; tokenId: string };
  }

  async function active(token: string): Promise<boolean> {
    const res = await fetch(`${system.apps.revocation.url}/v1/introspect`, {
      method: 'POST',
      headers: { ...bearer(system.rootToken), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { active: boolean }).active;
  }

  /** A revoke request for `tokenId` as the anomaly service would send it, signed by `key`. */
  function revokeRequest(tokenId: string, key: EventSigningKey | undefined): Buffer {
    const event = buildEvent({
      type: 'tokenledger.token.revoke-requested.v1',
      source: '/tokenledger/anomaly',
      actor: 'service:anomaly',
      data: { tokenId, reason: 'requested', requester: 'service:anomaly' },
    });
    return encodeEvent(event, key ? { signingKey: key } : {});
  }

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem(
      { DATABASE_URL: db.url, KAFKA_BROKERS: kafkaBrokers(), TOPIC_PREFIX: prefix },
      { witness: false },
    );
    await eventually(
      async () =>
        (await fetch(`${system.apps.revocation.url}/v1/whoami`, { headers: admin() })).status ===
        200
          ? true
          : undefined,
      20_000,
      'root token known to revocation',
    );
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  }, 60_000);

  it('unknown key, signer not allowed, unsigned: rejected leaves and dead letters; the token stays active', async () => {
    const target = await issue('forgery target');
    const control = await issue('control');
    await eventually(
      async () =>
        (await active(target.token)) && (await active(control.token)) ? true : undefined,
      20_000,
      'both tokens active',
    );

    const stranger = signingKeyFromSeed('anomaly-e2e-1', randomBytes(32)); // a known id, wrong key
    const unknown = signingKeyFromSeed('mallory-1', randomBytes(32));
    const forged = [
      revokeRequest(target.tokenId, unknown),
      revokeRequest(target.tokenId, stranger),
      // The SDK key is valid, but allowed token.used only.
      revokeRequest(target.tokenId, system.signing.sdk),
      revokeRequest(target.tokenId, undefined),
    ];
    // The real anomaly key asks for the control token's revoke, after the forgeries and on the
    // same partition: once it is carried out, the revocation service has seen them all.
    const genuine = revokeRequest(control.tokenId, system.signing.apps.anomaly);
    const producer = testKafka('signed-events-e2e').producer();
    await producer.connect();
    const sent = await producer.send({
      topic: commands,
      acks: -1,
      messages: [...forged, genuine].map((value) => ({
        key: target.tokenId,
        value,
        partition: 0,
      })),
    });
    await producer.disconnect();
    const firstOffset = Number(sent[0]?.baseOffset);

    await eventually(
      async () => ((await active(control.token)) ? undefined : true),
      30_000,
      'the genuine revoke request carried out',
    );
    expect(await active(target.token)).toBe(true);

    // The ledger: four rejected leaves with their reasons, then the genuine event with its signer.
    const logId = logIdOf(commands, 0);
    const entries = await eventually(
      async () => {
        const res = await fetch(
          `${system.apps.ledger.url}/v1/ledger/logs/${logId}/entries?from=0&limit=1000`,
          { headers: bearer(system.rootToken) },
        );
        if (res.status !== 200) return undefined;
        const body = (await res.json()) as { entries: Entry[] };
        const ours = body.entries.filter((e) => e.record.offset >= firstOffset);
        return ours.length >= 5 ? ours : undefined;
      },
      30_000,
      'the five records in the ledger',
    );
    expect(entries.map((e) => [e.record.kind, e.record.reason?.split(':')[0]])).toEqual([
      ['rejected', 'bad-signature'],
      ['rejected', 'bad-signature'],
      ['rejected', 'signer-not-allowed'],
      ['rejected', 'unsigned'],
      ['event', undefined],
    ]);
    expect(entries[0]?.record.reason).toContain('mallory-1');
    expect(entries[2]?.record.reason).toContain('sdk-e2e-1');
    expect(entries[4]?.record.event).toMatchObject({
      type: 'tokenledger.token.revoke-requested.v1',
      subject: control.tokenId,
      sigkeyid: 'anomaly-e2e-1',
    });

    // Dead letters: the revocation service's commands consumer and the ledger each send the four.
    const dlq = await readTopic(
      topicName(TOPICS.dlq, prefix),
      (records) => records.filter((r) => r.headers['tl-source-topic'] === commands).length >= 8,
    );
    const codes = dlq
      .filter((r) => r.headers['tl-source-topic'] === commands)
      .map((r) => r.headers['tl-dlq-code'])
      .sort();
    expect(codes).toEqual([
      'bad-signature',
      'bad-signature',
      'bad-signature',
      'bad-signature',
      'signer-not-allowed',
      'signer-not-allowed',
      'unsigned',
      'unsigned',
    ]);

    // Still active later: nothing acts on the forgeries afterwards either.
    expect(await active(target.token)).toBe(true);
  });

  it('the apps sign what they produce: token.issued by the issuance key, token.revoked by revocation', async () => {
    const issued = await issue('signed by issuance');
    await eventually(
      async () => ((await active(issued.token)) ? true : undefined),
      20_000,
      'the token active',
    );
    const res = await fetch(`${system.apps.revocation.url}/v1/tokens/${issued.tokenId}/revoke`, {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify({ reason: 'requested' }),
    });
    expect(res.ok).toBe(true);
    const verifier = new EventVerifier(system.signing.signers);
    const records = await readTopic(
      topicName(TOPICS.lifecycle, prefix),
      (rs) => rs.filter((r) => r.value?.includes(issued.tokenId)).length >= 2,
    );
    const signers = records
      .filter((r) => r.value?.includes(issued.tokenId))
      .map((r) => {
        const decoded = decodeEvent(r.value ?? Buffer.alloc(0));
        if (!decoded.ok) throw decoded.error;
        const check = verifier.verify(decoded.value);
        return [decoded.event.type, check.ok ? check.keyId : check.code];
      });
    expect(signers[0]).toEqual(['tokenledger.token.issued.v1', 'issuance-e2e-1']);
    expect(signers[1]).toEqual(['tokenledger.token.revoked.v1', 'revocation-e2e-1']);
  });
});
