// The instances phase of `npm run bench:ledger`, also `npm run bench:instances` on its own: the
// ledger's append throughput with 1, 2 and 3 ledger processes in one consumer group, each count on
// a fresh database and fresh topics with the same partitions. The events are produced in one Kafka
// transaction once the group is stable with all its members, so that they become visible to every
// member at the same moment (the ledger reads committed records only), and the figure does not
// depend on how fast the bench can produce. Timed like bench:ledger's append: from the first
// committed leaf the bench's poll sees to the last. Side by side in the same run: the same number
// of plain multi-row INSERT writers (one connection each, 500 rows per statement, rows of the
// leaves' average size), i.e. how PostgreSQL alone scales with writers on this machine; and the
// CPU of the machine, of the ledger processes, of PostgreSQL and of Kafka over each window.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchSigning } from '../scripts/lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CLOCK_TICKS = 100; // USER_HZ on Linux
const INSERT_ROWS = 500;

/** utime + stime of a process in seconds (Linux /proc), undefined when it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** CPU seconds of every process by command name (postgres backends, Kafka's java). */
function cpuByCommand(names) {
  const out = new Map(names.map((n) => [n, new Map()]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const byPid = out.get(comm);
      if (!byPid) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byPid.set(entry, (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Seconds of CPU used between two cpuByCommand snapshots (a process born in between: all of it). */
function cpuDelta(before, after, name) {
  let sum = 0;
  for (const [pid, t] of after.get(name) ?? new Map()) sum += t - (before.get(name)?.get(pid) ?? 0);
  return sum;
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
function machineTicks() {
  const [cpu] = readFileSync('/proc/stat', 'utf8').split('\n');
  const v = cpu.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
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

/** `count` ledger processes on one database and topic prefix: one consumer group. */
async function startLedgers(ctx, { count, dbUrl, prefix, partitions }) {
  const seed = randomBytes(32).toString('base64');
  const secret = randomBytes(32).toString('base64url');
  const ledgers = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const output = [];
    const child = spawn(process.execPath, [path.join(ctx.root, 'apps/ledger/dist/main.js')], {
      env: {
        ...process.env,
        DATABASE_URL: dbUrl,
        KAFKA_BROKERS: ctx.stack.kafkaBrokers,
        TOPIC_PREFIX: prefix,
        TOPIC_PARTITIONS: String(partitions),
        PORT: String(port),
        TOKENLEDGER_INTERNAL_SECRET: secret,
        LEDGER_SIGNING_KEY: seed,
        REVOCATION_URL: 'http://127.0.0.1:9',
        CHECKPOINT_INTERVAL_MS: '1000',
        LOG_LEVEL: 'warn',
        ...benchSigning().ledgerEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c) => output.push(c.toString()));
    child.stderr.on('data', (c) => output.push(c.toString()));
    ledgers.push({ child, port, output });
  }
  for (const l of ledgers) {
    for (let i = 0; ; i++) {
      if (l.child.exitCode !== null)
        throw new Error(`ledger exited:\n${l.output.join('').slice(-3000)}`);
      const ready = await fetch(`http://127.0.0.1:${l.port}/health/ready`).catch(() => undefined);
      if (ready?.ok) break;
      if (i > 1200) throw new Error(`ledger not ready in 120 s:\n${l.output.join('')}`);
      await sleep(100);
    }
  }
  return ledgers;
}

/** Waits until the group is Stable with `count` members that all hold partitions; returns them. */
async function stableGroup(kafka, groupId, count) {
  const { AssignerProtocol } = await import('kafkajs');
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let i = 0; i < 1200; i++) {
      const { groups } = await admin.describeGroups([groupId]);
      const g = groups[0];
      if (g?.state === 'Stable' && g.members.length === count) {
        const held = g.members.map((m) => {
          const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
          return Object.values(a?.assignment ?? {}).reduce((n, ps) => n + ps.length, 0);
        });
        if (held.every((n) => n > 0)) return held;
      }
      await sleep(100);
    }
  } finally {
    await admin.disconnect();
  }
  throw new Error(`group ${groupId} did not become stable with ${count} members`);
}

/** One instance count on a fresh database and fresh topics. */
async function measureCount(ctx, { count, events, partitions }) {
  const { stack, infra, contracts, messaging, createKafka, Client } = ctx;
  const { TOPICS, buildEvent, cloudEventHeaders, encodeEvent, partitionKey, topicName, uuidv7 } =
    contracts;
  const dbName = `tl_bench_i_${randomBytes(4).toString('hex')}`;
  await infra.createDatabaseIfMissing(stack.adminDatabaseUrl, dbName);
  const dbUrl = infra.withDatabase(stack.adminDatabaseUrl, dbName);
  const prefix = `benchi${randomBytes(3).toString('hex')}.`;
  const usageTopic = topicName(TOPICS.usage, prefix);
  const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: 'bench-instances' });
  const pg = new Client({ connectionString: dbUrl });
  let ledgers = [];
  try {
    const admin = kafka.admin();
    await admin.connect();
    await messaging.provisionTopics(admin, { prefix, partitions });
    await admin.disconnect();
    ledgers = await startLedgers(ctx, { count, dbUrl, prefix, partitions });
    const held = await stableGroup(kafka, `${prefix}tokenledger-ledger`, count);
    await pg.connect();

    // All events in one transaction: invisible to the ledger (read committed) until the commit.
    const producer = kafka.producer({
      transactionalId: `${prefix}bench-instances`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const tx = await producer.transaction();
    const tokenIds = Array.from({ length: 1000 }, () => uuidv7());
    for (let sent = 0; sent < events;) {
      const n = Math.min(1000, events - sent);
      const messages = Array.from({ length: n }, (_, k) => {
        const event = buildEvent({
          type: 'tokenledger.token.used.v1',
          source: '/tokenledger/bench',
          actor: 'service:bench',
          data: {
            tokenId: tokenIds[(sent + k) % tokenIds.length],
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
          key: partitionKey(event),
          value: encodeEvent(event, benchSigning().encodeOptions),
          headers: cloudEventHeaders(),
        };
      });
      await tx.send({ topic: usageTopic, messages });
      sent += n;
    }
    const procs = ledgers.map((l) => l.child.pid);
    const cpu0 = {
      ledgers: procs.map(cpuSeconds),
      byCommand: cpuByCommand(['postgres', 'java']),
      machine: machineTicks(),
    };
    const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    await tx.commit();
    const committedAt = performance.now();
    await producer.disconnect();

    let firstAt;
    let firstCount = 0;
    let doneAt;
    const deadline = Date.now() + 600_000;
    while (doneAt === undefined) {
      for (const l of ledgers)
        if (l.child.exitCode !== null)
          throw new Error(`ledger exited:\n${l.output.join('').slice(-3000)}`);
      if (Date.now() > deadline)
        throw new Error(`${count} ledgers did not append ${events} events`);
      const { rows } = await pg.query(
        'SELECT coalesce(sum(size), 0)::bigint AS n FROM ledger.logs WHERE topic = $1',
        [usageTopic],
      );
      const n = Number(rows[0].n);
      const now = performance.now();
      if (n > 0 && firstAt === undefined) {
        firstAt = now;
        firstCount = n;
      }
      if (n >= events) doneAt = now;
      else await sleep(20);
    }
    const cpu1 = {
      ledgers: procs.map(cpuSeconds),
      byCommand: cpuByCommand(['postgres', 'java']),
      machine: machineTicks(),
    };
    const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    const window = (doneAt - committedAt) / 1000;
    const ledgerCpu = cpu1.ledgers.reduce((a, t, i) => a + (t - cpu0.ledgers[i]), 0);
    const postgresCpu = cpuDelta(cpu0.byCommand, cpu1.byCommand, 'postgres');
    const kafkaCpu = cpuDelta(cpu0.byCommand, cpu1.byCommand, 'java');
    const machineBusy =
      ((cpu1.machine.busy - cpu0.machine.busy) / (cpu1.machine.total - cpu0.machine.total)) *
      os.cpus().length;

    // Every log gets a checkpoint of its final size: the instances split the signing too.
    let checkpointLag;
    for (let i = 0; i < 300 && checkpointLag === undefined; i++) {
      const { rows } = await pg.query(
        `SELECT l.size, (SELECT max(c.size) FROM ledger.checkpoints c WHERE c.log_id = l.log_id) AS cp
           FROM ledger.logs l WHERE l.topic = $1`,
        [usageTopic],
      );
      if (
        rows.length === partitions &&
        rows.every((r) => r.cp !== null && Number(r.cp) === Number(r.size))
      )
        checkpointLag = (performance.now() - doneAt) / 1000;
      else await sleep(50);
    }
    if (checkpointLag === undefined)
      throw new Error(`not every log had a checkpoint of its final size 15 s after the last leaf`);
    const { rows: avg } = await pg.query(
      'SELECT avg(length(leaf))::float8 AS a FROM ledger.leaves WHERE log_id LIKE $1',
      [`${usageTopic}-%`],
    );
    await Promise.all(ledgers.map((l) => stop(l.child)));
    ledgers = [];

    // Baseline: `count` plain writers on `count` connections, the same rows in 500-row statements.
    const payloadSize = Math.round(avg[0].a);
    await pg.query(
      'CREATE TABLE plain_rows (id bigint PRIMARY KEY, payload bytea NOT NULL, at timestamptz NOT NULL DEFAULT now())',
    );
    const writers = await Promise.all(
      Array.from({ length: count }, async () => {
        const c = new Client({ connectionString: dbUrl });
        await c.connect();
        return c;
      }),
    );
    const payload = randomBytes(payloadSize);
    const chunks = [];
    for (let s = 0; s < events; s += INSERT_ROWS)
      chunks.push([s, Math.min(events, s + INSERT_ROWS)]);
    const t0 = performance.now();
    await Promise.all(
      writers.map(async (c) => {
        for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
          const ids = [];
          for (let i = chunk[0]; i < chunk[1]; i++) ids.push(i);
          await c.query(
            'INSERT INTO plain_rows (id, payload) SELECT u.id, $2::bytea FROM unnest($1::bigint[]) AS u(id)',
            [ids, payload],
          );
        }
      }),
    );
    const insertSeconds = (performance.now() - t0) / 1000;
    await Promise.all(writers.map((c) => c.end()));

    return {
      count,
      held,
      events,
      partitions,
      firstCount,
      seconds: (doneAt - firstAt) / 1000,
      rate: (events - firstCount) / ((doneAt - firstAt) / 1000),
      fromCommit: window,
      rateFromCommit: events / window,
      firstLeafAfter: (firstAt - committedAt) / 1000,
      checkpointLag,
      loadavg: `${load0} / ${load1}`,
      cpu: {
        machineCores: machineBusy,
        otherCores: machineBusy - (ledgerCpu + postgresCpu + kafkaCpu) / window,
        ledgerCores: ledgerCpu / window,
        postgresCores: postgresCpu / window,
        kafkaCores: kafkaCpu / window,
        ledgerUsPerEvent: (ledgerCpu * 1e6) / events,
        postgresUsPerEvent: (postgresCpu * 1e6) / events,
      },
      insert: { seconds: insertSeconds, rate: events / insertSeconds, payloadSize },
    };
  } finally {
    await Promise.all(ledgers.map((l) => stop(l.child)));
    await pg.end().catch(() => undefined);
    const admin = kafka.admin();
    try {
      await admin.connect();
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    } catch {
      // best effort
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const c = new Client({ connectionString: stack.adminDatabaseUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await c.end();
  }
}

/**
 * Every instance count in turn (1, 2, 3 by default), each on a fresh database and fresh topics.
 * ctx: { root, stack, infra, contracts, messaging, createKafka, Client }, as for measureWitnessing.
 */
export async function measureInstances(ctx, { counts = [1, 2, 3], events, partitions }) {
  const runs = [];
  for (const count of counts) {
    ctx.say?.(
      `instances: ${count} ledger process(es), ${events} events on ${partitions} partitions`,
    );
    runs.push(await measureCount(ctx, { count, events, partitions }));
  }
  return { runs, events, partitions };
}

/** The Markdown lines of the report. */
export function instancesReport(r, f0, f2) {
  const one = r.runs[0];
  const row = (x) =>
    `| ${x.count} | ${x.held.join(' / ')} | ${f0(x.rate)} | ${f2(x.rate / one.rate)} | ${f2(x.seconds)} | ${f0(x.rateFromCommit)} | ${f2(x.checkpointLag)} | ${f2(x.cpu.machineCores)} | ${f2(x.cpu.otherCores)} | ${x.loadavg} | ${f2(x.cpu.ledgerCores)} | ${f2(x.cpu.postgresCores)} | ${f2(x.cpu.kafkaCores)} | ${f0(x.cpu.ledgerUsPerEvent)} + ${f0(x.cpu.postgresUsPerEvent)} | ${f0(x.insert.rate)} | ${f2(x.insert.rate / one.insert.rate)} |`;
  return [
    `Instances: ${f0(r.events)} token.used events on ${r.partitions} partitions of tokens.usage, produced in one Kafka transaction once the group was stable, for 1, 2 and 3 ledger processes in one consumer group (each count on a fresh database and fresh topics). Append rate from the first committed leaf the poll (every 20 ms) sees to the last; "from commit" includes the time to the first fetch. CPU in cores (CPU seconds / wall seconds) from /proc over commit -> last leaf: the whole machine (${os.cpus().length} cores), the ledger processes, PostgreSQL (every \`postgres\` process, other databases' included) and Kafka (\`java\`); "other processes" is the machine minus those three (other users of the machine), with the 1-minute load average before and after. Baseline in the same run: as many plain writers as instances, one connection each, 500-row INSERT statements of rows of the leaves' average size, primary key only.`,
    '',
    '| instances | audited partitions per instance | events/s | vs 1 | seconds | events/s from commit | checkpoint lag s | machine cores busy | other processes, cores | load average (1 min) before / after | ledger cores | PostgreSQL cores | Kafka cores | CPU us/event ledger + PostgreSQL | plain writers rows/s | vs 1 |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.runs.map(row),
  ];
}

// `npm run bench:instances`: this phase alone.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { createRequire } = await import('node:module');
  const { build, ensureDependencies, infra, root, say, useKafkaAdmin } =
    await import('../scripts/lib.mjs');
  const events = Number(process.env.BENCH_INSTANCES_EVENTS ?? 60000);
  const partitions = Number(process.env.BENCH_INSTANCES_PARTITIONS ?? 6);
  const counts = (process.env.BENCH_INSTANCES_COUNTS ?? '1,2,3').split(',').map(Number);
  ensureDependencies();
  build();
  const require = createRequire(import.meta.url);
  const infraModule = infra();
  const stack = await infraModule.ensureInfrastructure({ database: 'tokenledger_bench', log: say });
  useKafkaAdmin(stack);
  const messaging = require(path.join(root, 'packages/messaging/dist/index.js'));
  const ctx = {
    root,
    stack,
    infra: infraModule,
    contracts: require(path.join(root, 'packages/contracts/dist/index.js')),
    messaging,
    createKafka: messaging.createKafka,
    Client: require('pg').Client,
    say,
  };
  try {
    const r = await measureInstances(ctx, { counts, events, partitions });
    const f0 = (x) => Math.round(x).toLocaleString('en-US');
    const f2 = (x) => x.toFixed(2);
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    process.stdout.write(
      `\n${[
        `Command: \`npm run bench:instances\` (BENCH_INSTANCES_EVENTS=${events}, BENCH_INSTANCES_PARTITIONS=${partitions}, BENCH_INSTANCES_COUNTS=${counts.join(',')}); ${new Date().toISOString()}`,
        `Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; Kafka, PostgreSQL, the ledgers and the bench client share the machine.`,
        '',
        ...instancesReport(r, f0, f2),
      ].join('\n')}\n`,
    );
  } finally {
    await stack.stop();
  }
}
