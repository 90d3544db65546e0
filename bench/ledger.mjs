// `npm run bench:ledger`: the ledger's sustained append rate (checkpoints on) side by side in the
// same run with (a) a kafkajs consumer that only reads the same records, (b) a plain multi-row
// insert of equally sized rows into PostgreSQL and (c) the plain audit table (the same records
// JSON-decoded into rows with a unique event-id index and the ledger's three query indexes);
// inclusion-proof latency on a log of >= 1M leaves (baseline: one indexed SELECT); `tokenledger
// verify` entries/s and peak RSS against plain SHA-256 of the same bytes (bench/verify.mjs); append
// with 1, 2 and 3 instances (bench/instances.mjs). Uses the local Kafka and PostgreSQL (started
// when missing), a fresh database and fresh
// topics; prints a Markdown block.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  benchSigning,
  build,
  ensureDependencies,
  infra,
  root,
  say,
  useKafkaAdmin,
} from '../scripts/lib.mjs';
import { benchTracingEnv, otlpSink } from './harness.mjs';
import { measureVerify, verifyReport } from './verify.mjs';
import { measureWitnessing, witnessingReport } from './witnessing.mjs';
import { instancesReport, measureInstances } from './instances.mjs';

const N = Number(process.env.BENCH_EVENTS ?? 30000);
const PROOF_LEAVES = Number(process.env.BENCH_PROOF_LEAVES ?? 1048576);
const PROOF_SAMPLES = Number(process.env.BENCH_PROOF_SAMPLES ?? 2000);
const VERIFY_ENTRIES = Number(process.env.BENCH_VERIFY_ENTRIES ?? 1000000);
const VERIFY_V1_ENTRIES = Number(process.env.BENCH_VERIFY_V1_ENTRIES ?? 20000);
const WITNESS_SECONDS = Number(process.env.BENCH_WITNESS_SECONDS ?? 60);
const PRODUCE_BATCH = 500;
const NODE_BATCH = 5000;

ensureDependencies();
build();
const require = createRequire(import.meta.url);
const {
  INSERT_BATCH,
  PLAIN_TABLE_DDL,
  plainInsertStatements,
  AUDIT_TABLE_DDL,
  auditInsert,
} = require('./plain-insert.cjs');
const dist = (...p) => require(path.join(root, ...p));
require(require.resolve('reflect-metadata', { paths: [path.join(root, 'apps', 'ledger')] }));
const infraModule = infra();
const { ensureInfrastructure, createDatabaseIfMissing, withDatabase } = infraModule;
const contracts = dist('packages/contracts/dist/index.js');
const messaging = dist('packages/messaging/dist/index.js');
const { TOPICS, buildEvent, cloudEventHeaders, encodeEvent, partitionKey, topicName, uuidv7 } =
  contracts;
const { createKafka, createEventProducer, provisionTopics } = messaging;
const core = dist('packages/ledger-core/dist/index.js');
const { leafHash, nodeHash, verifyInclusion, rangeHash, inclusionRanges } = core;
const { ProofService } = dist('apps/ledger/dist/services/proof.service.js');
const { LedgerRepository } = dist('apps/ledger/dist/repositories/ledger.repository.js');
const { Client } = require('pg');
const { DataSource } = require('typeorm');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const f0 = (x) => Math.round(x).toLocaleString('en-US');
const f2 = (x) => x.toFixed(2);

const stack = await ensureInfrastructure({ database: 'tokenledger_bench', log: say });
useKafkaAdmin(stack);
const dbName = `tl_bench_${randomBytes(4).toString('hex')}`;
await createDatabaseIfMissing(stack.adminDatabaseUrl, dbName);
const dbUrl = withDatabase(stack.adminDatabaseUrl, dbName);
const prefix = `bench${randomBytes(3).toString('hex')}.`;
const usageTopic = topicName(TOPICS.usage, prefix);
const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'bench-ledger' });
let ledger;

async function stopLedger() {
  if (ledger.exitCode !== null || ledger.signalCode !== null) return;
  const exited = new Promise((r) => ledger.once('exit', r));
  ledger.kill('SIGTERM');
  await exited;
}

