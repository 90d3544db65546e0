// `npm run bench:anomaly`: usage events per second the anomaly app processes with every rule on,
// side by side in the same run with a raw baseline: a kafkajs consumer that reads and decodes the
// same records (contracts' decodeEvent) and does nothing else. Also the latency from a use to its
// finding (anomaly.detected's LogAppendTime) and from that use to the token being inactive at
// introspection (impossible-travel with action revoke). Issuance, revocation and anomaly run as
// real processes on the local Kafka and PostgreSQL (fresh database and topics). Prints Markdown.
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { root, say } from '../scripts/lib.mjs';
import { percentile, sleep, startBenchSystem } from './harness.mjs';

const N = Number(process.env.BENCH_EVENTS ?? 20000);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 500);
const REVOKE_SAMPLES = Number(process.env.BENCH_REVOKE_SAMPLES ?? 30);
const BATCH = 500;

const require = createRequire(import.meta.url);
const dist = (...p) => require(path.join(root, ...p));
const {
  TOPICS,
  EventVerifier,
  buildEvent,
  cloudEventHeaders,
  encodeEvent,
  partitionKey,
  topicName,
  decodeEvent,
  uuidv7,
} = dist('packages/contracts/dist/index.js');
const { createKafka, createEventProducer } = dist('packages/messaging/dist/index.js');

const ports = { issuance: 14101, revocation: 14102, anomaly: 14103 };
const system = await startBenchSystem({
  apps: ports,
  env: { SPRAWL_SWEEP_INTERVAL_MS: '3600000' },
});
const prefix = system.env.TOPIC_PREFIX;
const auth = { authorization: `Bearer ${system.rootToken}`, 'content-type': 'application/json' };
const kafka = createKafka({ brokers: system.env.KAFKA_BROKERS, clientId: 'bench-anomaly' });
const producer = createEventProducer(kafka);
const db = new pg.Client({ connectionString: system.dbUrl });
const f0 = (x) => Math.round(x).toLocaleString('en-US');
const f1 = (x) => x.toFixed(1);

async function send(topic, events) {
  for (let i = 0; i < events.length; i += BATCH) {
    await producer.send({
      topic: topicName(topic, prefix),
      acks: -1,
      messages: events.slice(i, i + BATCH).map((e) => ({
        key: partitionKey(e),
        value: encodeEvent(e, { signingKey: system.signingKey }),
        headers: cloudEventHeaders(),
      })),
    });
  }
}

const processed = async () =>
  Number(
    (await db.query("SELECT count(*) AS n FROM anomaly.inbox WHERE consumer = 'detector'")).rows[0]
      .n,
  );

