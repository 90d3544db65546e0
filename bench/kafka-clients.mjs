// `npm run bench:kafka-clients`: kafkajs 2.2.4 (what packages/messaging uses) against
// @platformatic/kafka (a maintained pure-JS client, issue 18 point 8), side by side in the same
// run, on the local SASL/SCRAM broker as its admin principal:
// - produce: the same N ledger-sized token.used records (signed envelopes, CloudEvents header),
//   idempotent, acks=all, one request in flight, batches of 500, as the apps' outbox relays send;
// - consume: a fresh consumer group reads a topic of N records from the start, doing nothing else
//   (the raw consumer baseline of bench:ledger);
// - compatibility: every key lands on the same partition with both producers (Kafka's murmur2
//   scheme), and each client reads the other's records byte for byte, headers included.
// ROUNDS alternate the order of the clients. Prints a Markdown block for bench/RESULTS.md.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  benchSigning,
  build,
  ensureDependencies,
  infra,
  root,
  say,
  useKafkaAdmin,
} from '../scripts/lib.mjs';

const N = Number(process.env.BENCH_EVENTS ?? 30000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BATCH = 500;
const PARTITIONS = 3;

ensureDependencies();
build();
const require = createRequire(import.meta.url);
const dist = (...p) => require(path.join(root, ...p));
const { buildEvent, cloudEventHeaders, encodeEvent, partitionKey, uuidv7 } = dist(
  'packages/contracts/dist/index.js',
);
const { createKafka, createEventProducer } = dist('packages/messaging/dist/index.js');
const plt = await import('@platformatic/kafka');
const pltVersion = JSON.parse(
  readFileSync(path.join(root, 'node_modules', '@platformatic', 'kafka', 'package.json'), 'utf8'),
).version;
const kjsVersion = require('kafkajs/package.json').version;

const stack = await infra().ensureInfrastructure({ database: 'tokenledger_bench', log: say });
useKafkaAdmin(stack);
const brokers = stack.kafkaBrokers.split(',').map((b) => b.trim());
const sasl = process.env.KAFKA_SASL_USERNAME
  ? {
      mechanism: 'SCRAM-SHA-512',
      username: process.env.KAFKA_SASL_USERNAME,
      password: process.env.KAFKA_SASL_PASSWORD,
    }
  : undefined;
const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'bench-kafka-clients' });
const prefix = `bench${randomBytes(3).toString('hex')}.kc.`;
const pltBase = () => ({
  clientId: 'bench-kafka-clients-plt',
  bootstrapBrokers: brokers,
  ...(sasl ? { sasl } : {}),
});

// The records: N token.used events over 1,000 tokens, as bench:ledger produces them.
say(`encoding ${N} token.used events`);
const tokenIds = Array.from({ length: 1000 }, () => uuidv7());
const records = Array.from({ length: N }, (_, i) => {
  const event = buildEvent({
    type: 'tokenledger.token.used.v1',
    source: '/tokenledger/bench',
    actor: 'service:bench',
    data: {
      tokenId: tokenIds[i % tokenIds.length],
      prefix: 'tlk_live_AbC1',
      service: 'bench',
      operation: 'GET /x',
      ip: '10.0.0.1',
      scopesRequested: [],
      outcome: 'accepted',
      at: new Date().toISOString(),
    },
  });
  return { key: partitionKey(event), value: encodeEvent(event, benchSigning().encodeOptions) };
});
const recordBytes = records.reduce((s, r) => s + r.value.length, 0) / N;
const header = cloudEventHeaders();

const admin = kafka.admin();
await admin.connect();
async function freshTopic(name) {
  const topic = `${prefix}${name}`;
  await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  return topic;
}

async function produceKafkajs(topic) {
  const producer = createEventProducer(kafka);
  await producer.connect();
  const t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const messages = records
      .slice(i, i + BATCH)
      .map((r) => ({ key: r.key, value: r.value, headers: header }));
    await producer.send({ topic, acks: -1, messages });
  }
  const ms = performance.now() - t0;
  await producer.disconnect();
  return ms;
}

async function producePlatformatic(topic) {
  const producer = new plt.Producer({
    ...pltBase(),
    idempotent: true,
    acks: plt.ProduceAcks.ALL,
    autocreateTopics: false,
    // Kafka's own scheme (murmur2 & 0x7fffffff); the client's default partitioner differs.
    partitioner: plt.compatibilityPartitioner,
  });
  const headers = new Map(Object.entries(header).map(([k, v]) => [Buffer.from(k), Buffer.from(v)]));
  const t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const messages = records
      .slice(i, i + BATCH)
      .map((r) => ({ topic, key: Buffer.from(r.key), value: r.value, headers }));
    await producer.send({ messages });
  }
  const ms = performance.now() - t0;
  await producer.close();
  return ms;
}

