import { buildEvent, encodeEvent, uuidv7 } from '@tokenledger/contracts';
import {
  formatCheckpoint,
  signNote,
  signerFromSeed,
  trustPolicy,
  verifierKey,
  verifyBundle,
  type TrustPolicy,
} from '@tokenledger/ledger-core';
import { freshDatabase, migratedDataSource, type TestDatabase } from '@tokenledger/testing';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { LedgerConfig } from '../config';
import { migrations } from '../migrations';
import { LedgerRepository } from '../repositories/ledger.repository';
import { AppenderService, type RawRecord } from './appender.service';
import { BundleService } from './bundle.service';
import type { CheckpointerService } from './checkpointer.service';
import { ProofService } from './proof.service';
import type { WitnessingService } from './witnessing.service';

// The export and a token's evidence, read from a real PostgreSQL written by the real appender,
// checked by ledger-core's offline verifier (the same code as `tokenledger verify`).

const PREFIX = 'tokenledger.local/ledger';
const TOPIC = 'b.topic';
const TOKEN = uuidv7();
const signer = signerFromSeed(PREFIX, Buffer.alloc(32, 3));
const policy = ((): TrustPolicy => {
  const built = trustPolicy({
    originPrefix: PREFIX,
    logKeys: [verifierKey(signer.name, signer.publicKey)],
  });
  if (!built.ok) throw new Error(built.error.message);
  return built.policy;
})();

/** `n` token.expired events from offset `start`; those with `mine(i)` are about TOKEN. */
function records(n: number, start: number, mine: (i: number) => boolean): RawRecord[] {
  return Array.from({ length: n }, (_, k) => ({
    offset: start + k,
    timestamp: 1_800_000_000_000 + start + k,
    value: encodeEvent(
      buildEvent({
        type: 'tokenledger.token.expired.v1',
        source: '/tokenledger/test',
        actor: 'system',
        data: {
          tokenId: mine(start + k) ? TOKEN : uuidv7(),
          expiredAt: '2026-11-27T00:00:00.000Z',
        },
      }),
    ),
  }));
}

const collect = async (lines: AsyncIterable<string>): Promise<string[]> => {
  const out: string[] = [];
  for await (const l of lines) out.push(l);
  return out.join('').split('\n');
};

