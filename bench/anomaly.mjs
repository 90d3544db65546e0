// `npm run bench:anomaly`: the anomaly app's detection rate, with every rule on, side by side in
// the same run with a raw baseline (a kafkajs consumer that reads and decodes the same records and
// does nothing else), and the latency of the path an attack takes: a use that fires a rule -> the
// finding -> the token inactive at introspection (the rule's action is revoke).
//
// 1. issuance and revocation start (bench/harness.mjs); BENCH_TOKENS real tokens are issued.
// 2. BENCH_EVENTS token.used events for them are produced to tokens.usage before any measurement
//    (ordinary use: the same network and country per token, minutes apart).
// 3. (a) the raw consumer reads and decodes them: records/s from its first batch to the last.
// 4. The anomaly app starts on the same topics (a new consumer group, from the beginning): records/s
//    from its first committed offset to all of tokens.usage committed.
// 5. BENCH_TRIALS attacks, one at a time, on tokens not used before: a use from DE, then one from
//    BR a minute ago (impossible travel, action revoke). Timed from the trigger's acknowledged
//    produce to the finding (GET /v1/anomalies) and to `active: false` (POST /v1/introspect).
// Prints a Markdown block for bench/RESULTS.md.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { root, say } from '../scripts/lib.mjs';
import { percentile, sleep, startBenchSystem } from './harness.mjs';

const N = Number(process.env.BENCH_EVENTS ?? 30000);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 200);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
const PRODUCE_BATCH = 500;

const require = createRequire(import.meta.url);
const dist = (...p) => require(path.join(root, ...p));
const contracts = dist('packages/contracts/dist/index.js');
const messaging = dist('packages/messaging/dist/index.js');
const { TOPICS, buildEvent, encodeEvent, partitionKey, topicName, decodeEvent } = contracts;
const { createKafka, createEventProducer } = messaging;

const loadBefore = os.loadavg();
const ports = { issuance: 17201, revocation: 17202 };
const anomalyPort = 17203;
const system = await startBenchSystem({ apps: ports });
const prefix = system.env.TOPIC_PREFIX;
const usageTopic = topicName(TOPICS.usage, prefix);
// As the admin principal (startBenchSystem put it in the environment).
const kafka = createKafka({ brokers: system.env.KAFKA_BROKERS, clientId: 'bench-anomaly' });
const auth = { authorization: `Bearer ${system.rootToken}` };
let anomaly;

