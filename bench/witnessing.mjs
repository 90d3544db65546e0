// The witnessing phase of `npm run bench:ledger`: from log growth to a checkpoint that covers it,
// signed only (baseline) and cosigned by one local witness, measured in the same run at the same
// event rate, with CHECKPOINT_INTERVAL_MS=1000. Also the CPU time per checkpoint of the ledger (and
// of the witness), from /proc, over the measured window.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { benchSigning } from '../scripts/lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime of a process in seconds (Linux /proc). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  return exited;
}

/** Spawns the witness on a free port and waits for its "witness listening" line. */
async function startWitness({ root, origin, logKey, stateDir }) {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'packages/witness/dist/main.js')], {
    env: {
      ...process.env,
      WITNESS_NAME: 'bench.witness.local',
      WITNESS_PORT: String(port),
      WITNESS_STATE_DIR: stateDir,
      WITNESS_LOGS: JSON.stringify([{ originPrefix: `${origin}/`, keys: [logKey] }]),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  const verifierKey = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`witness did not start:\n${output}`)), 20_000);
    const onData = (chunk) => {
      output.push(chunk.toString());
      for (const line of output.join('').split('\n')) {
        if (!line.includes('witness listening')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line).verifierKey);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`witness exited ${code}:\n${output.join('')}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/`, verifierKey };
}

/**
 * One mode: a fresh database and topics, the ledger (and a witness when `witnessed`), then
 * `seconds` of small batches of token.used events on one partition. For each batch, the latency
 * from the moment the log in PostgreSQL first holds the batch to the moment a checkpoint (baseline)
 * or a witness cosignature (witnessed) covers that size.
 */
