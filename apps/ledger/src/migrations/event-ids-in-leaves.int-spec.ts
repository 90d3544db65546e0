import { createHash } from 'node:crypto';
import { buildEvent, encodeEvent, uuidv7 } from '@tokenledger/contracts';
import {
  CHAIN_SEED,
  CompactRange,
  chainNext,
  inclusionProof,
  leafBytes,
  leafHash,
  parseLeaf,
  rootHash,
} from '@tokenledger/ledger-core';
import { freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../config';
import { LedgerRepository } from '../repositories/ledger.repository';
import { AppenderService, type RawRecord } from '../services/appender.service';
import { ProofService } from '../services/proof.service';
import { migrations } from '.';

const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

function record(offset: number, tokenId = uuidv7()): RawRecord {
  const event = buildEvent({
    type: 'tokenledger.token.expired.v1',
    source: '/tokenledger/test',
    actor: 'system',
    data: { tokenId, expiredAt: '2026-11-27T00:00:00.000Z' },
  });
  return { offset, timestamp: 1_800_000_000_000 + offset, value: encodeEvent(event) };
}

describe('migration 311 (the duplicate index moves into the leaf rows), real PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await freshDatabase();
    const boot = new DataSource({ type: 'postgres', url: db.url });
    await boot.initialize();
    await boot.query('CREATE SCHEMA ledger');
    await boot.destroy();
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  it('moves the event ids of a log written in the old layout; duplicates and conflicts still find them; down restores event_ids', async () => {
    const at = migrations.findIndex((m) => m.name === 'EventIdsInLeaves1795800000311');
    expect(at).toBeGreaterThan(0);
    ds = await new DataSource({
      type: 'postgres',
      url: db.url,
      schema: 'ledger',
      migrations: migrations.slice(0, at),
      migrationsRun: true,
    }).initialize();

    // A log of 9 event leaves (offsets 0, 2, 4, ...) as the old appender stored it: leaf rows with
    // their query columns and subtrees, and one event_ids row per event with its record's hash.
    const old = Array.from({ length: 9 }, (_, i) => record(2 * i));
    const tree = new CompactRange(0, []);
    const hashes: Buffer[] = [];
    let chain = CHAIN_SEED;
    for (const [i, r] of old.entries()) {
      const event = JSON.parse((r.value as Buffer).toString()) as {
        id: string;
        type: string;
        subject: string;
        actor: string;
        time: string;
      };
      const leaf = leafBytes(
        { topic: 't', partition: 0, offset: r.offset, timestamp: r.timestamp },
        { kind: 'event', event },
      );
      const hash = leafHash(leaf);
      hashes.push(hash);
      chain = chainNext(chain, hash);
      await ds.query(
        `INSERT INTO ledger.leaves (log_id, idx, kafka_offset, kind, leaf, leaf_hash, chain_hash, subtrees, event_id, event_type, subject, actor, event_time)
         VALUES ('t-0', $1, $2, 'event', $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          i,
          r.offset,
          leaf,
          hash,
          chain,
          Buffer.concat(tree.append(hash)),
          event.id,
          event.type,
          event.subject,
          event.actor,
          event.time,
        ],
      );
      await ds.query(
        `INSERT INTO ledger.event_ids (event_id, log_id, idx, payload_sha256) VALUES ($1, 't-0', $2, $3)`,
        [event.id, i, sha256(r.value as Buffer)],
      );
    }
    await ds.query(
      `INSERT INTO ledger.logs (log_id, topic, partition, size, root_hash, chain_head, next_offset) VALUES ('t-0', 't', 0, 9, $1, $2, 17)`,
      [tree.root(), chain],
    );
    await ds.destroy();

    ds = await new DataSource({
      type: 'postgres',
      url: db.url,
      schema: 'ledger',
      migrations: migrations.slice(0, at + 1),
      migrationsRun: true,
    }).initialize();
    const moved = await ds.query<Array<{ idx: string; payload_sha256: Buffer }>>(
      `SELECT idx, payload_sha256 FROM ledger.leaves WHERE log_id = 't-0' ORDER BY idx`,
    );
    expect(moved.map((r) => r.payload_sha256.toString('hex'))).toEqual(
      old.map((r) => sha256(r.value as Buffer).toString('hex')),
    );

    // Appending after the migration: a redelivered old record is a duplicate of its first index,
    // the same event id with other bytes a conflict, a new event an event leaf.
    const repository = new LedgerRepository(ds, { DB_SCHEMA: 'ledger' } as LedgerConfig);
    const appender = new AppenderService(repository);
    const third = JSON.parse((old[3]?.value as Buffer).toString()) as { data: object };
    const otherBytes = encodeEvent({
      ...third,
      data: { ...third.data, expiredAt: '2026-11-28T00:00:00.000Z' },
    } as never);
    const fresh = record(20);
    const result = await appender.append('t', 0, [
      { ...(old[2] as RawRecord), offset: 17, timestamp: 1_800_000_000_017 },
      { offset: 18, timestamp: 1_800_000_000_018, value: otherBytes },
      fresh,
    ]);
    expect(result).toMatchObject({ appended: 3, size: 12, nextOffset: 21 });
    expect(result.rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^conflict: event id .* was recorded at index 3 with other bytes$/),
    ]);
    const added = await repository.leaves('t-0', 9, 10);
    expect(added.map((l) => l.offset)).toEqual([17, 18, 20]);
    const parsed = added.map((l) => parseLeaf(l.leaf));
    expect(parsed.map((p) => (p.ok ? p.leaf.kind : p.error.code))).toEqual([
      'duplicate',
      'rejected',
      'event',
    ]);
    expect(parsed[0]?.ok && parsed[0].leaf).toMatchObject({ kind: 'duplicate', firstIndex: 2 });
    hashes.push(...added.map((l) => l.leafHash));
    expect(result.rootHash.equals(rootHash(hashes))).toBe(true);
    const proofs = new ProofService(repository);
    for (let index = 0; index < 12; index += 1)
      expect((await proofs.inclusion('t-0', index, 12)).hashes).toEqual(
        inclusionProof(index, 12, hashes),
      );
    // The new duplicate index holds: a second event row with a recorded id is refused.
    const [first] = await ds.query<Array<{ event_id: string }>>(
      `SELECT event_id FROM ledger.leaves WHERE log_id = 't-0' AND idx = 0`,
    );
    await expect(
      ds.query(
        `INSERT INTO ledger.leaves (log_id, idx, kafka_offset, kind, leaf, leaf_hash, chain_hash, subtrees, event_id, payload_sha256)
         VALUES ('t-0', 12, 21, 'event', '\\x00', $1, $1, '', $2, $1)`,
        [Buffer.alloc(32), first?.event_id],
      ),
    ).rejects.toThrow(/leaves_event_id/);
    await expect(
      ds.query(`UPDATE ledger.leaves SET payload_sha256 = NULL WHERE idx = 1`),
    ).rejects.toThrow(/permission denied|append-only/);

    // down: the event ids appended since the migration go back into event_ids.
    await ds.undoLastMigration();
    const ids = await ds.query<Array<{ idx: string; payload_sha256: Buffer }>>(
      `SELECT idx, payload_sha256 FROM ledger.event_ids WHERE log_id = 't-0' ORDER BY idx`,
    );
    expect(ids.map((r) => [Number(r.idx), r.payload_sha256.toString('hex')])).toEqual([
      ...old.map((r, i) => [i, sha256(r.value as Buffer).toString('hex')]),
      [11, sha256(fresh.value as Buffer).toString('hex')],
    ]);
    const [column] = await ds.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'ledger' AND table_name = 'leaves' AND column_name = 'payload_sha256'`,
    );
    expect(column?.n).toBe(0);
  });
});