async function cleanup() {
  if (anomaly && anomaly.exitCode === null && anomaly.signalCode === null) {
    const exited = new Promise((r) => anomaly.once('exit', r));
    anomaly.kill('SIGTERM');
    await exited;
  }
  const admin = kafka.admin();
  try {
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  } catch (error) {
    say(`could not delete the bench topics: ${error}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  await system.stop();
}

async function issue(i) {
  const res = await fetch(`${system.url('issuance')}/v1/tokens`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      owner: { type: 'service', id: `bench-${i % 10}` },
      name: `anomaly-bench-${i}`,
      scopes: ['things:read'],
      ttlSeconds: 86400,
    }),
  });
  if (!res.ok) throw new Error(`issue: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

function used(tokenId, at, extra = {}) {
  return buildEvent({
    type: 'tokenledger.token.used.v1',
    source: '/tokenledger/bench',
    actor: 'service:gateway',
    data: {
      tokenId,
      service: 'gateway',
      operation: 'GET /v1/things',
      ip: '10.1.2.3',
      country: 'DE',
      scopesRequested: ['things:read'],
      outcome: 'accepted',
      at,
      ...extra,
    },
  });
}

const message = (event) => ({
  key: partitionKey(event),
  value: encodeEvent(event),
  headers: { 'content-type': 'application/cloudevents+json' },
});

async function committedOn(admin, groupId) {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [usageTopic] });
  return (entry?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
}

const results = {};
try {
  // 1. Tokens: BENCH_TOKENS for the stream, BENCH_TRIALS more for the attacks.
  say(`issuing ${TOKENS + TRIALS} tokens`);
  const tokens = [];
  for (let i = 0; i < TOKENS + TRIALS; i++) tokens.push(await issue(i));
  const streamTokens = tokens.slice(0, TOKENS);
  const attackTokens = tokens.slice(TOKENS);

  // 2. The stream: per token, uses a minute apart ending now (in time order per token).
  say(`producing ${N} token.used events to ${usageTopic}`);
  const producer = createEventProducer(kafka);
  await producer.connect();
  const perToken = Math.ceil(N / TOKENS);
  const start = Date.now() - perToken * 60_000;
  for (let from = 0; from < N; from += PRODUCE_BATCH) {
    const messages = [];
    for (let i = from; i < Math.min(N, from + PRODUCE_BATCH); i++) {
      const t = streamTokens[i % TOKENS];
      const at = new Date(start + Math.floor(i / TOKENS) * 60_000).toISOString();
      messages.push(message(used(t.tokenId, at)));
    }
    await producer.send({ topic: usageTopic, acks: -1, messages });
  }

  // 3. (a) Raw consumer: reads and decodes the same records, nothing else.
  say('(a) raw consumer: read + decode');
  {
    const consumer = kafka.consumer({
      groupId: `${prefix}bench-raw`,
      allowAutoTopicCreation: false,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [usageTopic], fromBeginning: true });
    let seen = 0;
    let first;
    let firstBatch = 0;
    let last;
    let bad = 0;
    const done = new Promise((resolve) => {
      void consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 3,
        eachBatch: async ({ batch }) => {
          if (first === undefined && batch.messages.length > 0) {
            first = performance.now();
            firstBatch = batch.messages.length;
          }
          for (const m of batch.messages) if (!decodeEvent(m.value).ok) bad += 1;
          seen += batch.messages.length;
          if (seen >= N && last === undefined) {
            last = performance.now();
            resolve();
          }
        },
      });
    });
    await Promise.race([
      done,
      sleep(300_000).then(() => {
        throw new Error(`raw consumer saw ${seen}/${N}`);
      }),
    ]);
    await consumer.disconnect();
    if (bad > 0) throw new Error(`${bad} records did not decode`);
    results.raw = {
      seconds: (last - first) / 1000,
      rate: (N - firstBatch) / ((last - first) / 1000),
    };
  }

  // 4. The anomaly app, all rules on (impossible-travel's action set to revoke for step 5).
  say('anomaly: detecting');
  {
    const { TOKEN_PEPPER: _pepper, ...env } = system.env;
    const output = [];
    anomaly = spawn(process.execPath, [path.join(root, 'apps', 'anomaly', 'dist', 'main.js')], {
      env: {
        ...env,
        PORT: String(anomalyPort),
        ANOMALY_RULES: JSON.stringify({ 'impossible-travel': { action: 'revoke' } }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    anomaly.stdout.on('data', (c) => output.push(c.toString()));
    anomaly.stderr.on('data', (c) => output.push(c.toString()));
    const admin = kafka.admin();
    await admin.connect();
    let groupId;
    let firstAt;
    let firstCount = 0;
    let doneAt;
    const deadline = Date.now() + 900_000;
    while (doneAt === undefined) {
      if (anomaly.exitCode !== null || anomaly.signalCode !== null)
        throw new Error(`anomaly exited:\n${output.join('').slice(-3000)}`);
      if (Date.now() > deadline) throw new Error('anomaly did not finish in time');
      groupId ??= (await admin.listGroups()).groups
        .map((g) => g.groupId)
        .find((g) => g === `${prefix}tokenledger-anomaly`);
      const n = groupId ? await committedOn(admin, groupId) : 0;
      const now = performance.now();
      if (n > 0 && firstAt === undefined) {
        firstAt = now;
        firstCount = n;
      }
      if (n >= N) doneAt = now;
      else await sleep(100);
    }
    await admin.disconnect();
    results.anomaly = {
      seconds: (doneAt - firstAt) / 1000,
      rate: (N - firstCount) / ((doneAt - firstAt) / 1000),
      firstCount,
    };
  }

  // 5. Attacks, one at a time.
  say(`${TRIALS} attacks: use -> finding -> inactive`);
  const toFinding = [];
  const toInactive = [];
  const findingToInactive = [];
  for (const t of attackTokens) {
    const minute = 60_000;
    await producer.send({
      topic: usageTopic,
      acks: -1,
      messages: [message(used(t.tokenId, new Date(Date.now() - 30 * minute).toISOString()))],
    });
    await producer.send({
      topic: usageTopic,
      acks: -1,
      messages: [
        message(
          used(t.tokenId, new Date(Date.now() - minute).toISOString(), {
            ip: '198.51.100.7',
            country: 'BR',
          }),
        ),
      ],
    });
    const sentAt = performance.now();
    let foundAt;
    let inactiveAt;
    const deadline = Date.now() + 30_000;
    while (inactiveAt === undefined && Date.now() < deadline) {
      if (foundAt === undefined) {
        const r = await fetch(`http://127.0.0.1:${anomalyPort}/v1/anomalies?tokenId=${t.tokenId}`, {
          headers: auth,
        });
        const body = r.status === 200 ? await r.json() : { anomalies: [] };
        if (body.anomalies.some((a) => a.rule === 'impossible-travel')) foundAt = performance.now();
      }
      const i = await fetch(`${system.url('revocation')}/v1/introspect`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: t.token }).toString(),
      });
      if (i.status === 200 && (await i.json()).active === false) inactiveAt = performance.now();
      else await sleep(10);
    }
    if (inactiveAt === undefined) throw new Error(`token ${t.tokenId} still active after 30 s`);
    foundAt ??= inactiveAt;
    toFinding.push(foundAt - sentAt);
    toInactive.push(inactiveAt - sentAt);
    findingToInactive.push(inactiveAt - foundAt);
  }
  await producer.disconnect();
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] };
  };
  results.toFinding = stats(toFinding);
  results.toInactive = stats(toInactive);
  results.findingToInactive = stats(findingToInactive);
} finally {
  await cleanup();
}

