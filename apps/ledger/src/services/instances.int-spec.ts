import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TOPICS, buildEvent, encodeEvent, topicName, uuidv7 } from '@tokenledger/contracts';
import {
  formatCheckpoint,
  openNote,
  signNote,
  signerFromSeed,
  verifierKey,
} from '@tokenledger/ledger-core';
import { HealthController, MetricsService, SERVICE_CONFIG } from '@tokenledger/service-host';
import {
  APP_ROLES,
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  type TestDatabase,
} from '@tokenledger/testing';
import { migrateSchema } from '@tokenledger/sql';
import { Client } from 'pg';
import { AppModule } from '../app.module';
import { ledgerConfigSchema, type LedgerConfig } from '../config';
import { migrations } from '../migrations';
import { grants } from '../migrations/grants';
import { LedgerRepository } from '../repositories/ledger.repository';
import { freePort, startWitness, type WitnessProcess } from '../test-support/witness-process';
import { AppenderService } from './appender.service';
import { CheckpointerService } from './checkpointer.service';
import { LogAssignment } from './log-assignment';
import { SigningGuard } from './signing-guard.service';
import { SigningKeyService } from './signing-key.service';
import { WitnessingService } from './witnessing.service';

const ORIGIN = 'ledger.int.test/instances';

/** One ledger instance: the app's modules on `db`, without HTTP and without the consumer. */
async function bootInstance(
  db: TestDatabase,
  env: Record<string, string>,
): Promise<INestApplicationContext> {
  const config = ledgerConfigSchema.parse({
    DATABASE_URL: db.appUrls.ledger,
    KAFKA_BROKERS: kafkaBrokers(),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    LEDGER_ORIGIN: ORIGIN,
    // No periodic pass during the test: it calls signDue itself.
    CHECKPOINT_INTERVAL_MS: '3600000',
    TOKENLEDGER_INTERNAL_SECRET: 'x'.repeat(43),
    ...env,
  });
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    abortOnError: false,
    logger: false,
  });
  await app.init();
  // The topics the context creates at start need their leaders before the guard reads them.
  await eventually(() =>
    app
      .get(SigningGuard)
      .ensureLoaded()
      .then(
        () => true,
        () => undefined,
      ),
  );
  return app;
}

async function migrate(db: TestDatabase): Promise<void> {
  await migrateSchema({
    ownerUrl: db.ownerUrl,
    schema: 'ledger',
    migrations,
    grants,
    loginRole: APP_ROLES.ledger,
  });
}

