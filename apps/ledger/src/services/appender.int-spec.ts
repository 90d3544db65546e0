import { randomBytes } from 'node:crypto';
import {
  EventVerifier,
  buildEvent,
  encodeEvent,
  signerEntry,
  signingKeyFromSeed,
  uuidv7,
} from '@tokenledger/contracts';
import { CHAIN_SEED, emptyRoot, signerFromSeed, verifierKey } from '@tokenledger/ledger-core';
import { migrateSchema } from '@tokenledger/sql';
import { APP_ROLES, freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../config';
import { migrations } from '../migrations';
import { grants } from '../migrations/grants';
import { CosignatureRepository } from '../repositories/cosignature.repository';
import { LedgerRepository } from '../repositories/ledger.repository';
import { AppenderService, type RawRecord } from './appender.service';
import type { SigningKeyService } from './signing-key.service';
import { VerifierService } from './verifier.service';

/** Migrated by the owner, reached as the ledger's login role: as the app runs. */
async function ledgerDb(db: TestDatabase): Promise<DataSource> {
  const loginRole = APP_ROLES.ledger;
  await migrateSchema({ ownerUrl: db.ownerUrl, schema: 'ledger', migrations, grants, loginRole });
  return new DataSource({
    type: 'postgres',
    url: db.appUrls.ledger,
    schema: 'ledger',
  }).initialize();
}

function records(n: number, start = 0): RawRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const tokenId = uuidv7();
    const event = buildEvent({
      type: 'tokenledger.token.expired.v1',
      source: '/tokenledger/test',
      actor: 'system',
      data: { tokenId, expiredAt: '2026-11-27T00:00:00.000Z' },
    });
    return {
      offset: start + i,
      timestamp: 1_800_000_000_000 + start + i,
      value: encodeEvent(event),
    };
  });
}

