import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildEvent, encodeEvent, uuidv7 } from '@tokenledger/contracts';
import {
  chainHashes,
  cosignerFromSeed,
  formatCheckpoint,
  leafHash,
  parseCosignerVerifierKey,
  parseVerifierKey,
  rootHash,
  signNote,
  signerFromSeed,
  verifierKey,
  type NoteSigner,
} from '@tokenledger/ledger-core';
import { freshDatabase, migratedDataSource, type TestDatabase } from '@tokenledger/testing';
import { addCheckpoint } from '@tokenledger/witness';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { LedgerConfig, WitnessEndpoint } from '../config';
import { migrations } from '../migrations';
import { CosignatureRepository } from '../repositories/cosignature.repository';
import { LedgerRepository } from '../repositories/ledger.repository';
import { AppenderService, type RawRecord } from './appender.service';
import { ProofService } from './proof.service';
import type { SigningKeyService } from './signing-key.service';
import { VerifierService } from './verifier.service';

// /v1/ledger/verify's service against a real PostgreSQL (tampered with as superuser) and a real
// witness process (packages/witness dist/main.js) that cosigned the log's checkpoints before the
// tampering: what the database no longer shows, the witness still does.

const ORIGIN_PREFIX = 'tokenledger.local/ledger';
const TOPIC = 'v.topic';
const logs = {
  truncated: `${TOPIC}-0`,
  rewritten: `${TOPIC}-1`,
  resigned: `${TOPIC}-2`,
  paged: `${TOPIC}-3`,
  retired: `${TOPIC}-4`,
};
const signer = signerFromSeed(ORIGIN_PREFIX, Buffer.alloc(32, 1));
const ledgerKey = verifierKey(signer.name, signer.publicKey);

interface Witness {
  url: string;
  verifierKey: string;
  child: ChildProcess;
}

/** The real witness, configured with the ledger's origins and key, on a free port. */
async function startWitness(stateDir: string): Promise<Witness> {
  const main = join(
    dirname(require.resolve('@tokenledger/witness/package.json')),
    'dist',
    'main.js',
  );
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH ?? '',
      WITNESS_PORT: '0',
      WITNESS_NAME: 'witness.test/verifier',
      WITNESS_STATE_DIR: stateDir,
      WITNESS_LOGS: JSON.stringify(
        Object.values(logs).map((id) => ({ origin: `${ORIGIN_PREFIX}/${id}`, keys: [ledgerKey] })),
      ),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`witness exited (${code}) before listening`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const json = JSON.parse(line) as Record<string, unknown>;
      if (json.msg === 'witness listening') resolve(json);
    });
  });
  return {
    url: `http://127.0.0.1:${String(ready.port)}/`,
    verifierKey: String(ready.verifierKey),
    child,
  };
}

function records(n: number, start = 0): RawRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    offset: start + i,
    timestamp: 1_800_000_000_000 + start + i,
    value: encodeEvent(
      buildEvent({
        type: 'tokenledger.token.expired.v1',
        source: '/tokenledger/test',
        actor: 'system',
        data: { tokenId: uuidv7(), expiredAt: '2026-11-27T00:00:00.000Z' },
      }),
    ),
  }));
}

function parseVerifierKeyOrThrow(vkey: string) {
  const parsed = parseVerifierKey(vkey);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.verifier;
}