describe('BundleService (real PostgreSQL): range bundles and token evidence that verify offline', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let superuser: Client;
  let repository: LedgerRepository;
  let bundles: BundleService;
  const config = {
    DB_SCHEMA: 'ledger',
    LEDGER_ORIGIN: PREFIX,
    LEDGER_TRUSTED_KEYS: [],
    LEDGER_WITNESSES: [],
    LEDGER_WITNESS_QUORUM: 0,
  } as unknown as LedgerConfig;

  async function checkpoint(logId: string): Promise<number> {
    const head = await repository.head(logId);
    if (!head) throw new Error(`no log ${logId}`);
    const note = signNote(
      formatCheckpoint({ origin: `${PREFIX}/${logId}`, size: head.size, rootHash: head.rootHash }),
      signer,
    );
    await repository.transaction((m) =>
      repository.insertCheckpoint(m, {
        logId,
        size: head.size,
        rootHash: head.rootHash,
        note,
        keyName: signer.name,
      }),
    );
    return head.size;
  }

  beforeAll(async () => {
    db = await freshDatabase();
    ds = await migratedDataSource(db.url, 'ledger', migrations);
    superuser = new Client({ connectionString: db.url });
    await superuser.connect();
    repository = new LedgerRepository(ds, config);
    const appender = new AppenderService(repository);
    // Log 0: 2,500 leaves, every other one TOKEN's (two pages of evidence), checkpoint at 2,500,
    // then 10 more of TOKEN's after it. Log 1: 7 leaves, TOKEN's at 3, checkpoint. Log 2: none.
    await appender.append(
      TOPIC,
      0,
      records(2500, 0, (i) => i % 2 === 1),
    );
    await checkpoint(`${TOPIC}-0`);
    await appender.append(
      TOPIC,
      0,
      records(10, 2500, () => true),
    );
    await appender.append(
      TOPIC,
      1,
      records(7, 0, (i) => i === 3),
    );
    await checkpoint(`${TOPIC}-1`);
    await appender.append(
      TOPIC,
      2,
      records(4, 0, () => false),
    );
    await checkpoint(`${TOPIC}-2`);
    bundles = new BundleService(
      repository,
      new ProofService(repository),
      { origin: (logId: string) => `${PREFIX}/${logId}` } as CheckpointerService,
      // No witness configured: the served note is the stored one.
      {
        cosigned: (cp: { note: string }) => Promise.resolve({ note: cp.note }),
      } as unknown as WitnessingService,
    );
  }, 120_000);
  afterAll(async () => {
    await superuser.end();
    await ds.destroy();
    await db.drop();
  });

  it('exports the whole log and middle ranges (prefix and suffix compact ranges from storage) against the latest checkpoint', async () => {
    const whole = verifyBundle(await collect(await bundles.range(`${TOPIC}-0`, 0)), {
      trust: policy,
    });
    expect(whole).toMatchObject({
      ok: true,
      summary: { kind: 'range', version: 2, from: 0, to: 2500, treeSize: 2500, entries: 2500 },
    });
    for (const [from, to] of [
      [700, 1801],
      [1, 2],
      [2047, 2500],
      [1024, 2048],
    ] as const) {
      const lines = await collect(await bundles.range(`${TOPIC}-0`, from, to));
      expect(JSON.parse(lines[0] as string)).toMatchObject({
        version: 2,
        from,
        to,
        treeSize: 2500,
      });
      expect([from, to, verifyBundle(lines, { trust: policy })]).toEqual([
        from,
        to,
        expect.objectContaining({ ok: true }),
      ]);
    }
    // `to` beyond the checkpoint is cut at its size (the 10 later leaves are not signed yet).
    expect(
      verifyBundle(await collect(await bundles.range(`${TOPIC}-0`, 2400, 2510)), { trust: policy }),
    ).toMatchObject({
      ok: true,
      summary: { to: 2500 },
    });
    await expect(bundles.range(`${TOPIC}-0`, 2500)).rejects.toMatchObject({ code: 'bad_range' });
    await expect(bundles.range(`${TOPIC}-9`, 0)).rejects.toMatchObject({ code: 'log_not_found' });
  });

  it("a token's evidence: every event of it below each log's checkpoint, with proofs, in two logs; none for an unknown token", async () => {
    const lines = await collect(await bundles.tokenEvidence(TOKEN));
    expect(JSON.parse(lines[0] as string)).toEqual({
      type: 'evidence',
      version: 1,
      tokenId: TOKEN,
      logs: 2,
    });
    expect(verifyBundle(lines, { trust: policy })).toMatchObject({
      ok: true,
      summary: {
        kind: 'evidence',
        tokenId: TOKEN,
        entries: 1251,
        logs: [
          { logId: `${TOPIC}-0`, treeSize: 2500, entries: 1250 },
          { logId: `${TOPIC}-1`, treeSize: 7, entries: 1 },
        ],
      },
    });
    await expect(bundles.tokenEvidence(uuidv7())).rejects.toMatchObject({ code: 'no_evidence' });
  });

  it('a leaf changed in storage (as superuser, triggers off) fails both bundles, naming its index', async () => {
    const logId = `${TOPIC}-0`;
    const { rows } = await superuser.query<{ leaf: Buffer }>(
      'SELECT leaf FROM ledger.leaves WHERE log_id = $1 AND idx = 1001',
      [logId],
    );
    const forged = Buffer.from(
      (rows[0] as { leaf: Buffer }).leaf.toString().replace('"offset":1001', '"offset":1000'),
    );
    await superuser.query('BEGIN');
    await superuser.query('SET LOCAL session_replication_role = replica');
    await superuser.query('UPDATE ledger.leaves SET leaf = $2 WHERE log_id = $1 AND idx = 1001', [
      logId,
      forged,
    ]);
    await superuser.query('COMMIT');
    expect(
      verifyBundle(await collect(await bundles.range(logId, 900, 1100)), { trust: policy }),
    ).toMatchObject({
      ok: false,
      error: { code: 'chain-mismatch', index: 1001 },
    });
    expect(
      verifyBundle(await collect(await bundles.tokenEvidence(TOKEN)), { trust: policy }),
    ).toMatchObject({
      ok: false,
      error: { code: 'inclusion-failed', logId, index: 1001 },
    });
  });
});
