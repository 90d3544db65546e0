import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext as INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  TOPICS,
  buildEvent,
  decodeEvent,
  encodeEvent,
  topicName,
  uuidv7,
} from '@tokenledger/contracts';
import { DomainError } from '@tokenledger/errors';
import {
  CHAIN_SEED,
  emptyRoot,
  openCheckpoint,
  openCosignatures,
  parseCosignerVerifierKey,
  signerFromSeed,
  verifierFromPublicKey,
  verifierKey,
} from '@tokenledger/ledger-core';
import { HealthController, MetricsService } from '@tokenledger/service-host';
import {
  APP_ROLES,
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  type TestDatabase,
} from '@tokenledger/testing';
import { migrateSchema } from '@tokenledger/sql';
import { Client } from 'pg';
import { AppModule } from '../app.module';
import { migrations } from '../migrations';
import { grants } from '../migrations/grants';
import { ledgerConfigSchema } from '../config';
import { LedgerController } from '../controllers/ledger.controller';
import { LedgerRepository } from '../repositories/ledger.repository';
import { freePort, startWitness, type WitnessProcess } from '../test-support/witness-process';
import { AppenderService } from './appender.service';
import { keyIdOf } from './signing-key.service';

const ORIGIN = 'ledger.int.test/ledger';
const seedA = randomBytes(32);
const seedB = randomBytes(32);
const vkeyOf = (seed: Buffer): string => {
  const signer = signerFromSeed(ORIGIN, seed);
  return verifierKey(ORIGIN, signer.publicKey);
};

interface LogView {
  logId: string;
  checkpointSize: number | null;
  cosigners: number;
  witnessed: boolean;
}