async function measureMode(ctx, { witnessed, seconds }) {
  const { root, stack, infra, contracts, messaging, createKafka, Client } = ctx;
  const { TOPICS, buildEvent, cloudEventHeaders, encodeEvent, topicName, uuidv7 } = contracts;
  const dbName = `tl_bench_w_${randomBytes(4).toString('hex')}`;
  await infra.createDatabaseIfMissing(stack.adminDatabaseUrl, dbName);
  const dbUrl = infra.withDatabase(stack.adminDatabaseUrl, dbName);
  const prefix = `benchw${randomBytes(3).toString('hex')}.`;
  const usageTopic = topicName(TOPICS.usage, prefix);
  const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'bench-witnessing' });
  const origin = 'bench.tokenledger.local/ledger';
  const seed = randomBytes(32);
  const { signerFromSeed, verifierKey } = ctx.core;
  const logKey = verifierKey(origin, signerFromSeed(origin, seed).publicKey);
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'tl-bench-witness-'));
  let witness;
  let ledger;
  const pg = new Client({ connectionString: dbUrl });
  try {
    const admin = kafka.admin();
    await admin.connect();
    await messaging.provisionTopics(admin, { prefix, partitions: 1 });
    await admin.disconnect();
    if (witnessed) witness = await startWitness({ root, origin, logKey, stateDir });
    const port = await freePort();
    const output = [];
    ledger = spawn(process.execPath, [path.join(root, 'apps/ledger/dist/main.js')], {
      env: {
        ...process.env,
        DATABASE_URL: dbUrl,
        KAFKA_BROKERS: stack.kafkaBrokers,
        TOPIC_PREFIX: prefix,
        TOPIC_PARTITIONS: '1',
        PORT: String(port),
        TOKENLEDGER_INTERNAL_SECRET: randomBytes(32).toString('base64url'),
        LEDGER_ORIGIN: origin,
        LEDGER_SIGNING_KEY: seed.toString('base64'),
        REVOCATION_URL: 'http://127.0.0.1:9',
        CHECKPOINT_INTERVAL_MS: '1000',
        LOG_LEVEL: 'warn',
        ...benchSigning().ledgerEnv,
        ...(witness ? { LEDGER_WITNESSES: `${witness.verifierKey}@${witness.url}` } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    ledger.stdout.on('data', (c) => output.push(c.toString()));
    ledger.stderr.on('data', (c) => output.push(c.toString()));
    for (let i = 0; ; i++) {
      if (ledger.exitCode !== null) throw new Error(`ledger exited:\n${output.join('')}`);
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
      if (ready?.ok) break;
      if (i > 600) throw new Error(`ledger not ready in 60 s:\n${output.join('')}`);
      await sleep(100);
    }
    await pg.connect();
    const producer = messaging.createEventProducer(kafka);
    await producer.connect();
    const logId = `${usageTopic}-0`;
    const covered = witnessed
      ? `SELECT coalesce(max(size), 0)::bigint AS n FROM ledger.${ctx.cosignatureTable} WHERE log_id = $1`
      : 'SELECT coalesce(max(size), 0)::bigint AS n FROM ledger.checkpoints WHERE log_id = $1';
    const sizeOf = async () =>
      Number(
        (
          await pg.query(
            'SELECT coalesce(max(size), 0)::bigint AS n FROM ledger.logs WHERE log_id = $1',
            [logId],
          )
        ).rows[0]?.n ?? 0,
      );
    const coveredOf = async () => Number((await pg.query(covered, [logId])).rows[0]?.n ?? 0);

    const tokenId = uuidv7();
    const batches = []; // { size, grownAt, coveredAt }
    let sent = 0;
    let stopSending = false;
    // Sender: 10 events every 700 ms (not a multiple of the checkpoint interval).
    const sender = (async () => {
      while (!stopSending) {
        const messages = Array.from({ length: 10 }, () => {
          const event = buildEvent({
            type: 'tokenledger.token.used.v1',
            source: '/tokenledger/bench',
            actor: 'service:bench',
            data: {
              tokenId,
              prefix: 'tlk_live_AbC1',
              service: 'bench',
              operation: 'GET /x',
              ip: '10.0.0.1',
              scopesRequested: [],
              outcome: 'accepted',
              at: new Date().toISOString(),
            },
          });
          return {
            key: tokenId,
            value: encodeEvent(event, benchSigning().encodeOptions),
            headers: cloudEventHeaders(),
          };
        });
        await producer.send({ topic: usageTopic, acks: -1, messages });
        sent += messages.length;
        batches.push({ size: sent });
        await sleep(700);
      }
    })();
    // Warm-up: the first batch committed and covered, so the window starts in steady state.
    await sleep(3000);
    const cpuStart = {
      ledger: cpuSeconds(ledger.pid),
      witness: witness && cpuSeconds(witness.child.pid),
    };
    const checkpointsStart = Number(
      (
        await pg.query('SELECT count(*)::int AS n FROM ledger.checkpoints WHERE log_id = $1', [
          logId,
        ])
      ).rows[0].n,
    );
    const windowStart = batches.length;
    const windowEnd = performance.now() + seconds * 1000;
    // Poller: every 10 ms, when the log first holds each batch and when a checkpoint covers it.
    while (true) {
      const now = performance.now();
      if (now > windowEnd && !stopSending) {
        stopSending = true;
        await sender;
      }
      const [size, cov] = await Promise.all([sizeOf(), coveredOf()]);
      const at = performance.now();
      for (const b of batches) {
        if (b.grownAt === undefined && size >= b.size) b.grownAt = at;
        if (b.grownAt !== undefined && b.coveredAt === undefined && cov >= b.size) b.coveredAt = at;
      }
      const pending = batches.slice(windowStart).filter((b) => b.coveredAt === undefined);
      if (stopSending && pending.length === 0) break;
      if (stopSending && at > windowEnd + 30_000)
        throw new Error(
          `${pending.length} batches never covered:\n${output.join('').slice(-3000)}`,
        );
      await sleep(10);
    }
    const cpuEnd = {
      ledger: cpuSeconds(ledger.pid),
      witness: witness && cpuSeconds(witness.child.pid),
    };
    const checkpoints =
      Number(
        (
          await pg.query('SELECT count(*)::int AS n FROM ledger.checkpoints WHERE log_id = $1', [
            logId,
          ])
        ).rows[0].n,
      ) - checkpointsStart;
    await producer.disconnect();
    const lat = batches
      .slice(windowStart)
      .map((b) => b.coveredAt - b.grownAt)
      .sort((a, b) => a - b);
    return {
      samples: lat.length,
      p50: pct(lat, 50),
      p99: pct(lat, 99),
      max: lat[lat.length - 1],
      checkpoints,
      ledgerCpuPerCheckpointMs:
        ((cpuEnd.ledger - cpuStart.ledger) * 1000) / Math.max(1, checkpoints),
      witnessCpuPerCheckpointMs: witness
        ? ((cpuEnd.witness - cpuStart.witness) * 1000) / Math.max(1, checkpoints)
        : undefined,
      events: sent,
    };
  } finally {
    await stop(ledger);
    await stop(witness?.child);
    await pg.end().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const c = new Client({ connectionString: stack.adminDatabaseUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await c.end();
  }
}

/** Both modes, baseline first; returns the figures for the report. */
export async function measureWitnessing(ctx, { seconds }) {
  const baseline = await measureMode(ctx, { witnessed: false, seconds });
  const witnessed = await measureMode(ctx, { witnessed: true, seconds });
  return { baseline, witnessed, seconds };
}

/** The Markdown lines of the report. */
export function witnessingReport(w, f2) {
  const row = (name, m) =>
    `| ${name} | ${m.samples} | ${f2(m.p50)} | ${f2(m.p99)} | ${f2(m.max)} | ${m.checkpoints} | ${f2(m.ledgerCpuPerCheckpointMs)} | ${m.witnessCpuPerCheckpointMs === undefined ? '-' : f2(m.witnessCpuPerCheckpointMs)} |`;
  return [
    `Witnessing: one log, 10 token.used events every 700 ms for ${w.seconds} s, CHECKPOINT_INTERVAL_MS=1000; latency from the first poll (every 10 ms) that sees the batch in the log to the first that sees a covering checkpoint (baseline) or a stored witness cosignature (witnessed). CPU from /proc over the window, divided by the checkpoints signed in it.`,
    '',
    '| mode | batches | p50 ms | p99 ms | max ms | checkpoints | ledger CPU ms / checkpoint | witness CPU ms / checkpoint |',
    '|---|---|---|---|---|---|---|---|',
    row('baseline: signed checkpoint, no witness', w.baseline),
    row('witnessed: cosignature by 1 local witness', w.witnessed),
    '',
    `Witnessed p99: ${f2(w.witnessed.p99)} ms (goal <= 1500 ms); added by witnessing at p50: ${f2(w.witnessed.p50 - w.baseline.p50)} ms.`,
  ];
}
