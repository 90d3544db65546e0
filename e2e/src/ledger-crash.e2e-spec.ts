import { randomBytes } from 'node:crypto';
import {
  AUDITED_TOPICS,
  TOPICS,
  buildEvent,
  encodeEvent,
  partitionKey,
  topicName,
  uuidv7,
} from '@tokenledger/contracts';
import { CHAIN_SEED, chainNext, leafHash, rootHash } from '@tokenledger/ledger-core';
import { createEventProducer, createKafka, provisionTopics } from '@tokenledger/messaging';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  testKafka,
  type TestDatabase,
} from '@tokenledger/testing';
import { Client } from 'pg';
import { freePort, spawnApp } from './system';

async function query<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Recomputes every log of a ledger database from its stored leaf bytes; returns logId -> root. */
async function recompute(
  url: string,
): Promise<Map<string, { size: number; root: Buffer; offsets: number[] }>> {
  const rows = await query<{
    log_id: string;
    idx: string;
    kafka_offset: string;
    leaf: Buffer;
    leaf_hash: Buffer;
    chain_hash: Buffer;
  }>(
    url,
    'SELECT log_id, idx, kafka_offset, leaf, leaf_hash, chain_hash FROM ledger.leaves ORDER BY log_id, idx',
  );
  const logs = new Map<string, { hashes: Buffer[]; chain: Buffer; offsets: number[] }>();
  for (const r of rows) {
    const log = logs.get(r.log_id) ?? { hashes: [], chain: CHAIN_SEED, offsets: [] };
    expect(Number(r.idx)).toBe(log.hashes.length);
    const hash = leafHash(r.leaf);
    expect(hash.equals(r.leaf_hash)).toBe(true);
    log.chain = chainNext(log.chain, hash);
    expect(log.chain.equals(r.chain_hash)).toBe(true);
    log.hashes.push(hash);
    log.offsets.push(Number(r.kafka_offset));
    logs.set(r.log_id, log);
  }
  return new Map(
    [...logs].map(([id, l]) => [
      id,
      { size: l.hashes.length, root: rootHash(l.hashes), offsets: l.offsets },
    ]),
  );
}

describe('ledger under SIGKILL, and rebuilt from Kafka', () => {
  let db: TestDatabase;
  let rebuiltDb: TestDatabase;
  const prefix = freshTopicPrefix();

  beforeAll(async () => {
    db = await freshDatabase();
    rebuiltDb = await freshDatabase();
    const admin = testKafka().admin();
    await admin.connect();
    await provisionTopics(admin, { prefix, partitions: 3 });
    await admin.disconnect();
  });

  afterAll(async () => {
    await db?.drop();
    await rebuiltDb?.drop();
  });

  const ledgerEnv = async (url: string): Promise<Record<string, string>> => ({
    DATABASE_URL: url,
    KAFKA_BROKERS: kafkaBrokers(),
    TOPIC_PREFIX: prefix,
    PORT: String(await freePort()),
    TOKENLEDGER_INTERNAL_SECRET: randomBytes(32).toString('base64url'),
    LEDGER_SIGNING_KEY: randomBytes(32).toString('base64'),
    REVOCATION_URL: 'http://127.0.0.1:9',
    LEDGER_SESSION_TIMEOUT_MS: '6000',
    LOG_LEVEL: 'warn',
  });

  it('killed with SIGKILL three times while events flow: every record is exactly one leaf, in offset order; a rebuild has the same roots', async () => {
    const env = await ledgerEnv(db.url);
    let ledger = spawnApp('ledger', env);
    const producer = createEventProducer(
      createKafka({ brokers: kafkaBrokers(), clientId: 'crash-producer' }),
    );
    await producer.connect();
    const tokens = Array.from({ length: 12 }, () => uuidv7());
    let sent = 0;
    const produce = async (batches: number): Promise<void> => {
      for (let b = 0; b < batches; b += 1) {
        const messages = Array.from({ length: 20 }, (_, i) => {
          const tokenId = tokens[(b + i) % tokens.length] as string;
          const event = buildEvent({
            type: 'tokenledger.token.expired.v1',
            source: '/tokenledger/test',
            actor: 'system',
            data: { tokenId, expiredAt: new Date().toISOString() },
          });
          return { key: partitionKey(event), value: encodeEvent(event) };
        });
        await producer.send({
          topic: topicName(b % 2 === 0 ? TOPICS.lifecycle : TOPICS.commands, prefix),
          acks: -1,
          messages,
        });
        sent += messages.length;
        await new Promise((r) => setTimeout(r, 40));
      }
    };
    try {
      for (let kill = 0; kill < 3; kill += 1) {
        await produce(15);
        await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 700)));
        ledger.process.kill('SIGKILL');
        await new Promise((r) => ledger.process.once('exit', r));
        ledger = spawnApp('ledger', env);
      }
      await produce(10);
    } finally {
      await producer.disconnect();
    }

    const admin = testKafka().admin();
    await admin.connect();
    const high = new Map<string, number>();
    for (const base of AUDITED_TOPICS) {
      for (const o of await admin.fetchTopicOffsets(topicName(base, prefix)))
        high.set(`${topicName(base, prefix)}-${o.partition}`, Number(o.high));
    }
    await admin.disconnect();
    const expectedTotal = [...high.values()].reduce((a, b) => a + b, 0);
    expect(expectedTotal).toBe(sent);

    const caughtUp = async (url: string): Promise<boolean | undefined> => {
      const heads = await query<{ log_id: string; size: string }>(
        url,
        'SELECT log_id, size FROM ledger.logs',
      );
      const sizes = new Map(heads.map((h) => [h.log_id, Number(h.size)]));
      return [...high].every(([id, n]) => n === 0 || sizes.get(id) === n) ? true : undefined;
    };
    try {
      await eventually(() => caughtUp(db.url), 90_000, 'the ledger to catch up after the kills');
    } finally {
      ledger.process.kill('SIGTERM');
      await new Promise((r) => ledger.process.once('exit', r));
    }

    const logs = await recompute(db.url);
    for (const [id, n] of high) {
      if (n === 0) continue;
      const log = logs.get(id);
      expect([id, log?.offsets]).toEqual([id, Array.from({ length: n }, (_, i) => i)]);
    }
    const heads = await query<{ log_id: string; root_hash: Buffer }>(
      db.url,
      'SELECT log_id, root_hash FROM ledger.logs',
    );
    for (const h of heads)
      expect([h.log_id, logs.get(h.log_id)?.root.equals(h.root_hash)]).toEqual([h.log_id, true]);

    // Rebuild: a second ledger with an empty database replays the same partitions.
    const rebuilt = spawnApp('ledger', await ledgerEnv(rebuiltDb.url));
    try {
      await eventually(() => caughtUp(rebuiltDb.url), 90_000, 'the rebuilt ledger to catch up');
    } finally {
      rebuilt.process.kill('SIGTERM');
      await new Promise((r) => rebuilt.process.once('exit', r));
    }
    const again = await recompute(rebuiltDb.url);
    for (const [id, log] of logs) {
      expect([id, again.get(id)?.size, again.get(id)?.root.toString('base64')]).toEqual([
        id,
        log.size,
        log.root.toString('base64'),
      ]);
    }
  }, 300_000);
});