const f0 = (x) => Math.round(x).toLocaleString('en-US');
const f2 = (x) => x.toFixed(2);
const ratio = results.anomaly.rate / results.raw.rate;
const lines = [
  `### bench:anomaly, ${new Date().toISOString()}`,
  '',
  `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average before ${loadBefore
    .map((l) => l.toFixed(2))
    .join(' ')}; Node ${process.version}.`,
  `Command: \`BENCH_EVENTS=${N} BENCH_TOKENS=${TOKENS} BENCH_TRIALS=${TRIALS} npm run bench:anomaly\``,
  '',
  '| consumer of the same records | records/s | seconds |',
  '| --- | --- | --- |',
  `| (a) raw: read + decode, nothing else | ${f0(results.raw.rate)} | ${f2(results.raw.seconds)} |`,
  `| anomaly app, every rule on | ${f0(results.anomaly.rate)} | ${f2(results.anomaly.seconds)} |`,
  '',
  `Anomaly / raw: **${f2(ratio)}** (goal >= 0.3).`,
  '',
  `| ${TRIALS} attacks (impossible travel, action revoke) | p50 ms | p99 ms | max ms |`,
  '| --- | --- | --- | --- |',
  `| triggering use acknowledged -> finding listed | ${f0(results.toFinding.p50)} | ${f0(results.toFinding.p99)} | ${f0(results.toFinding.max)} |`,
  `| finding listed -> token inactive | ${f0(results.findingToInactive.p50)} | ${f0(results.findingToInactive.p99)} | ${f0(results.findingToInactive.max)} |`,
  `| triggering use acknowledged -> token inactive | ${f0(results.toInactive.p50)} | ${f0(results.toInactive.p99)} | ${f0(results.toInactive.max)} |`,
  '',
  `Token inactive p99: **${f0(results.toInactive.p99)} ms** (goal <= 2000).`,
];
process.stdout.write(`\n${lines.join('\n')}\n`);