describe('witnessing and key lifecycle (real PostgreSQL, Kafka and witness processes)', () => {
  let db: TestDatabase;
  let dir: string;
  const prefix = freshTopicPrefix();
  const topic = topicName(TOPICS.lifecycle, prefix);
  const logId = `${topic}-0`;
  const witnesses: WitnessProcess[] = [];
  let app: INestApplication | undefined;
  let offset = 0;

  const boot = async (env: Record<string, string>): Promise<INestApplication> => {
    const config = ledgerConfigSchema.parse({
      DATABASE_URL: db.appUrls.ledger,
      KAFKA_BROKERS: kafkaBrokers(),
      TOPIC_PREFIX: prefix,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      LEDGER_ORIGIN: ORIGIN,
      CHECKPOINT_INTERVAL_MS: '200',
      LEDGER_WITNESS_TIMEOUT_MS: '1000',
      TOKENLEDGER_INTERNAL_SECRET: 'x'.repeat(43),
      ...env,
    });
    // As the app runs: the owner migrates and grants, the app connects as its login role.
    await migrateSchema({
      ownerUrl: db.ownerUrl,
      schema: 'ledger',
      migrations,
      grants,
      loginRole: APP_ROLES.ledger,
    });
    // The app's modules without HTTP: controllers are called directly (routes: the e2e suite).
    const created = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
      abortOnError: false,
      logger: false,
    });
    await created.init();
    return created;
  };
  const append = async (n: number): Promise<void> => {
    const records = Array.from({ length: n }, () => {
      const event = buildEvent({
        type: 'tokenledger.token.expired.v1',
        source: '/tokenledger/test',
        actor: 'system',
        data: { tokenId: uuidv7(), expiredAt: '2026-12-01T00:00:00.000Z' },
      });
      const record = { offset, timestamp: Date.now(), value: encodeEvent(event) };
      offset += 1;
      return record;
    });
    await app!.get(AppenderService).append(topic, 0, records);
  };
  const logView = async (): Promise<LogView | undefined> =>
    ((await app!.get(LedgerController).logs()).logs as LogView[]).find((l) => l.logId === logId);
  const metric = async (line: RegExp): Promise<number | undefined> => {
    const text = await app!.get(MetricsService).registry.metrics();
    const found = text.split('\n').find((l) => line.test(l));
    return found === undefined ? undefined : Number(found.split(' ').pop());
  };
  const sql = async <T>(text: string): Promise<T[]> => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query(text)).rows as T[];
    } finally {
      await client.end();
    }
  };
  const witness = async (name: string, stateDir: string, port: number) => {
    const w = await startWitness({
      name,
      stateDir,
      port,
      originPrefix: `${ORIGIN}/`,
      logKeys: [vkeyOf(seedA)],
    });
    witnesses.push(w);
    return w;
  };

  beforeAll(async () => {
    db = await freshDatabase();
    dir = await mkdtemp(join(tmpdir(), 'ledger-witnessing-'));
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all(witnesses.map((w) => w.stop('SIGKILL')));
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const portW1 = freePort();
  const portW2 = freePort();

  it('submits each checkpoint, stores the cosignature, serves it; a witness back up catches up with one proof', async () => {
    const w1 = await witness('witness.int/w1', join(dir, 'w1'), await portW1);
    app = await boot({
      LEDGER_SIGNING_KEY: seedA.toString('base64'),
      LEDGER_WITNESSES: `${w1.verifierKey}@${w1.url}`,
    });
    await append(5);
    const view = await eventually(async () => {
      const v = await logView();
      return v?.witnessed && v.checkpointSize === 5 ? v : undefined;
    });
    expect(view).toMatchObject({ cosigners: 1, witnessed: true });
    const controller = app.get(LedgerController);
    const reply = { header: () => reply };
    const note = await controller.checkpoint(logId, reply as never);
    const witnessKey = parseCosignerVerifierKey(w1.verifierKey);
    if (!witnessKey.ok) throw new Error(witnessKey.error.message);
    const logKey = verifierFromPublicKey(ORIGIN, signerFromSeed(ORIGIN, seedA).publicKey);
    expect(openCheckpoint(note, [logKey], `${ORIGIN}/${logId}`)).toMatchObject({
      ok: true,
      checkpoint: { size: 5 },
    });
    const logPart = note.slice(0, note.lastIndexOf('\n\n') + 1);
    const sigLines = note
      .slice(note.lastIndexOf('\n\n') + 2)
      .split('\n')
      .filter((l) => l.length > 0);
    expect(sigLines).toHaveLength(2); // the log's signature, then the witness's cosignature
    expect(openCosignatures(logPart, `${sigLines[1]}\n`, [witnessKey.verifier])).toMatchObject({
      ok: true,
      cosignatures: { verified: [{ name: 'witness.int/w1' }] },
    });
    const stored = await sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM ledger.cosignatures WHERE size = 5`,
    );
    expect(stored[0]?.n).toBe(1);
    await expect(sql('UPDATE ledger.cosignatures SET line = line')).rejects.toThrow(/append-only/);
    // 503 until the context's Kafka client has connected, which a loaded machine makes slow.
    expect(
      await eventually(() => app!.get(HealthController).ready(), 20_000, 'ledger ready'),
    ).toMatchObject({
      status: 'ok',
      checks: { witnesses: 'ok', signing: 'ok' },
    });
    expect(await metric(/^tokenledger_ledger_unwitnessed_logs /)).toBe(0);

    // The witness goes down: checkpoints continue, unwitnessed; readiness is degraded.
    await w1.stop();
    await append(3);
    await eventually(async () => {
      const v = await logView();
      return v?.checkpointSize === 8 && !v.witnessed ? v : undefined;
    });
    await eventually(async () =>
      (await metric(/^tokenledger_ledger_unwitnessed_logs /)) === 1 ? true : undefined,
    );
    const degraded = await app.get(HealthController).ready();
    expect(degraded).toMatchObject({ status: 'degraded', checks: { witnesses: 'degraded' } });
    expect(degraded.reasons?.join()).toContain(logId);
    expect(
      await metric(
        /^tokenledger_ledger_witness_submissions_total\{witness="witness.int\/w1",outcome="unreachable"\}/,
      ),
    ).toBeGreaterThan(0);
    await append(2);
    await eventually(async () => ((await logView())?.checkpointSize === 10 ? true : undefined));

    // Back up (same state, same key): it gets the latest checkpoint with one proof from 5.
    const back = await witness('witness.int/w1', join(dir, 'w1'), await portW1);
    expect(back.verifierKey).toBe(w1.verifierKey);
    await eventually(
      async () => ((await logView())?.witnessed ? true : undefined),
      20_000,
      'caught up',
    );
    const cosigned = back.lines.filter((l) => l.msg === 'checkpoint cosigned');
    expect(cosigned.map((l) => [l.oldSize, l.size])).toEqual([[5, 10]]);
    expect(await app.get(HealthController).ready()).toMatchObject({ status: 'ok' });
  });

  it('learns a witness size from its 409 and retries once with that proof; below quorum is witnessed: false', async () => {
    await app?.close();
    app = undefined;
    const w1 = witnesses[witnesses.length - 1]!;
    // w2 already holds the latest checkpoint, which the database does not know it cosigned.
    const w2 = await witness('witness.int/w2', join(dir, 'w2'), await portW2);
    const [latest] = await sql<{ note: string }>(
      `SELECT note FROM ledger.checkpoints ORDER BY size DESC LIMIT 1`,
    );
    const res = await fetch(new URL('add-checkpoint', w2.url), {
      method: 'POST',
      body: `old 0\n\n${latest!.note}`,
    });
    expect(res.status).toBe(200);
    app = await boot({
      LEDGER_SIGNING_KEY: seedA.toString('base64'),
      LEDGER_WITNESSES: `${w1.verifierKey}@${w1.url},${w2.verifierKey}@${w2.url}`,
      LEDGER_WITNESS_QUORUM: '2',
    });
    await eventually(async () => ((await logView())?.cosigners === 2 ? true : undefined));
    expect(await logView()).toMatchObject({ checkpointSize: 10, witnessed: true });
    expect(
      await metric(
        /^tokenledger_ledger_witness_submissions_total\{witness="witness.int\/w2",outcome="conflict"\}/,
      ),
    ).toBe(1);
    expect(
      await metric(
        /^tokenledger_ledger_witness_submissions_total\{witness="witness.int\/w2",outcome="cosigned"\}/,
      ),
    ).toBe(1);

    // One of two witnesses down, quorum 2: still served, but not witnessed.
    await w2.stop();
    await append(4);
    const below = await eventually(async () => {
      const v = await logView();
      return v?.checkpointSize === 14 && v.cosigners === 1 ? v : undefined;
    });
    expect(below.witnessed).toBe(false);
    await eventually(async () =>
      (await app!.get(HealthController).ready()).status === 'degraded' ? true : undefined,
    );
  });

  it('answers 404 (domain errors) for an unknown log and for a log without a checkpoint', async () => {
    const controller = app!.get(LedgerController);
    const reply = { header: () => reply };
    const repository = app!.get(LedgerRepository);
    await repository.transaction((m) =>
      repository.lockHead(m, `${prefix}empty-0`, `${prefix}empty`, 0, emptyRoot(), CHAIN_SEED),
    );
    await expect(controller.checkpoint(`${prefix}empty-0`, reply as never)).rejects.toMatchObject({
      code: 'no_checkpoint',
      message: expect.stringContaining('has no signed checkpoint yet'),
    });
    await expect(controller.checkpoint(`${prefix}none-0`, reply as never)).rejects.toMatchObject({
      code: 'log_not_found',
    });
    await expect(controller.checkpoint(`${prefix}none-0`, reply as never)).rejects.toBeInstanceOf(
      DomainError,
    );
  });

  it('refuses another key while checkpoints by the active key exist; LEDGER_ROTATE_KEY rotates and emits ops.key-rotated', async () => {
    await app?.close();
    app = undefined;
    await expect(boot({ LEDGER_SIGNING_KEY: seedB.toString('base64') })).rejects.toThrow(
      /not the active key .*LEDGER_ROTATE_KEY=1/s,
    );
    app = await boot({ LEDGER_SIGNING_KEY: seedB.toString('base64'), LEDGER_ROTATE_KEY: '1' });
    const events = await sql<{ verifier_key: string; event: string }>(
      'SELECT verifier_key, event FROM ledger.signing_key_events ORDER BY at',
    );
    expect(events.map((e) => [e.verifier_key, e.event])).toEqual([
      [vkeyOf(seedA), 'activated'],
      [vkeyOf(seedA), 'retired'],
      [vkeyOf(seedB), 'activated'],
    ]);
    const { keys } = await app.get(LedgerController).keys();
    expect(keys.map((k) => [k.verifierKey, k.active, k.retiredAt !== null])).toEqual([
      [vkeyOf(seedA), false, true],
      [vkeyOf(seedB), true, false],
    ]);
    const records = await readTopic(topicName(TOPICS.opsAudit, prefix), (r) => r.length > 0);
    const rotated = records
      .map((r) => decodeEvent(r.value ?? Buffer.alloc(0)))
      .flatMap((d) => (d.ok && d.event.type === 'tokenledger.ops.key-rotated.v1' ? [d.event] : []));
    expect(rotated).toHaveLength(1);
    expect(rotated[0]?.data).toMatchObject({
      keyId: keyIdOf(vkeyOf(seedB)),
      previousKeyId: keyIdOf(vkeyOf(seedA)),
      purpose: 'checkpoint-signing',
      verifierKey: vkeyOf(seedB),
    });
    expect(JSON.stringify(rotated)).not.toContain(seedB.toString('base64'));
    // The old key stays refused without the flag once the new one has signed.
    await append(1);
    await eventually(async () => ((await logView())?.checkpointSize === 15 ? true : undefined));
    await app.close();
    app = undefined;
    await expect(boot({ LEDGER_SIGNING_KEY: seedA.toString('base64') })).rejects.toThrow(
      /not the active key/,
    );
  });
});
