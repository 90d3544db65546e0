import {
  EventVerifier,
  FixedClock,
  decodeEvent,
  signerEntry,
  signingKeyFromSeed,
  type IdSource,
} from '@tokenledger/contracts';
import type { EntityManager } from 'typeorm';
import { EventOutbox } from './event-outbox';
import type { KafkaConnection, MessagingOptions } from './kafka-connection';

/** Records the outbox INSERT instead of running it (this tier has no database). */
function recordingManager(): { manager: EntityManager; inserted: unknown[][] } {
  const inserted: unknown[][] = [];
  const manager = {
    queryRunner: { isTransactionActive: true },
    query: (_sql: string, params: unknown[]) => {
      inserted.push(params);
      return Promise.resolve([]);
    },
  } as unknown as EntityManager;
  return { manager, inserted };
}

describe('EventOutbox', () => {
  it('stamps each event with the id source and the clock it was given', async () => {
    const clock = new FixedClock(Date.parse('2026-12-01T12:00:00.000Z'));
    const issued = ['0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c'];
    let next = 0;
    const ids: IdSource = { next: () => issued[next++] ?? 'exhausted' };
    const options: MessagingOptions = {
      service: 'issuance',
      brokers: '127.0.0.1:1',
      clientId: 'spec',
      schema: 'issuance',
      topicPrefix: '',
      partitions: 1,
      clock,
      ids,
    };
    const outbox = new EventOutbox(options, {} as KafkaConnection);
    const { manager, inserted } = recordingManager();

    const events = await outbox.append(
      manager,
      [
        {
          type: 'tokenledger.ops.replay-finished.v1',
          data: {
            replayId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d',
            outcome: 'completed',
            recordsReplayed: 0,
            finishedAt: '2026-12-01T12:00:00.000Z',
          },
        },
      ],
      { actor: 'system' },
    );
    clock.advance(5);
    await outbox.append(manager, [], { actor: 'system' });

    expect(events.map((e) => [e.id, e.time])).toEqual([[issued[0], '2026-12-01T12:00:00.000Z']]);
    // What goes into the outbox is that same envelope, encoded.
    const payload = inserted[0]?.[3] as Buffer;
    const decoded = decodeEvent(payload);
    expect(decoded.ok && [decoded.event.id, decoded.event.time]).toEqual([
      issued[0],
      '2026-12-01T12:00:00.000Z',
    ]);
    expect(inserted).toHaveLength(1);
  });

  it('signs each outbox row with the app key (signingKey): the stored bytes verify as its signer', async () => {
    const key = signingKeyFromSeed('ledger-1', Buffer.alloc(32, 4));
    const outbox = new EventOutbox(
      {
        service: 'ledger',
        brokers: '127.0.0.1:1',
        clientId: 'spec',
        schema: 'ledger',
        topicPrefix: '',
        partitions: 1,
        signingKey: key,
      },
      {} as KafkaConnection,
    );
    const { manager, inserted } = recordingManager();
    const [event] = await outbox.append(
      manager,
      [
        {
          type: 'tokenledger.ops.replay-finished.v1',
          data: {
            replayId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d',
            outcome: 'completed',
            recordsReplayed: 0,
            finishedAt: '2026-12-01T12:00:00.000Z',
          },
        },
      ],
      { actor: 'system' },
    );
    expect(event?.sigkeyid).toBe('ledger-1');
    const decoded = decodeEvent(inserted[0]?.[3] as Buffer);
    if (!decoded.ok) throw decoded.error;
    const verifier = new EventVerifier([signerEntry(key, ['ops.*'], ['/tokenledger/ledger'])]);
    expect(verifier.verify(decoded.value as unknown as Record<string, unknown>)).toEqual({
      ok: true,
      keyId: 'ledger-1',
    });
  });
});
