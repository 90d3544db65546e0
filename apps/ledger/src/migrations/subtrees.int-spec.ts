import { randomBytes } from 'node:crypto';
import {
  CHAIN_SEED,
  chainNext,
  consistencyProof,
  inclusionProof,
  leafHash,
  rootHash,
} from '@tokenledger/ledger-core';
import { freshDatabase, type TestDatabase } from '@tokenledger/testing';
import { DataSource } from 'typeorm';
import type { LedgerConfig } from '../config';
import { completedBy } from '@tokenledger/ledger-core';
import { LedgerRepository } from '../repositories/ledger.repository';
import { ProofService } from '../services/proof.service';
import { migrations } from '.';

const hex = (hashes: Buffer[]): string[] => hashes.map((h) => h.toString('hex'));

describe('migration 302 (tree nodes move into the leaf rows), real PostgreSQL', () => {
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

  it('copies the nodes of a log written in the old layout; proofs are unchanged; down restores the nodes table', async () => {
    const at = migrations.findIndex((m) => m.name === 'Subtrees1795800000302');
    expect(at).toBeGreaterThan(0);
    const before = migrations.slice(0, at);
    const upTo302 = migrations.slice(0, at + 1);
    ds = await new DataSource({
      type: 'postgres',
      url: db.url,
      schema: 'ledger',
      migrations: before,
      migrationsRun: true,
    }).initialize();

    // A log of 13 leaves as the old appender stored it: leaves, and every perfect subtree in nodes.
    const size = 13;
    const leaves = Array.from({ length: size }, (_, i) =>
      Buffer.from(`{"leaf":${i},"r":"${randomBytes(4).toString('hex')}"}`),
    );
    const hashes = leaves.map((l) => leafHash(l));
    let chain = CHAIN_SEED;
    for (const [i, leaf] of leaves.entries()) {
      chain = chainNext(chain, hashes[i] as Buffer);
      await ds.query(
        `INSERT INTO ledger.leaves (log_id, idx, kafka_offset, kind, leaf, leaf_hash, chain_hash) VALUES ('t-0', $1, $1, 'rejected', $2, $3, $4)`,
        [i, leaf, hashes[i], chain],
      );
      await ds.query(
        `INSERT INTO ledger.nodes (log_id, level, idx, hash) VALUES ('t-0', 0, $1, $2)`,
        [i, hashes[i]],
      );
      for (const n of completedBy(i)) {
        const covered = hashes.slice(n.index * 2 ** n.level, (n.index + 1) * 2 ** n.level);
        await ds.query(
          `INSERT INTO ledger.nodes (log_id, level, idx, hash) VALUES ('t-0', $1, $2, $3)`,
          [n.level, n.index, rootHash(covered)],
        );
      }
    }
    await ds.query(
      `INSERT INTO ledger.logs (log_id, topic, partition, size, root_hash, chain_head, next_offset) VALUES ('t-0', 't', 0, $1, $2, $3, $1)`,
      [size, rootHash(hashes), chain],
    );
    const oldNodes = await ds.query<Array<{ level: number; idx: string; hash: Buffer }>>(
      'SELECT level, idx, hash FROM ledger.nodes ORDER BY level, idx',
    );
    expect(oldNodes).toHaveLength(2 * size - 3); // 13 leaves + 6 + 3 + 1 interior subtrees
    await ds.destroy();

    ds = await new DataSource({
      type: 'postgres',
      url: db.url,
      schema: 'ledger',
      migrations: upTo302,
      migrationsRun: true,
    }).initialize();
    const [table] = await ds.query<Array<{ n: string | null }>>(
      `SELECT to_regclass('ledger.nodes')::text AS n`,
    );
    expect(table?.n).toBeNull();
    const proofs = new ProofService(
      new LedgerRepository(ds, { DB_SCHEMA: 'ledger' } as LedgerConfig),
    );
    for (let treeSize = 1; treeSize <= size; treeSize += 1) {
      expect((await proofs.root('t-0', treeSize)).equals(rootHash(hashes.slice(0, treeSize)))).toBe(
        true,
      );
      for (let index = 0; index < treeSize; index += 1) {
        expect(hex((await proofs.inclusion('t-0', index, treeSize)).hashes)).toEqual(
          hex(inclusionProof(index, treeSize, hashes)),
        );
      }
      expect(hex((await proofs.consistency('t-0', treeSize, size)).hashes)).toEqual(
        hex(consistencyProof(treeSize, size, hashes)),
      );
    }
    await expect(
      ds.query(`UPDATE ledger.leaves SET subtrees = ''::bytea WHERE idx = 1`),
    ).rejects.toThrow('append-only');

    await ds.undoLastMigration();
    const restored = await ds.query<Array<{ level: number; idx: string; hash: Buffer }>>(
      'SELECT level, idx, hash FROM ledger.nodes ORDER BY level, idx',
    );
    expect(restored.map((r) => [r.level, r.idx, r.hash.toString('hex')])).toEqual(
      oldNodes.map((r) => [r.level, r.idx, r.hash.toString('hex')]),
    );
  });
});