try {
  await producer.connect();
  await db.connect();
  const now = Date.now();
  // Tokens the inventory knows (issued events), then N uses spread over them: several rules see
  // state on every use (new network, rate spike, scope probing, dormant, travel).
  const tokenIds = Array.from({ length: TOKENS }, (_, i) => uuidv7(now - 3_600_000 + i));
  const issued = tokenIds.map((tokenId) =>
    buildEvent({
      type: 'tokenledger.token.issued.v1',
      source: '/tokenledger/bench',
      actor: 'system',
      data: {
        tokenId,
        prefix: 'tlk_live_Bnch',
        owner: { type: 'service', id: 'bench' },
        name: 'bench',
        scopes: ['things:read'],
        labels: {},
        issuedAt: new Date(now - 3_600_000).toISOString(),
        expiresAt: new Date(now + 86_400_000).toISOString(),
      },
    }),
  );
  await send(TOPICS.lifecycle, issued);
  while ((await processed()) < TOKENS) await sleep(100);
  const base = await processed();
  const uses = Array.from({ length: N }, (_, i) =>
    buildEvent({
      type: 'tokenledger.token.used.v1',
      source: '/tokenledger/bench',
      actor: 'service:gateway',
      data: {
        tokenId: tokenIds[i % TOKENS],
        service: 'gateway',
        operation: 'GET /v1/things',
        ip: `10.0.${(i >> 8) & 255}.${i & 255}`,
        country: 'FR',
        scopesRequested: ['things:read'],
        outcome: 'accepted',
        at: new Date(now - 60_000 + Math.floor((i * 50_000) / N)).toISOString(),
      },
    }),
  );
  say(`producing ${N} usage events for ${TOKENS} tokens`);
  await send(TOPICS.usage, uses);

  // The app: from its first processed use to its last (polled every 20 ms).
  let first;
  let last;
  for (;;) {
    const n = (await processed()) - base;
    const t = performance.now();
    if (n > 0 && first === undefined) first = { n, t };
    if (n >= N) {
      last = t;
      break;
    }
    await sleep(20);
  }
  const appRate = ((N - first.n) / (last - first.t)) * 1000;
  // What the rules found in those uses: each finding is a row, an outbox event and a signature.
  const found = (
    await db.query(
      'SELECT rule, count(*)::int AS n FROM anomaly.anomalies GROUP BY rule ORDER BY rule',
    )
  ).rows;

  // The baseline: the same records read and decoded, nothing else. Then the same again with
  // each record's signature checked, as every consumer of a signed topic must (issue 15): the
  // ceiling that verification alone puts on any consumer.
  const verifier = system.signers ? new EventVerifier(system.signers) : undefined;
  const readAll = async (check) => {
    const consumer = kafka.consumer({
      groupId: `bench-raw-${check ? 'verify-' : ''}${Date.now()}`,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: topicName(TOPICS.usage, prefix), fromBeginning: true });
    let from;
    let to;
    let counted = 0;
    await new Promise((resolve) => {
      void consumer.run({
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          from ??= performance.now();
          for (const m of batch.messages) {
            const r = decodeEvent(m.value);
            if (r.ok && (!check || verifier.verify(r.value).ok)) counted += 1;
          }
          if (counted >= N) {
            to = performance.now();
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    return (N / (to - from)) * 1000;
  };
  const rawRate = await readAll(false);
  const verifyRate = verifier ? await readAll(true) : undefined;

  // Latency: impossible-travel with action revoke, on real tokens issued through the API.
  const put = await fetch(`${system.url('anomaly')}/v1/anomaly-rules/impossible-travel`, {
    method: 'PUT',
    headers: auth,
    body: JSON.stringify({ action: 'revoke' }),
  });
  if (put.status !== 200) throw new Error(`rule update ${put.status}`);
  const anomalies = kafka.consumer({ groupId: `bench-anom-${Date.now()}` });
  const findingAt = new Map();
  await anomalies.connect();
  await anomalies.subscribe({ topic: topicName(TOPICS.anomalies, prefix), fromBeginning: true });
  void anomalies.run({
    eachMessage: async ({ message }) => {
      const r = decodeEvent(message.value);
      if (r.ok && r.event.data.rule === 'impossible-travel')
        findingAt.set(r.event.data.tokenId, Number(message.timestamp));
    },
  });
  const toFinding = [];
  const toInactive = [];
  for (let i = 0; i < REVOKE_SAMPLES; i++) {
    const res = await fetch(`${system.url('issuance')}/v1/tokens`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        owner: { type: 'service', id: 'bench-travel' },
        name: 'travel',
        scopes: ['things:read'],
        ttlSeconds: 3600,
      }),
    });
    const t = await res.json();
    // Reported by the token owner's own service (an SDK reporter's source): only such usage
    // reports may trigger an automatic revoke.
    const use = (country) =>
      buildEvent({
        type: 'tokenledger.token.used.v1',
        source: '/services/bench-travel',
        actor: 'service:bench-travel',
        data: {
          tokenId: t.tokenId,
          service: 'bench-travel',
          operation: 'GET /v1/things',
          ip: '10.9.9.9',
          country,
          scopesRequested: ['things:read'],
          outcome: 'accepted',
          at: new Date().toISOString(),
        },
      });
    await send(TOPICS.usage, [use('FR')]);
    await sleep(50);
    const trigger = use('NZ');
    const sentAt = Date.now();
    await send(TOPICS.usage, [trigger]);
    for (;;) {
      const r = await fetch(`${system.url('revocation')}/v1/introspect`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: t.token }).toString(),
      });
      const a = await r.json();
      if (a.active === false) break;
      if (Date.now() - sentAt > 30_000) throw new Error('token still active after 30 s');
      await sleep(5);
    }
    toInactive.push(Date.now() - sentAt);
    while (!findingAt.has(t.tokenId)) await sleep(5);
    toFinding.push(findingAt.get(t.tokenId) - sentAt);
  }
  await anomalies.disconnect();
  const s = (xs) => [...xs].sort((a, b) => a - b);
  const fin = s(toFinding);
  const ina = s(toInactive);
  const when = new Date().toISOString().slice(0, 16);
  console.log(`
Run: \`npm run bench:anomaly\` (${N} usage events over ${TOKENS} tokens, every rule on; ${REVOKE_SAMPLES} revocation samples), ${when}Z.
Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; Kafka, PostgreSQL, the apps and the load share it.

| consumer | usage events/s |
| --- | --- |
| raw baseline: kafkajs, read + decodeEvent only | ${f0(rawRate)} |
| raw baseline + signature check: read + decodeEvent + EventVerifier.verify | ${verifyRate === undefined ? 'n/a (BENCH_EVENT_SIGNING=off)' : f0(verifyRate)} |
| anomaly app: every rule, detector state + findings in PostgreSQL | ${f0(appRate)} |

Anomaly / baseline: ${(appRate / rawRate).toFixed(2)}${verifyRate === undefined ? '' : `; anomaly / baseline with signature check: ${(appRate / verifyRate).toFixed(2)}`}.

Findings in those uses: ${found.map((r) => `${r.rule} ${r.n}`).join(', ') || 'none'}.

| latency from the triggering use (ms) | p50 | p99 | max |
| --- | --- | --- | --- |
| use -> anomaly.detected on the anomalies topic | ${f1(percentile(fin, 50))} | ${f1(percentile(fin, 99))} | ${f1(fin[fin.length - 1])} |
| use -> token inactive at introspection | ${f1(percentile(ina, 50))} | ${f1(percentile(ina, 99))} | ${f1(ina[ina.length - 1])} |
`);
} finally {
  await producer.disconnect().catch(() => {});
  await db.end().catch(() => {});
  await system.stop();
}