async function query<T>(db: TestDatabase, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * Several ledger instances on one database (two app contexts here, called directly so that the
 * interleavings are the test's): who signs which log, one signer per log at a time, and a signer
 * guard that tells an instance's stale head from a rollback.
 */
describe('several ledger instances: checkpoint signing (real PostgreSQL and Kafka)', () => {
  let db: TestDatabase;
  const prefix = freshTopicPrefix();
  const topic = topicName(TOPICS.lifecycle, prefix);
  const seed = randomBytes(32);
  const offsets = new Map<number, number>();
  let a: INestApplicationContext;
  let b: INestApplicationContext;

  const boot = (): Promise<INestApplicationContext> =>
    bootInstance(db, { TOPIC_PREFIX: prefix, LEDGER_SIGNING_KEY: seed.toString('base64') });
  const append = async (partition: number, n: number): Promise<void> => {
    const from = offsets.get(partition) ?? 0;
    const records = Array.from({ length: n }, (_, i) => ({
      offset: from + i,
      timestamp: Date.now(),
      value: encodeEvent(
        buildEvent({
          type: 'tokenledger.token.expired.v1',
          source: '/tokenledger/test',
          actor: 'system',
          data: { tokenId: uuidv7(), expiredAt: '2026-12-02T00:00:00.000Z' },
        }),
      ),
    }));
    offsets.set(partition, from + n);
    await a.get(AppenderService).append(topic, partition, records);
  };
  const checkpoints = async (logId: string): Promise<number[]> =>
    (
      await query<{ size: string }>(
        db,
        // In the order they were stored: signed_at, then the physical order of insertion.
        'SELECT size FROM ledger.checkpoints WHERE log_id = $1 ORDER BY signed_at, ctid',
        [logId],
      )
    ).map((r) => Number(r.size));

  beforeAll(async () => {
    db = await freshDatabase();
    await migrate(db);
    a = await boot();
    b = await boot();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('two instances signing the same log at once store one checkpoint per size, in growing order, and neither pass fails', async () => {
    const logId = `${topic}-0`;
    const sizes: number[] = [];
    for (let round = 0; round < 6; round += 1) {
      await append(0, 3 + round);
      const [byA, byB] = await Promise.all([
        a.get(CheckpointerService).signDue(),
        b.get(CheckpointerService).signDue(),
      ]);
      // Exactly one of them signed this round's head.
      expect(byA.length + byB.length).toBe(1);
      sizes.push(offsets.get(0) ?? 0);
    }
    expect(await checkpoints(logId)).toEqual(sizes);
  });

  it('each instance signs only the logs Kafka assigned to it; a process without a consumer signs all', async () => {
    // As the ingest consumer reports its assignment (full topic name -> partitions).
    a.get(LogAssignment).update({ [topic]: [1] });
    b.get(LogAssignment).update({ [topic]: [0] });
    await append(0, 4);
    await append(1, 5);
    const byA = await a.get(CheckpointerService).signDue();
    const byB = await b.get(CheckpointerService).signDue();
    expect(byA.map((n) => n.split('\n').slice(0, 2))).toEqual([[`${ORIGIN}/${topic}-1`, '5']]);
    expect(byB.map((n) => n.split('\n').slice(0, 2))).toEqual([
      [`${ORIGIN}/${topic}-0`, String(offsets.get(0))],
    ]);
    // While joining or rebalancing (assignment {}): signs nothing.
    a.get(LogAssignment).update({});
    await append(1, 1);
    expect(await a.get(CheckpointerService).signDue()).toEqual([]);
    expect(a.get(LogAssignment).owns(`${topic}-1`)).toBe(false);
    expect(new LogAssignment().owns(`${topic}-1`)).toBe(true);
    a.get(LogAssignment).update({ [topic]: [0, 1] });
    b.get(LogAssignment).update({});
  });

  it("a published checkpoint newer than an instance's head read halts nothing; one beyond the stored log halts it", async () => {
    const logId = `${topic}-0`;
    const repository = a.get(LedgerRepository);
    const guard = a.get(SigningGuard);
    // A read the head; then B appended and signed, and a witness's 409 told A of B's checkpoint.
    const stale = (await repository.head(logId))!;
    await append(0, 7);
    b.get(LogAssignment).update({ [topic]: [0] });
    const [note] = await b.get(CheckpointerService).signDue();
    expect(note).toBeDefined();
    expect(guard.learnNote(logId, note!, 'witness:test')).toBe(true);
    await guard.checkWithoutProof(stale);
    expect(guard.isHalted(logId)).toBe(false);
    expect(await guard.maySign(stale)).toBe(false); // not that old head, but no halt either
    expect(guard.isHalted(logId)).toBe(false);
    b.get(LogAssignment).update({});
    await append(0, 2);
    expect(await a.get(CheckpointerService).signDue()).toHaveLength(2); // logs 0 and 1
    expect(guard.haltedLogs()).toEqual([]);

    // A checkpoint (trusted key) larger than anything stored: the stored log is behind it.
    const head = (await repository.head(logId))!;
    const beyond = signNote(
      formatCheckpoint({
        origin: `${ORIGIN}/${logId}`,
        size: head.size + 100,
        rootHash: randomBytes(32),
      }),
      signerFromSeed(ORIGIN, seed),
    );
    expect(guard.learnNote(logId, beyond, 'witness:test')).toBe(true);
    await guard.checkWithoutProof(head);
    expect(guard.haltedLogs()).toEqual([logId]);
  });
});

describe('several ledger instances: the signing key (real PostgreSQL and Kafka)', () => {
  let db: TestDatabase;
  const prefix = freshTopicPrefix();
  const topic = topicName(TOPICS.lifecycle, prefix);
  const seedA = randomBytes(32);
  const seedB = randomBytes(32);
  const apps: INestApplicationContext[] = [];
  const boot = async (seed: Buffer, env: Record<string, string> = {}) => {
    const app = await bootInstance(db, {
      TOPIC_PREFIX: prefix,
      LEDGER_SIGNING_KEY: seed.toString('base64'),
      ...env,
    });
    apps.push(app);
    return app;
  };
  const events = () =>
    query<{ verifier_key: string; event: string }>(
      db,
      'SELECT verifier_key, event FROM ledger.signing_key_events ORDER BY at',
    );

  beforeAll(async () => {
    db = await freshDatabase();
    await migrate(db);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await db?.drop();
  });

  it('instances starting at once record one activation; after a rolling rotation by another instance the old key signs nothing', async () => {
    const [a, c] = await Promise.all([boot(seedA), boot(seedA)]);
    const vkeyA = a.get(SigningKeyService).verifierKey;
    expect((await events()).map((e) => [e.verifier_key, e.event])).toEqual([[vkeyA, 'activated']]);
    const record = encodeEvent(
      buildEvent({
        type: 'tokenledger.token.expired.v1',
        source: '/tokenledger/test',
        actor: 'system',
        data: { tokenId: uuidv7(), expiredAt: '2026-12-02T00:00:00.000Z' },
      }),
    );
    await a.get(AppenderService).append(topic, 0, [{ offset: 0, timestamp: 1, value: record }]);
    expect(await a.get(CheckpointerService).signDue()).toHaveLength(1);

    // Rolling restart with a new key: B rotates while A and C still run with the old one.
    const b = await boot(seedB, { LEDGER_ROTATE_KEY: '1' });
    const vkeyB = b.get(SigningKeyService).verifierKey;
    expect((await events()).map((e) => [e.verifier_key, e.event])).toEqual([
      [vkeyA, 'activated'],
      [vkeyA, 'retired'],
      [vkeyB, 'activated'],
    ]);
    await a.get(AppenderService).append(topic, 0, [
      {
        offset: 1,
        timestamp: 2,
        value: encodeEvent(
          buildEvent({
            type: 'tokenledger.token.expired.v1',
            source: '/tokenledger/test',
            actor: 'system',
            data: { tokenId: uuidv7(), expiredAt: '2026-12-02T00:00:00.000Z' },
          }),
        ),
      },
    ]);
    expect(await a.get(CheckpointerService).signDue()).toEqual([]);
    expect(await c.get(CheckpointerService).signDue()).toEqual([]);
    // Readiness answers 503 until this context's Kafka client has connected (slow on a loaded machine).
    const ready = await eventually(
      () => a.get(HealthController).ready(),
      20_000,
      'instance A ready',
    );
    expect(ready).toMatchObject({
      status: 'degraded',
      checks: { signingKey: 'degraded' },
    });
    const [note] = await b.get(CheckpointerService).signDue();
    expect(note).toBeDefined();
    expect(openNote(note!, [b.get(SigningKeyService).verifier]).ok).toBe(true);
    const stored = await query<{ size: string; key_name: string; note: string }>(
      db,
      'SELECT size, note FROM ledger.checkpoints ORDER BY size',
    );
    expect(
      stored.map((r) => [Number(r.size), openNote(r.note, [b.get(SigningKeyService).verifier]).ok]),
    ).toEqual([
      [1, false],
      [2, true],
    ]);
  });
});

describe('several ledger instances: witness submissions (real PostgreSQL, Kafka and witness)', () => {
  let db: TestDatabase;
  let dir: string;
  let witness: WitnessProcess | undefined;
  const prefix = freshTopicPrefix();
  const topic = topicName(TOPICS.lifecycle, prefix);
  const logId = `${topic}-0`;
  const seed = randomBytes(32);
  const apps: INestApplicationContext[] = [];
  let offset = 0;

  beforeAll(async () => {
    db = await freshDatabase();
    dir = await mkdtemp(join(tmpdir(), 'ledger-instances-'));
    await migrate(db);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await witness?.stop('SIGKILL');
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('an older checkpoint submitted after another instance had the witness cosign a newer one is superseded, not ahead', async () => {
    const port = await freePort();
    const startW = () =>
      startWitness({
        name: 'witness.int/instances',
        stateDir: dir,
        port,
        originPrefix: `${ORIGIN}/`,
        logKeys: [verifierKey(ORIGIN, signerFromSeed(ORIGIN, seed).publicKey)],
      });
    // The witness's key, then down while A signs.
    witness = await startW();
    const witnessKey = witness.verifierKey;
    await witness.stop();
    const boot = async () => {
      const app = await bootInstance(db, {
        TOPIC_PREFIX: prefix,
        LEDGER_SIGNING_KEY: seed.toString('base64'),
        LEDGER_WITNESSES: `${witnessKey}@http://127.0.0.1:${port}/`,
        LEDGER_WITNESS_TIMEOUT_MS: '1000',
      });
      apps.push(app);
      return app;
    };
    const [a, b] = await Promise.all([boot(), boot()]);
    const append = async (n: number) => {
      const records = Array.from({ length: n }, () => ({
        offset: offset++,
        timestamp: Date.now(),
        value: encodeEvent(
          buildEvent({
            type: 'tokenledger.token.expired.v1',
            source: '/tokenledger/test',
            actor: 'system',
            data: { tokenId: uuidv7(), expiredAt: '2026-12-02T00:00:00.000Z' },
          }),
        ),
      }));
      await a.get(AppenderService).append(topic, 0, records);
    };
    await append(3);
    expect(await a.get(CheckpointerService).signDue()).toHaveLength(1);
    await a.get(WitnessingService).run(); // unreachable: A knows nothing the witness holds
    // The witness is back; B signs the grown log and has it cosigned.
    witness = await startW();
    await append(2);
    expect(await b.get(CheckpointerService).signDue()).toHaveLength(1);
    await b.get(WitnessingService).run();
    const cosigned = await query<{ size: string }>(
      db,
      'SELECT size FROM ledger.cosignatures WHERE log_id = $1',
      [logId],
    );
    expect(cosigned.map((r) => Number(r.size))).toEqual([5]);

    // A submits the checkpoint it read before B signed: the witness answers 409 with size 5.
    const older = (await a.get(LedgerRepository).checkpoints(logId)).find((c) => c.size === 3)!;
    const config = a.get<LedgerConfig>(SERVICE_CONFIG);
    // The private submission step, as a pass would call it with what it read then.
    const service: object = a.get(WitnessingService);
    const submit = (service as { submit(w: unknown, cp: unknown): Promise<boolean> }).submit.bind(
      service,
    );
    expect(await submit(config.LEDGER_WITNESSES[0], older)).toBe(false);
    const metrics = await a.get(MetricsService).registry.metrics();
    const outcome = (name: string) =>
      metrics
        .split('\n')
        .find((l) =>
          l.startsWith(
            `tokenledger_ledger_witness_submissions_total{witness="witness.int/instances",outcome="${name}"}`,
          ),
        );
    expect(outcome('superseded')).toMatch(/ 1$/);
    expect(outcome('ahead')).toBeUndefined();
    expect(a.get(SigningGuard).haltedLogs()).toEqual([]);
  });
});