describe('appender (real PostgreSQL): exactly once, fenced, deterministic', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let appender: AppenderService;
  let repository: LedgerRepository;
  const config = {
    DB_SCHEMA: 'ledger',
    LEDGER_ORIGIN: 'tokenledger.local/ledger',
    LEDGER_TRUSTED_KEYS: [],
    LEDGER_WITNESSES: [],
    LEDGER_WITNESS_QUORUM: 0,
  } as unknown as LedgerConfig;
  const signer = signerFromSeed('tokenledger.local/ledger', Buffer.alloc(32, 1));
  const ownKey = { verifierKey: verifierKey(signer.name, signer.publicKey) } as SigningKeyService;

  beforeAll(async () => {
    db = await freshDatabase();
    ds = await ledgerDb(db);
    repository = new LedgerRepository(ds, config);
    appender = new AppenderService(repository);
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  it('a stale consumer re-delivering an old batch appends nothing; concurrent appenders never duplicate an offset', async () => {
    const all = records(40);
    await appender.append('t.topic', 0, all.slice(0, 10)); // consumer A
    await appender.append('t.topic', 0, all.slice(0, 25)); // B took over, re-read from 0
    const stale = await appender.append('t.topic', 0, all.slice(10, 15)); // A wakes up (zombie)
    expect(stale).toMatchObject({ appended: 0, size: 25, nextOffset: 25 });

    const results = await Promise.all([
      appender.append('t.topic', 0, all.slice(20, 40)),
      appender.append('t.topic', 0, all.slice(25, 40)),
    ]);
    expect(results.reduce((n, r) => n + r.appended, 0)).toBe(15);
    const rows = await ds.query<Array<{ kafka_offset: string }>>(
      "SELECT kafka_offset FROM ledger.leaves WHERE log_id = 't.topic-0' ORDER BY idx",
    );
    expect(rows.map((r) => Number(r.kafka_offset))).toEqual(all.map((r) => r.offset));
    expect(
      (
        await new VerifierService(
          repository,
          new CosignatureRepository(ds, config),
          ownKey,
          config,
        ).verify('t.topic-0')
      ).ok,
    ).toBe(true);
  });

  it('fencing: of two appenders racing from the same head, the one that moves it second updates nothing, and the log stays consistent', async () => {
    // The appender locks the head and the leaves' primary key refuses a second leaf at an index, so
    // no append through the service can reach a moved head: the fence has to be exercised on the
    // repository, the way a consumer that read its head before losing the partition would reach it.
    const all = records(30);
    await appender.append('f.topic', 0, all.slice(0, 10));
    // Both appenders start from the head at size 10 (the zombie reads it, then stalls).
    const stale = await ds.transaction((m) =>
      repository.lockHead(m, 'f.topic-0', 'f.topic', 0, emptyRoot(), CHAIN_SEED),
    );
    expect(stale).toMatchObject({ size: 10, nextOffset: 10 });
    // The new owner appends 10..29 from that same head.
    const owner = await appender.append('f.topic', 0, all.slice(10, 30));
    expect(owner).toMatchObject({ appended: 20, size: 30, nextOffset: 30 });
    // The zombie moves the head from what it read: refused, and its transaction is rolled back.
    const zombie = {
      size: 15,
      rootHash: Buffer.alloc(32, 1),
      chainHead: Buffer.alloc(32, 2),
      nextOffset: 15,
    };
    const moved = await ds.transaction((m) => repository.advanceHead(m, stale, zombie));
    expect(moved).toBe(false);
    const head = await repository.head('f.topic-0');
    expect(head).toMatchObject({ size: 30, nextOffset: 30 });
    expect(head?.rootHash.equals(owner.rootHash)).toBe(true);
    // Each half of the condition fences on its own: a head that matches on size only, or on offset only, moves nothing.
    expect(
      await ds.transaction((m) => repository.advanceHead(m, { ...stale, nextOffset: 30 }, zombie)),
    ).toBe(false);
    expect(
      await ds.transaction((m) => repository.advanceHead(m, { ...stale, size: 30 }, zombie)),
    ).toBe(false);
    expect(await repository.head('f.topic-0')).toMatchObject({ size: 30, nextOffset: 30 });
    const rows = await ds.query<Array<{ kafka_offset: string }>>(
      "SELECT kafka_offset FROM ledger.leaves WHERE log_id = 'f.topic-0' ORDER BY idx",
    );
    expect(rows.map((r) => Number(r.kafka_offset))).toEqual(all.map((r) => r.offset));
    expect(
      (
        await new VerifierService(
          repository,
          new CosignatureRepository(ds, config),
          ownKey,
          config,
        ).verify('f.topic-0')
      ).ok,
    ).toBe(true);
    // The appender still extends the log from the real head.
    const next = await appender.append('f.topic', 0, records(1, 30));
    expect(next).toMatchObject({ appended: 1, size: 31, nextOffset: 31 });
  });

  it('duplicates and conflicts: same id and bytes -> duplicate leaf; same id, other bytes -> rejected (conflict)', async () => {
    const [first] = records(1);
    if (!first?.value) throw new Error('no record');
    const event = JSON.parse(first.value.toString()) as Record<string, unknown>;
    const conflicting = encodeEvent({ ...event, time: '2026-11-27T00:00:01.000Z' } as never);
    const result = await appender.append('d.topic', 0, [
      first,
      { ...first, offset: 1 },
      { offset: 2, timestamp: first.timestamp, value: conflicting },
    ]);
    expect(result.rejected.map((r) => r.reason)).toEqual([expect.stringMatching(/^conflict/)]);
    const kinds = await ds.query<Array<{ kind: string }>>(
      "SELECT kind FROM ledger.leaves WHERE log_id = 'd.topic-0' ORDER BY idx",
    );
    expect(kinds.map((k) => k.kind)).toEqual(['event', 'duplicate', 'rejected']);
  });

  it('with EVENT_SIGNERS: unsigned, badly signed and not-allowed records are rejected leaves; the signer is in the event leaf', async () => {
    const key = signingKeyFromSeed('issuance-1', Buffer.alloc(32, 7));
    const sdk = signingKeyFromSeed('sdk-1', Buffer.alloc(32, 8));
    const signed = new AppenderService(repository, {
      verifier: new EventVerifier([
        signerEntry(key, ['token.expired'], ['/tokenledger/test']),
        signerEntry(sdk, ['token.used'], ['/services/*']),
      ]),
    });
    const event = (): Parameters<typeof encodeEvent>[0] =>
      buildEvent({
        type: 'tokenledger.token.expired.v1',
        source: '/tokenledger/test',
        actor: 'system',
        data: { tokenId: uuidv7(), expiredAt: '2026-11-27T00:00:00.000Z' },
      });
    const values = [
      encodeEvent(event(), { signingKey: key }),
      encodeEvent(event()),
      encodeEvent(event(), { signingKey: signingKeyFromSeed('issuance-1', randomBytes(32)) }),
      encodeEvent(event(), { signingKey: sdk }),
    ];
    const result = await signed.append(
      's.topic',
      0,
      values.map((value, offset) => ({ offset, timestamp: 1_800_000_000_000, value })),
    );
    expect(result.rejected.map((r) => [r.offset, r.reason])).toEqual([
      [1, 'unsigned: the event has no sig and sigkeyid'],
      [2, 'bad-signature: the signature does not verify with key issuance-1'],
      [3, 'signer-not-allowed: key sdk-1 may not sign token.expired from /tokenledger/test'],
    ]);
    const leaves = await ds.query<Array<{ kind: string; leaf: Buffer }>>(
      "SELECT kind, leaf FROM ledger.leaves WHERE log_id = 's.topic-0' ORDER BY idx",
    );
    expect(leaves.map((l) => l.kind)).toEqual(['event', 'rejected', 'rejected', 'rejected']);
    const first = JSON.parse(leaves[0]!.leaf.toString()) as { event: Record<string, unknown> };
    expect(first.event['sigkeyid']).toBe('issuance-1');
    expect(typeof first.event['sig']).toBe('string');
    const second = JSON.parse(leaves[1]!.leaf.toString()) as { reason: string };
    expect(second.reason).toMatch(/^unsigned: /);
  });

  it('one event id in two partitions is an event in each log (duplicates are per log), and neither append fails', async () => {
    const [record] = records(1, 0);
    const a = await appender.append('t.twice', 0, [record as RawRecord]);
    const b = await appender.append('t.twice', 1, [record as RawRecord]);
    expect([a.appended, b.appended, a.rejected.length + b.rejected.length]).toEqual([1, 1, 0]);
    const kinds = await ds.query<Array<{ log_id: string; kind: string }>>(
      "SELECT log_id, kind FROM ledger.leaves WHERE log_id LIKE 't.twice-%' ORDER BY log_id",
    );
    expect(kinds).toEqual([
      { log_id: 't.twice-0', kind: 'event' },
      { log_id: 't.twice-1', kind: 'event' },
    ]);
  });

  it('a log rebuilt from the same records into an empty database, in other batch sizes, has the same root', async () => {
    const all = [
      ...records(37),
      { offset: 37, timestamp: 1, value: randomBytes(20) },
      ...records(20, 38),
    ];
    const first = await appender.append('r.topic', 1, all);
    const other = await freshDatabase();
    const ds2 = await ledgerDb(other);
    try {
      const rebuilt = new AppenderService(new LedgerRepository(ds2, config));
      let last;
      for (let i = 0; i < all.length; i += 7)
        last = await rebuilt.append('r.topic', 1, all.slice(i, i + 7));
      expect(last?.size).toBe(first.size);
      expect(last?.rootHash.equals(first.rootHash)).toBe(true);
    } finally {
      await ds2.destroy();
      await other.drop();
    }
  });
});