async function cleanup() {
  say('cleaning up');
  if (ledger) await stopLedger();
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
  const c = new Client({ connectionString: stack.adminDatabaseUrl });
  await c.connect();
  await c
    .query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`)
    .catch((e) => say(`drop database failed: ${e}`));
  await c.end();
  await stack.stop();
}

/** Every perfect-subtree hash of a tree over `leafHashes` (one Buffer of 32-byte hashes per level). */
function buildLevels(level0, count) {
  const levels = [level0];
  for (let width = count; width >= 2; width = Math.floor(width / 2)) {
    const below = levels[levels.length - 1];
    const n = Math.floor(width / 2);
    const out = Buffer.allocUnsafe(n * 32);
    for (let i = 0; i < n; i++)
      nodeHash(below.subarray(i * 64, i * 64 + 32), below.subarray(i * 64 + 32, i * 64 + 64)).copy(
        out,
        i * 32,
      );
    levels.push(out);
  }
  return levels;
}
const nodeOf = (levels) => (n) => levels[n.level].subarray(n.index * 32, n.index * 32 + 32);

const results = {};
try {
  // 1. Topics.
  const admin = kafka.admin();
  await admin.connect();
  await provisionTopics(admin, { prefix, partitions: 3 });
  await admin.disconnect();

  // 2. Produce N events before any measurement.
  say(`producing ${N} token.used events to ${usageTopic}`);
  const producer = createEventProducer(kafka);
  await producer.connect();
  const tokenIds = Array.from({ length: 1000 }, () => uuidv7());
  let produced = 0;
  let producedBytes = 0;
  const producedValues = [];
  while (produced < N) {
    const count = Math.min(PRODUCE_BATCH, N - produced);
    const messages = Array.from({ length: count }, (_, k) => {
      const event = buildEvent({
        type: 'tokenledger.token.used.v1',
        source: '/tokenledger/bench',
        actor: 'service:bench',
        data: {
          tokenId: tokenIds[(produced + k) % tokenIds.length],
          prefix: 'tlk_live_AbC1',
          service: 'bench',
          operation: 'GET /x',
          ip: '10.0.0.1',
          scopesRequested: [],
          outcome: 'accepted',
          at: new Date().toISOString(),
        },
      });
      const value = encodeEvent(event, benchSigning().encodeOptions);
      producedBytes += value.length;
      producedValues.push(value);
      return { key: partitionKey(event), value, headers: cloudEventHeaders() };
    });
    await producer.send({ topic: usageTopic, acks: -1, messages });
    produced += count;
  }
  await producer.disconnect();
  results.recordBytes = producedBytes / N;

  // 3. (a) Raw kafkajs consumer: reads the N records and does nothing else.
  say('(a) raw kafkajs consumer');
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
    const runAt = performance.now();
    const done = new Promise((resolve) => {
      void consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 3,
        eachBatch: async ({ batch }) => {
          if (first === undefined && batch.messages.length > 0) {
            first = performance.now();
            firstBatch = batch.messages.length;
          }
          seen += batch.messages.length;
          if (seen >= N && last === undefined) {
            last = performance.now();
            resolve();
          }
        },
      });
    });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`raw consumer saw ${seen}/${N} records`)), 300_000);
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
    await consumer.disconnect();
    // Like the ledger's figure: records after the first delivered batch, over the time since it.
    results.raw = {
      seconds: (last - first) / 1000,
      rate: (N - firstBatch) / ((last - first) / 1000),
      firstCount: firstBatch,
      fromRun: (last - runAt) / 1000,
    };
  }

  // 4. The ledger: spawn, poll the committed leaves, check checkpoints.
  say('ledger: appending');
  {
    const port = await new Promise((resolve) => {
      const srv = require('node:net')
        .createServer()
        .listen(0, '127.0.0.1', () => {
          const p = srv.address().port;
          srv.close(() => resolve(p));
        });
    });
    const output = [];
    const spawnedAt = performance.now();
    // BENCH_LEDGER_NODE_ARGS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, profiles the ledger process.
    const nodeArgs = (process.env.BENCH_LEDGER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    ledger = spawn(
      process.execPath,
      [...nodeArgs, path.join(root, 'apps', 'ledger', 'dist', 'main.js')],
      {
        env: {
          ...process.env,
          DATABASE_URL: dbUrl,
          KAFKA_BROKERS: stack.kafkaBrokers,
          TOPIC_PREFIX: prefix,
          PORT: String(port),
          TOKENLEDGER_INTERNAL_SECRET: randomBytes(32).toString('base64url'),
          LEDGER_SIGNING_KEY: randomBytes(32).toString('base64'),
          REVOCATION_URL: 'http://127.0.0.1:9',
          CHECKPOINT_INTERVAL_MS: '1000',
          LOG_LEVEL: 'warn',
          ...benchSigning().ledgerEnv,
          // BENCH_TRACING=on: the ledger exports its traces to a counting sink in this process.
          ...(await benchTracingEnv()),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    ledger.stdout.on('data', (c) => output.push(c.toString()));
    ledger.stderr.on('data', (c) => output.push(c.toString()));
    const pg = new Client({ connectionString: dbUrl });
    await pg.connect();
    let firstAt;
    let firstCount = 0;
    let doneAt;
    const deadline = Date.now() + 900_000;
    while (doneAt === undefined) {
      if (ledger.exitCode !== null || ledger.signalCode !== null)
        throw new Error(
          `ledger exited with ${ledger.exitCode ?? ledger.signalCode}:\n${output.join('').slice(-3000)}`,
        );
      if (Date.now() > deadline)
        throw new Error(
          `ledger did not commit ${N} leaves in time:\n${output.join('').slice(-3000)}`,
        );
      let n = 0;
      try {
        const { rows } = await pg.query(
          'SELECT coalesce(sum(size), 0)::bigint AS n FROM ledger.logs WHERE topic = $1',
          [usageTopic],
        );
        n = Number(rows[0].n);
      } catch {
        // schema not migrated yet
      }
      const now = performance.now();
      if (n > 0 && firstAt === undefined) {
        firstAt = now;
        firstCount = n;
      }
      if (n >= N) doneAt = now;
      else await sleep(100);
    }
    const appendSeconds = (doneAt - firstAt) / 1000;
    // Committed means findable: the query columns are written in the append's transaction. Checked
    // (untimed) through the repository method behind GET /v1/ledger/events.
    {
      const ds = new DataSource({ type: 'postgres', url: dbUrl, schema: 'ledger' });
      await ds.initialize();
      const found = await new LedgerRepository(ds, { DB_SCHEMA: 'ledger' }).findEvents({
        type: 'tokenledger.token.used.v1',
        limit: N + 1,
      });
      await ds.destroy();
      if (found.length !== N)
        throw new Error(`/v1/ledger/events would find ${found.length} of ${N} events`);
    }
    results.ledger = {
      seconds: appendSeconds,
      rate: (N - firstCount) / appendSeconds,
      firstCount,
      fromSpawn: (doneAt - spawnedAt) / 1000,
    };
    // Checkpoints on: each usage log gets a checkpoint of its final size within a few seconds.
    let checkpointLag;
    for (let i = 0; i < 100; i++) {
      const { rows } = await pg.query(
        `SELECT l.log_id, l.size, (SELECT max(c.size) FROM ledger.checkpoints c WHERE c.log_id = l.log_id) AS cp
           FROM ledger.logs l WHERE l.topic = $1 AND l.size > 0`,
        [usageTopic],
      );
      if (rows.length > 0 && rows.every((r) => r.cp !== null && Number(r.cp) === Number(r.size))) {
        checkpointLag = (performance.now() - doneAt) / 1000;
        results.logs = rows.map((r) => `${r.log_id}: ${r.size}`).join(', ');
        break;
      }
      await sleep(100);
    }
    if (checkpointLag === undefined)
      throw new Error('no checkpoint of the final size for every usage log within 10 s');
    results.checkpointLag = checkpointLag;
    const { rows: cps } = await pg.query(
      'SELECT count(*)::int AS n FROM ledger.checkpoints c JOIN ledger.logs l USING (log_id) WHERE l.topic = $1',
      [usageTopic],
    );
    results.checkpoints = cps[0].n;
    const { rows: avg } = await pg.query(
      'SELECT avg(length(leaf))::float8 AS a FROM ledger.leaves',
    );
    results.leafBytes = avg[0].a;
    await stopLedger();

    // 5. (b) Plain multi-row inserts of equally sized rows, one transaction per statement.
    say('(b) plain multi-row insert');
    const payloadSize = Math.round(results.leafBytes);
    await pg.query(PLAIN_TABLE_DDL);
    const statements = plainInsertStatements(N, payloadSize);
    const t0 = performance.now();
    for (const s of statements) await pg.query(s.text, s.values);
    const insertSeconds = (performance.now() - t0) / 1000;
    results.insert = { seconds: insertSeconds, rate: N / insertSeconds, payloadSize };

    // 5c. The plain audit table: the same records, decoded and inserted with the query indexes.
    say('(c) plain audit table');
    await pg.query(AUDIT_TABLE_DDL);
    const t1 = performance.now();
    await auditInsert((text, values) => pg.query(text, values), producedValues);
    const auditSeconds = (performance.now() - t1) / 1000;
    const { rows: audited } = await pg.query('SELECT count(*)::int AS n FROM public.bench_audit');
    if (audited[0].n !== N) throw new Error(`(c) inserted ${audited[0].n} of ${N} rows`);
    results.audit = { seconds: auditSeconds, rate: N / auditSeconds };
    await pg.end();
  }

  // 6. Inclusion-proof latency on a log of PROOF_LEAVES leaves, loaded directly into ledger.leaves
  // in the appender's storage layout: each row holds its leaf hash and the subtrees it completes.
  say(`proofs: building a log of ${PROOF_LEAVES} leaves`);
  {
    const logId = 'bench.proofs-0';
    const leafOf = (i) =>
      Buffer.from(
        `{"bench":${i},"pad":"${createHash('md5').update(String(i)).digest('hex').repeat(18)}"}`,
      );
    const level0 = Buffer.allocUnsafe(PROOF_LEAVES * 32);
    for (let i = 0; i < PROOF_LEAVES; i++) leafHash(leafOf(i)).copy(level0, i * 32);
    const levels = buildLevels(level0, PROOF_LEAVES);
    const rootHash = rangeHash([0, PROOF_LEAVES], nodeOf(levels), nodeHash);
    const subtreesOf = (i) => {
      const parts = [];
      for (let l = 1; (i + 1) % 2 ** l === 0; l++)
        parts.push(nodeOf(levels)({ level: l, index: (i + 1) / 2 ** l - 1 }));
      return Buffer.concat(parts);
    };
    const totalNodes = levels.reduce((a, lv) => a + lv.length / 32, 0);
    say(`proofs: loading ${PROOF_LEAVES} leaves (${totalNodes} tree nodes)`);
    // The ledger's own insert (LedgerRepository.insertLeaves), on a work list of [from, to) chunks
    // that two pooled connections load in parallel.
    const dataSource = new DataSource({ type: 'postgres', url: dbUrl, schema: 'ledger' });
    await dataSource.initialize();
    const repository = new LedgerRepository(dataSource, { DB_SCHEMA: 'ledger' });
    const chunks = [];
    for (let s = 0; s < PROOF_LEAVES; s += NODE_BATCH)
      chunks.push([s, Math.min(PROOF_LEAVES, s + NODE_BATCH)]);
    const loadStart = performance.now();
    await Promise.all(
      [0, 1].map(async () => {
        for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
          const rows = [];
          for (let i = chunk[0]; i < chunk[1]; i++) {
            const hash = level0.subarray(i * 32, i * 32 + 32);
            // Synthetic: the chain hash is not checked here, so the leaf hash stands in for it.
            rows.push({
              logId,
              index: i,
              offset: i,
              kind: 'rejected',
              leaf: leafOf(i),
              leafHash: hash,
              chainHash: hash,
              subtrees: subtreesOf(i),
            });
          }
          await repository.insertLeaves(dataSource.manager, logId, rows);
        }
      }),
    );
    const pg = new Client({ connectionString: dbUrl });
    await pg.connect();
    await pg.query(
      `INSERT INTO ledger.logs (log_id, topic, partition, size, root_hash, chain_head, next_offset) VALUES ($1, 'bench.proofs', 0, $2, $3, $4, $2)`,
      [logId, PROOF_LEAVES, rootHash, randomBytes(32)],
    );
    await pg.query('ANALYZE ledger.leaves');
    results.proofLoad = { nodes: totalNodes, seconds: (performance.now() - loadStart) / 1000 };

    const proofs = new ProofService(repository);
    const rnd = () => Math.floor(Math.random() * PROOF_LEAVES);
    say(`proofs: ${PROOF_SAMPLES} inclusion proofs`);
    for (let i = 0; i < 200; i++) await proofs.inclusion(logId, rnd(), PROOF_LEAVES);
    const lat = [];
    let verified = 0;
    for (let i = 0; i < PROOF_SAMPLES; i++) {
      const index = rnd();
      const t = performance.now();
      const proof = await proofs.inclusion(logId, index, PROOF_LEAVES);
      lat.push(performance.now() - t);
      if (i % 100 === 0) {
        const expectedLeaf = level0.subarray(index * 32, index * 32 + 32);
        const ok = verifyInclusion(proof.leafHash, index, PROOF_LEAVES, proof.hashes, rootHash);
        if (!ok.ok || !proof.leafHash.equals(expectedLeaf) || !proof.rootHash.equals(rootHash)) {
          throw new Error(
            `inclusion proof for ${index} does not verify: ${ok.ok ? 'leaf or root differs' : ok.error.message}`,
          );
        }
        verified += 1;
      }
    }
    await dataSource.destroy();
    lat.sort((a, b) => a - b);
    const raw = [];
    for (let i = 0; i < 200; i++)
      await pg.query('SELECT leaf_hash FROM ledger.leaves WHERE log_id = $1 AND idx = $2', [
        logId,
        rnd(),
      ]);
    for (let i = 0; i < PROOF_SAMPLES; i++) {
      const t = performance.now();
      await pg.query('SELECT leaf_hash FROM ledger.leaves WHERE log_id = $1 AND idx = $2', [
        logId,
        rnd(),
      ]);
      raw.push(performance.now() - t);
    }
    raw.sort((a, b) => a - b);
    await pg.end();
    results.proof = {
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      max: lat[lat.length - 1],
      verified,
      pathLength: inclusionRanges(0, PROOF_LEAVES).length,
    };
    results.select = { p50: pct(raw, 50), p99: pct(raw, 99), max: raw[raw.length - 1] };
  }

  // 7. `tokenledger verify` on a range bundle of VERIFY_ENTRIES entries (bench/verify.mjs).
  results.verify = await measureVerify({
    root,
    say,
    entries: VERIFY_ENTRIES,
    v1Entries: VERIFY_V1_ENTRIES,
  });

  // 8. Witnessing latency and CPU per checkpoint, baseline (no witness) and one local witness.
  say(`witnessing: ${WITNESS_SECONDS} s unwitnessed, then ${WITNESS_SECONDS} s with one witness`);
  results.witnessing = await measureWitnessing(
    {
      root,
      stack,
      infra: infraModule,
      contracts,
      messaging,
      core,
      createKafka,
      Client,
      cosignatureTable: 'cosignatures',
    },
    { seconds: WITNESS_SECONDS },
  );

  // 9. Append with 1, 2 and 3 ledger instances in one consumer group (bench/instances.mjs).
  results.instances = await measureInstances(
    { root, stack, infra: infraModule, contracts, messaging, createKafka, Client, say },
    {
      events: Number(process.env.BENCH_INSTANCES_EVENTS ?? 60000),
      partitions: Number(process.env.BENCH_INSTANCES_PARTITIONS ?? 6),
    },
  );

  // 10. Report.
  const r = results;
  const smaller = Math.min(r.raw.rate, r.insert.rate);
  const v = r.verify;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const env = `KAFKA_CLIENT=${process.env.KAFKA_CLIENT || 'kafkajs'} (the ledger's library), BENCH_EVENTS=${N}, BENCH_PROOF_LEAVES=${PROOF_LEAVES}, BENCH_PROOF_SAMPLES=${PROOF_SAMPLES}, BENCH_VERIFY_ENTRIES=${VERIFY_ENTRIES}, BENCH_WITNESS_SECONDS=${WITNESS_SECONDS}`;
  const out = [
    `Command: \`npm run bench:ledger\` (${env}); ${new Date().toISOString()}`,
    `Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; Kafka, PostgreSQL, the ledger and the bench client share the machine.`,
    '',
    `Append: ${N} token.used events (avg record ${f0(r.recordBytes)} B, avg leaf ${f0(r.leafBytes)} B) on 3 partitions, produced before measuring.`,
    '',
    '| path | events/s | seconds | notes |',
    '|---|---|---|---|',
    `| (a) kafkajs consumer, read only | ${f0(r.raw.rate)} | ${f2(r.raw.seconds)} | first batch (${r.raw.firstCount} records) to the ${N}-th record; ${f2(r.raw.fromRun)} s from run() incl. group join |`,
    `| (b) PostgreSQL multi-row INSERT, ${INSERT_BATCH} rows/statement, 1 tx/statement | ${f0(r.insert.rate)} | ${f2(r.insert.seconds)} | ${r.insert.payloadSize}-byte payload rows |`,
    `| (c) plain audit table: the records JSON-decoded into rows (record bytes + id, type, subject, actor, time), unique event-id index + 3 query indexes, ${INSERT_BATCH} rows/statement, 1 tx/statement | ${f0(r.audit.rate)} | ${f2(r.audit.seconds)} | decode + insert timed |`,
    `| ledger append (checkpoints every 1 s) | ${f0(r.ledger.rate)} | ${f2(r.ledger.seconds)} | first observed leaf (${r.ledger.firstCount} then) to all ${N} committed; ${f2(r.ledger.fromSpawn)} s from spawn |`,
    '',
    `Tracing (BENCH_TRACING) in the ledger: ${process.env.BENCH_TRACING === 'on' ? `on, ${otlpSink.requests} OTLP requests (${(otlpSink.bytes / 1e6).toFixed(1)} MB) received by the sink` : 'off (no OTEL_* variable: the SDK is not loaded)'}.`,
    '',
    `Ledger / (c): ${f2(r.ledger.rate / r.audit.rate)} (goal >= 0.6); ledger / (b): ${f2(r.ledger.rate / r.insert.rate)} (goal >= 0.35); ledger / min(a, b): ${f2(r.ledger.rate / smaller)}. Checkpoints: every usage log had a checkpoint of its final size ${f2(r.checkpointLag)} s after the last leaf (${r.checkpoints} checkpoints signed; logs ${r.logs}).`,
    '',
    `Inclusion proofs: log of ${PROOF_LEAVES.toLocaleString('en-US')} leaves of about 600 bytes (${r.proofLoad.nodes.toLocaleString('en-US')} tree nodes kept in the leaf rows, loaded in ${f2(r.proofLoad.seconds)} s), audit path ${r.proof.pathLength} hashes, ${PROOF_SAMPLES} sequential calls at random indexes after 200 warm-up calls.`,
    '',
    '| operation | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|',
    `| baseline: \`SELECT leaf_hash FROM ledger.leaves\` one row by primary key (pg Client) | ${f2(r.select.p50)} | ${f2(r.select.p99)} | ${f2(r.select.max)} |`,
    `| ProofService.inclusion (TypeORM, head + one read of the needed leaf rows) | ${f2(r.proof.p50)} | ${f2(r.proof.p99)} | ${f2(r.proof.max)} |`,
    '',
    `Inclusion p99: ${f2(r.proof.p99)} ms (goal < 10 ms); ${r.proof.verified} of the proofs (every 100th) checked with verifyInclusion against the computed root: all verified.`,
    '',
    ...verifyReport(v),
    '',
    ...witnessingReport(r.witnessing, f2),
    '',
    ...instancesReport(r.instances, f0, f2),
  ];
  process.stdout.write(`\n${out.join('\n')}\n`);
} finally {
  await cleanup();
}