describe('VerifierService (real PostgreSQL, real witness): trust from configuration, truncation and rewrites caught', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let superuser: Client;
  let repository: LedgerRepository;
  let appender: AppenderService;
  let proofs: ProofService;
  let witness: Witness;
  let stateDir: string;
  const witnessed = new Map<string, number>();

  const config = (witnesses: WitnessEndpoint[], quorum = witnesses.length) =>
    ({
      DB_SCHEMA: 'ledger',
      LEDGER_ORIGIN: ORIGIN_PREFIX,
      LEDGER_TRUSTED_KEYS: [],
      LEDGER_WITNESSES: witnesses,
      LEDGER_WITNESS_QUORUM: quorum,
    }) as unknown as LedgerConfig;
  const endpoint = (w: { verifierKey: string; url: string }): WitnessEndpoint => {
    const parsed = parseCosignerVerifierKey(w.verifierKey);
    if (!parsed.ok) throw new Error(parsed.error.message);
    return { verifierKey: w.verifierKey, verifier: parsed.verifier, url: w.url };
  };
  const own = { verifierKey: ledgerKey } as SigningKeyService;
  const verifier = (witnesses: WitnessEndpoint[] = [endpoint(witness)]) =>
    new VerifierService(
      repository,
      new CosignatureRepository(ds, config([])),
      own,
      config(witnesses),
    );

  /** Signs the head as the ledger does, stores it, and (optionally) has the witness cosign it. */
  async function checkpoint(logId: string, options: { witness?: boolean; by?: NoteSigner } = {}) {
    const head = await repository.head(logId);
    if (!head) throw new Error(`no log ${logId}`);
    const note = signNote(
      formatCheckpoint({
        origin: `${ORIGIN_PREFIX}/${logId}`,
        size: head.size,
        rootHash: head.rootHash,
      }),
      options.by ?? signer,
    );
    await repository.transaction((m) =>
      repository.insertCheckpoint(m, {
        logId,
        size: head.size,
        rootHash: head.rootHash,
        note,
        keyName: (options.by ?? signer).name,
      }),
    );
    if (options.witness === false) return;
    const old = witnessed.get(logId) ?? 0;
    const proof = await proofs.consistency(logId, old, head.size);
    const outcome = await addCheckpoint({
      url: witness.url,
      oldSize: old,
      proof: proof.hashes,
      note,
      verifiers: [endpoint(witness).verifier],
    });
    expect(outcome.kind).toBe('cosigned');
    witnessed.set(logId, head.size);
    return outcome.kind === 'cosigned' ? { head, outcome } : undefined;
  }

  /** As superuser, triggers off: rows of `table` matching `where` are deleted. */
  const deleteAsSuperuser = async (table: string, where: string, params: unknown[]) => {
    await superuser.query('BEGIN');
    await superuser.query('SET LOCAL session_replication_role = replica');
    await superuser.query(`DELETE FROM ledger.${table} WHERE ${where}`, params);
    await superuser.query('COMMIT');
  };

  /** The stored leaves of a log, in order. */
  const storedLeaves = async (logId: string) =>
    (
      await superuser.query<{ idx: string; leaf: Buffer }>(
        'SELECT idx, leaf FROM ledger.leaves WHERE log_id = $1 ORDER BY idx',
        [logId],
      )
    ).rows.map((r) => r.leaf);

  /**
   * Moves the head back to (or onto) the given leaves, as a superuser covering their tracks: with
   * triggers off, since the owner's head guard (migration 310) refuses a shrinking head.
   */
  const setHead = async (logId: string, leaves: Buffer[]) => {
    const hashes = leaves.map(leafHash);
    const chain = chainHashes(hashes);
    await superuser.query('BEGIN');
    await superuser.query('SET LOCAL session_replication_role = replica');
    await superuser.query(
      'UPDATE ledger.logs SET size = $2, root_hash = $3, chain_head = $4, next_offset = $2 WHERE log_id = $1',
      [logId, leaves.length, rootHash(hashes), chain[chain.length - 1]],
    );
    await superuser.query('COMMIT');
  };

  beforeAll(async () => {
    db = await freshDatabase();
    ds = await migratedDataSource(db.url, 'ledger', migrations);
    superuser = new Client({ connectionString: db.url });
    await superuser.connect();
    repository = new LedgerRepository(ds, config([]));
    appender = new AppenderService(repository);
    proofs = new ProofService(repository);
    stateDir = mkdtempSync(join(tmpdir(), 'verifier-witness-'));
    witness = await startWitness(stateDir);
    // Each log: 12 leaves, checkpoint (witnessed), 8 more, checkpoint (witnessed) at 20. For the
    // `retired` log the cosignatures are also stored, as the ledger's witnessing does.
    const store = async (signed: Awaited<ReturnType<typeof checkpoint>>) => {
      if (!signed) throw new Error('not cosigned');
      const { head, outcome } = signed;
      await new CosignatureRepository(ds, config([])).insert(
        outcome.cosignatures.map((c) => ({
          logId: head.logId,
          size: head.size,
          rootHash: head.rootHash,
          witnessKey: witness.verifierKey,
          witnessName: c.name,
          cosignedAt: c.timestamp,
          line: outcome.lines,
        })),
      );
    };
    for (const [partition, logId] of Object.values(logs).entries()) {
      const all = records(20);
      await appender.append(TOPIC, partition, all.slice(0, 12));
      const first = await checkpoint(logId);
      await appender.append(TOPIC, partition, all.slice(12));
      const second = await checkpoint(logId);
      if (logId === logs.retired) for (const signed of [first, second]) await store(signed);
    }
  });

  afterAll(async () => {
    witness?.child.kill('SIGKILL');
    await superuser?.end();
    await ds?.destroy();
    await db?.drop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('an untouched log verifies against its stored checkpoints and the witness', async () => {
    const answer = await verifier().verifyOne(logs.truncated);
    expect(answer).toEqual({
      ok: true,
      unreachableWitnesses: [],
      logs: [
        {
          logId: logs.truncated,
          ok: true,
          size: 20,
          checkpointsChecked: 2,
          witnessedSize: 20,
          witnesses: [{ witness: 'witness.test/verifier', status: 'ok', size: 20 }],
        },
      ],
    });
  });

  it('truncation (tail deleted, head rolled back, later checkpoints deleted, smaller size re-signed) is caught against the witness, at the first missing index', async () => {
    const logId = logs.truncated;
    const kept = (await storedLeaves(logId)).slice(0, 15);
    await deleteAsSuperuser('leaves', 'log_id = $1 AND idx >= 15', [logId]);
    await deleteAsSuperuser('checkpoints', 'log_id = $1 AND size > 12', [logId]);
    await setHead(logId, kept);
    await checkpoint(logId, { witness: false }); // the ledger's real key signs the smaller tree
    // The database alone is consistent again: without a witness the tampering is invisible.
    expect(await verifier([]).verify(logId)).toMatchObject({ ok: true, size: 15 });
    // With the witness's checkpoint at 20, it is not.
    const answer = await verifier().verifyOne(logId);
    expect(answer.ok).toBe(false);
    expect(answer.logs[0]).toMatchObject({
      logId,
      ok: false,
      size: 15,
      witnessedSize: 20,
      error: {
        code: 'truncated',
        index: 15,
        message: expect.stringContaining(
          'witness witness.test/verifier cosigned a checkpoint at size 20',
        ),
      },
    });
  });

  it('pages leaves and checkpoints: tiny pages give the same answer, every checkpoint checked', async () => {
    const logId = logs.paged;
    const small = verifier();
    small.pageSizes = { leaves: 3, checkpoints: 2 };
    // Seven more checkpoints, one per leaf: 9 in all, read two at a time.
    for (let i = 20; i < 27; i++) {
      await appender.append(TOPIC, 3, records(1, i));
      await checkpoint(logId, { witness: i % 2 === 0 });
    }
    expect(await small.verify(logId)).toMatchObject({
      ok: true,
      size: 27,
      checkpointsChecked: 9,
      witnessedSize: 27,
    });
    expect(await verifier().verify(logId)).toMatchObject({ ok: true, checkpointsChecked: 9 });
    // A changed leaf is found at its index across page boundaries.
    await superuser.query('BEGIN');
    await superuser.query('SET LOCAL session_replication_role = replica');
    await superuser.query(
      "UPDATE ledger.leaves SET leaf = leaf || '\\x20'::bytea WHERE log_id = $1 AND idx = 22",
      [logId],
    );
    await superuser.query('COMMIT');
    expect(await small.verify(logId)).toMatchObject({
      ok: false,
      error: { code: 'leaf-hash-mismatch', index: 22 },
    });
  });

  it('a rewritten suffix re-signed with a key inserted into signing_keys does not pass', async () => {
    const logId = logs.resigned;
    const forger = signerFromSeed(ORIGIN_PREFIX, Buffer.alloc(32, 66)); // the real key name
    const leaves = await storedLeaves(logId);
    const forged = [
      ...leaves.slice(0, 14),
      ...leaves.slice(14).map((l) => Buffer.from(l.toString().replace('system', 'mallory'))),
    ];
    expect(forged[19]?.equals(leaves[19] as Buffer)).toBe(false);
    await deleteAsSuperuser('leaves', 'log_id = $1 AND idx >= 14', [logId]);
    await deleteAsSuperuser('checkpoints', 'log_id = $1 AND size > 12', [logId]);
    const hashes = forged.map(leafHash);
    const chain = chainHashes(hashes);
    for (let i = 14; i < forged.length; i++)
      await superuser.query(
        `INSERT INTO ledger.leaves (log_id, idx, kafka_offset, kind, leaf, leaf_hash, chain_hash, subtrees)
         VALUES ($1, $2, $2, 'event', $3, $4, $5, '\\x')`,
        [logId, i, forged[i], hashes[i], chain[i]],
      );
    await setHead(logId, forged);
    await superuser.query(
      'INSERT INTO ledger.signing_keys (key_name, verifier_key, active) VALUES ($1, $2, true)',
      [forger.name, verifierKey(forger.name, forger.publicKey)],
    );
    await checkpoint(logId, { witness: false, by: forger });
    const answer = await verifier().verifyOne(logId);
    expect(answer.logs[0]).toMatchObject({
      logId,
      ok: false,
      error: {
        code: 'checkpoint-failed',
        index: 12,
        message: expect.stringContaining('key-mismatch'),
      },
    });
    // Even with no witness configured the inserted key vouches for nothing.
    expect(await verifier([]).verify(logId)).toMatchObject({
      ok: false,
      error: { code: 'checkpoint-failed', index: 12 },
    });
  });

  it('a rewritten suffix with its later checkpoints deleted (nothing re-signed) is a root mismatch against the witness', async () => {
    const logId = logs.rewritten;
    const leaves = await storedLeaves(logId);
    await deleteAsSuperuser('leaves', 'log_id = $1 AND idx >= 16', [logId]);
    await deleteAsSuperuser('checkpoints', 'log_id = $1 AND size > 12', [logId]);
    const forged = [
      ...leaves.slice(0, 16),
      ...leaves.slice(16).map((l) => Buffer.from(l.toString().replace('system', 'eve'))),
    ];
    expect(forged[19]?.equals(leaves[19] as Buffer)).toBe(false);
    const hashes = forged.map(leafHash);
    const chain = chainHashes(hashes);
    for (let i = 16; i < forged.length; i++)
      await superuser.query(
        `INSERT INTO ledger.leaves (log_id, idx, kafka_offset, kind, leaf, leaf_hash, chain_hash, subtrees)
         VALUES ($1, $2, $2, 'event', $3, $4, $5, '\\x')`,
        [logId, i, forged[i], hashes[i], chain[i]],
      );
    await setHead(logId, forged);
    expect(await verifier([]).verify(logId)).toMatchObject({ ok: true, size: 20 });
    expect(await verifier().verify(logId)).toMatchObject({
      ok: false,
      witnessedSize: 20,
      error: { code: 'witnessed-root-mismatch', index: 12 },
    });
  });

  it("a retired key's checkpoints verify when their stored cosignatures date them before the retirement, and only then", async () => {
    const now = Math.floor(Date.now() / 1000);
    const newSigner = signerFromSeed(ORIGIN_PREFIX, Buffer.alloc(32, 2));
    const newKey = verifierKey(newSigner.name, newSigner.publicKey);
    // After a rotation: the new key is the ledger's own (it signed nothing in this log yet), the
    // old one is trusted only for what its witnesses cosigned before `retiredAt`.
    const rotated = (retiredAt: number) =>
      new VerifierService(
        repository,
        new CosignatureRepository(ds, config([])),
        { verifierKey: newKey } as SigningKeyService,
        {
          ...config([endpoint(witness)]),
          LEDGER_TRUSTED_KEYS: [
            { verifierKey: newKey, verifier: parseVerifierKeyOrThrow(newKey) },
            { verifierKey: ledgerKey, verifier: parseVerifierKeyOrThrow(ledgerKey), retiredAt },
          ],
        },
      );
    // Retired an hour from now: the stored cosignatures (timestamps now) date both checkpoints.
    const later = await rotated(now + 3600).verifyOne(logs.retired);
    expect(later.logs[0]).toMatchObject({ ok: true, checkpointsChecked: 2 });
    // Retired an hour ago: the same checkpoints are no longer vouched for.
    const earlier = await rotated(now - 3600).verifyOne(logs.retired);
    expect(earlier.logs[0]).toMatchObject({ ok: false });
    expect(earlier.logs[0]?.error?.message).toMatch(/retired/);
    // A log whose cosignatures were never stored (same key, same witness): nothing dates its
    // checkpoints, so the retired key is not enough even with a retirement in the future.
    const undated = await rotated(now + 3600).verifyOne(logs.paged);
    expect(undated.logs[0]).toMatchObject({ ok: false });
    expect(undated.logs[0]?.error?.message).toMatch(/retired/);
  });

  it('reports a witness that cannot be reached instead of skipping it, and asks it once per request', async () => {
    const other = cosignerFromSeed('witness.test/down', Buffer.alloc(32, 77));
    const answer = await verifier([
      endpoint(witness),
      endpoint({ verifierKey: other.verifierKey, url: 'http://127.0.0.1:9/' }),
    ]).verifyAll();
    expect(answer.unreachableWitnesses).toEqual(['witness.test/down']);
    expect(answer.logs.map((l) => l.logId)).toEqual(Object.values(logs));
    for (const log of answer.logs) {
      expect(log.witnesses).toEqual([
        expect.objectContaining({
          witness: 'witness.test/verifier',
          status: 'ok',
          size: log.logId === logs.paged ? 27 : 20,
        }),
        expect.objectContaining({ witness: 'witness.test/down', status: 'unreachable' }),
      ]);
    }
    expect(answer.logs[0]?.witnesses[1]?.message).not.toContain('earlier in this run');
    expect(answer.logs[1]?.witnesses[1]?.message).toBe('unreachable earlier in this run');
    // The tampered logs still fail on what the reachable witness shows.
    expect(answer.ok).toBe(false);
  });
});