/** Reads `topic` to N records with a fresh group; returns timings and what it saw. */
async function consumeKafkajs(topic) {
  const consumer = kafka.consumer({ groupId: `${topic}.g${randomBytes(3).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const seen = [];
  const t0 = performance.now();
  let first;
  let last;
  await new Promise((resolve) => {
    void consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: async ({ batch }) => {
        first ??= performance.now();
        for (const m of batch.messages) {
          if (seen.length >= N) break;
          seen.push({
            partition: batch.partition,
            key: m.key.toString(),
            value: m.value,
            contentType: m.headers['content-type']?.toString(),
          });
        }
        if (seen.length >= N && last === undefined) {
          last = performance.now();
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return { joinMs: first - t0, readMs: last - first, seen };
}

// platformatic's headers are a Map keyed by Buffers (compared by identity): look up by string.
function headerOf(headers, name) {
  for (const [k, v] of headers) if (k.toString() === name) return v;
  return undefined;
}

async function consumePlatformatic(topic) {
  const consumer = new plt.Consumer({
    ...pltBase(),
    groupId: `${topic}.g${randomBytes(3).toString('hex')}`,
    autocommit: false,
  });
  const t0 = performance.now();
  const stream = await consumer.consume({
    topics: [topic],
    mode: plt.MessagesStreamModes.EARLIEST,
  });
  const seen = [];
  let first;
  let last;
  await new Promise((resolve, reject) => {
    stream.on('error', reject);
    stream.on('data', (m) => {
      first ??= performance.now();
      if (seen.length >= N) return; // fetched before the stream closed
      seen.push({
        partition: m.partition,
        key: m.key.toString(),
        value: m.value,
        contentType: headerOf(m.headers, 'content-type')?.toString(),
      });
      if (seen.length >= N && last === undefined) {
        last = performance.now();
        resolve();
      }
    });
  });
  await stream.close();
  await consumer.close();
  return { joinMs: first - t0, readMs: last - first, seen };
}

const clients = {
  kafkajs: { produce: produceKafkajs, consume: consumeKafkajs },
  platformatic: { produce: producePlatformatic, consume: consumePlatformatic },
};
const rows = [];
const topicsBy = {};
for (let round = 1; round <= ROUNDS; round++) {
  const order = round % 2 === 1 ? ['kafkajs', 'platformatic'] : ['platformatic', 'kafkajs'];
  for (const name of order) {
    const topic = await freshTopic(`${name}-${round}`);
    say(`round ${round}: ${name} produces ${N} records to ${topic}`);
    const produceMs = await clients[name].produce(topic);
    topicsBy[name] ??= topic;
    rows.push({ round, client: name, what: 'produce', ms: produceMs });
  }
  // Each client reads the topic the other one wrote in this round.
  for (const name of order) {
    const other = name === 'kafkajs' ? 'platformatic' : 'kafkajs';
    const topic = `${prefix}${other}-${round}`;
    say(`round ${round}: ${name} consumes ${topic}`);
    const { joinMs, readMs, seen } = await clients[name].consume(topic);
    rows.push({ round, client: name, what: 'consume', ms: readMs, joinMs, seen, topic });
  }
}

// Compatibility, on round 1: partitions per key and bytes per record, across the two clients.
const byKey = (seen) => {
  const m = new Map();
  for (const s of seen) {
    const p = m.get(s.key);
    if (p !== undefined && p !== s.partition) m.set(s.key, -1);
    else m.set(s.key, s.partition);
  }
  return m;
};
const readOfKjs = rows.find(
  (r) => r.round === 1 && r.client === 'platformatic' && r.what === 'consume',
);
const readOfPlt = rows.find((r) => r.round === 1 && r.client === 'kafkajs' && r.what === 'consume');
const kjsPartitions = byKey(readOfKjs.seen); // records kafkajs produced, as platformatic read them
const pltPartitions = byKey(readOfPlt.seen); // records platformatic produced, as kafkajs read them
let samePartition = 0;
for (const [key, p] of kjsPartitions) if (p >= 0 && pltPartitions.get(key) === p) samePartition++;
const expected = new Set(records.map((r) => r.value.toString('base64')));
const bytesEqual = (seen) =>
  new Set(seen.map((s) => s.value.toString('base64'))).size === N &&
  seen.every(
    (s) => expected.has(s.value.toString('base64')) && s.contentType === header['content-type'],
  );

await admin.disconnect();

const f0 = (x) => Math.round(x).toLocaleString('en-US');
const lines = [];
lines.push(
  `Command: \`npm run bench:kafka-clients\` (N=${N}, ${ROUNDS} rounds, batches of ${BATCH}, ${PARTITIONS} partitions), ${new Date().toISOString().slice(0, 16)}Z.`,
);
lines.push(
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; one local broker (SASL/SCRAM-SHA-512, ACLs), kafkajs ${kjsVersion}, @platformatic/kafka ${pltVersion}. Records: ${f0(recordBytes)} bytes on average (signed envelopes).`,
);
lines.push('');
lines.push('| round | client | produce records/s | consume records/s | consumer join ms |');
lines.push('| ----- | ------ | ----------------- | ----------------- | ---------------- |');
for (let round = 1; round <= ROUNDS; round++) {
  for (const name of Object.keys(clients)) {
    const p = rows.find((r) => r.round === round && r.client === name && r.what === 'produce');
    const c = rows.find((r) => r.round === round && r.client === name && r.what === 'consume');
    lines.push(
      `| ${round} | ${name} | ${f0((N / p.ms) * 1000)} | ${f0((N / c.ms) * 1000)} | ${f0(c.joinMs)} |`,
    );
  }
}
lines.push('');
lines.push(
  `Same partition for a key with both producers: ${samePartition} of ${kjsPartitions.size} keys. ` +
    `platformatic read kafkajs' records byte for byte with the content-type header: ${bytesEqual(readOfKjs.seen) ? 'yes' : 'NO'}; ` +
    `kafkajs read platformatic's: ${bytesEqual(readOfPlt.seen) ? 'yes' : 'NO'}.`,
);
console.log(lines.join('\n'));
process.exit(0);
