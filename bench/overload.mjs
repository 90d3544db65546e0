// `npm run bench:overload`: issuance under twice its sustainable rate. Starts the four apps
// against the local Kafka and PostgreSQL (fresh database and topics), then:
// 1. measures the sustainable issuance rate: 8 closed-loop clients in 3 windows of
//    BENCH_SUSTAIN_SECONDS (default 10) each, the best window, each checked to be in the ledger
//    within seconds (the system keeps up). On a machine shared with other work one window can
//    catch a stall; BENCH_OVERLOAD_RATE sets the offered rate instead of twice that;
// 2. offers twice that rate, open loop (request i at start + i / rate, whatever the answers),
//    for BENCH_OVERLOAD_SECONDS (default 600), sampling every BENCH_SAMPLE_SECONDS (default 10)
//    the RSS of every app process and the consumer lag of every consumer group (Kafka's
//    committed offsets against the high watermarks);
// 3. stops the load and measures how long the lag takes to drain (every group at 0 and every
//    issued token in the ledger).
// Prints a report for bench/RESULTS.md. A script, not a test: nothing here passes or fails
// except a crash, a lost token or lag that does not drain within BENCH_DRAIN_TIMEOUT (300 s).
import os from 'node:os';
import pg from 'pg';
import { messaging, say } from '../scripts/lib.mjs';
import { percentile as pct, rawClient, rssOf, sleep, startBenchSystem } from './harness.mjs';

const SUSTAIN_SECONDS = Number(process.env.BENCH_SUSTAIN_SECONDS ?? 10);
const OVERLOAD_SECONDS = Number(process.env.BENCH_OVERLOAD_SECONDS ?? 600);
const SUSTAIN_WINDOWS = 3;
const SAMPLE_SECONDS = Number(process.env.BENCH_SAMPLE_SECONDS ?? 10);
const DRAIN_TIMEOUT_S = Number(process.env.BENCH_DRAIN_TIMEOUT ?? 300);
const CONCURRENCY = 8;
/** The open-loop client's connections, at most; a request due when all are busy is skipped. */
const MAX_CONNECTIONS = 512;

const { createKafka } = messaging();
const ports = { issuance: 17001, revocation: 17002, anomaly: 17003, ledger: 17004 };
const system = await startBenchSystem({ apps: ports });
const db = new pg.Client({ connectionString: system.dbUrl });
// As the admin principal (startBenchSystem put it in the environment).
const kafka = createKafka({ clientId: 'bench-overload', brokers: system.env.KAFKA_BROKERS });
const admin = kafka.admin();
const prefix = system.env.TOPIC_PREFIX;

const body = JSON.stringify({
  owner: { type: 'service', id: 'bench' },
  name: 'overload',
  scopes: ['bench:read'],
  ttlSeconds: 3600,
});
const headers = { authorization: `Bearer ${system.rootToken}`, 'content-type': 'application/json' };
const MiB = 2 ** 20;

/** Lag of every consumer group of this run: records behind the high watermark, summed per group. */
async function lagByGroup() {
  const { groups } = await admin.listGroups();
  const lags = {};
  const highs = new Map();
  for (const { groupId } of groups.filter((g) => g.groupId.startsWith(prefix))) {
    let lag = 0;
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId })) {
      if (!highs.has(topic)) {
        const offsets = await admin.fetchTopicOffsets(topic);
        highs.set(topic, new Map(offsets.map((o) => [o.partition, BigInt(o.high)])));
      }
      for (const { partition, offset } of partitions) {
        const high = highs.get(topic).get(partition) ?? 0n;
        const committed = BigInt(offset) < 0n ? 0n : BigInt(offset);
        lag += Number(high > committed ? high - committed : 0n);
      }
    }
    lags[groupId.slice(prefix.length)] = lag;
  }
  return lags;
}

const count = async (sql) => Number((await db.query(sql)).rows[0].n);
const tokensIssued = () => count('SELECT count(*)::int AS n FROM issuance.tokens');
const tokensInLedger = () =>
  count(
    "SELECT count(*)::int AS n FROM ledger.leaves WHERE event_type = 'tokenledger.token.issued.v1'",
  );

/** Closed loop: `CONCURRENCY` clients, each waiting for its answer, for `seconds`. */
async function closedLoop(seconds) {
  let ok = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      const conn = rawClient(system.url('issuance'));
      while (performance.now() < until) {
        const res = await conn.send('POST', '/v1/tokens', headers, body);
        if (res.status === 201) ok += 1;
      }
      conn.close();
    }),
  );
  return ok / ((performance.now() - started) / 1000);
}

/** Waits until every group's lag is 0 and every issued token is in the ledger; returns ms. */
async function drain(timeoutS) {
  const started = performance.now();
  for (;;) {
    const lags = await lagByGroup();
    const behind = Object.values(lags).reduce((a, b) => a + b, 0);
    if (behind === 0 && (await tokensInLedger()) >= (await tokensIssued()))
      return { ms: performance.now() - started, lags };
    if (performance.now() - started > timeoutS * 1000)
      throw new Error(`lag not drained after ${timeoutS} s: ${JSON.stringify(lags)}`);
    await sleep(250);
  }
}

/**
 * Open loop at `rate` for `seconds`: request i is sent at start + i / rate on an idle keep-alive
 * connection, a new one when all are busy, up to MAX_CONNECTIONS (then it is counted as skipped).
 * Calls `sample(elapsedS)` every SAMPLE_SECONDS.
 */
async function openLoop(rate, seconds, sample) {
  const idle = [];
  let open = 0;
  const statuses = {};
  const latencies = [];
  let skipped = 0;
  let errors = 0;
  let inFlight = 0;
  const total = Math.round(rate * seconds);
  const start = performance.now() + 20;
  let nextSample = SAMPLE_SECONDS;
  const sends = new Set();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= nextSample) {
      nextSample += SAMPLE_SECONDS;
      void sample(elapsed, { statuses: { ...statuses }, skipped, errors, inFlight });
    }
    let conn = idle.pop();
    if (!conn) {
      if (open >= MAX_CONNECTIONS) {
        skipped += 1;
        continue;
      }
      open += 1;
      conn = rawClient(system.url('issuance'));
    }
    const sentAt = performance.now();
    inFlight += 1;
    const c = conn;
    const p = c.send('POST', '/v1/tokens', headers, body).then(
      (res) => {
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 201) latencies.push(performance.now() - sentAt);
        idle.push(c);
      },
      () => {
        errors += 1;
        open -= 1;
      },
    );
    const tracked = p.finally(() => {
      inFlight -= 1;
      sends.delete(tracked);
    });
    sends.add(tracked);
  }
  await Promise.all(sends);
  for (const c of idle) c.close();
  latencies.sort((a, b) => a - b);
  return {
    seconds: (performance.now() - start) / 1000,
    statuses,
    skipped,
    errors,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
  };
}

const fmt = (bytes) => (bytes / MiB).toFixed(0);

try {
  await db.connect();
  await admin.connect();

  const windows = [];
  for (let w = 0; w < SUSTAIN_WINDOWS; w++) {
    say(
      `sustainable rate: ${CONCURRENCY} closed-loop clients for ${SUSTAIN_SECONDS} s (window ${w + 1} of ${SUSTAIN_WINDOWS})`,
    );
    const rate = await closedLoop(SUSTAIN_SECONDS);
    const { ms } = await drain(60);
    windows.push({ rate, ms });
    say(`${rate.toFixed(0)} tokens/s; in the ledger ${ms.toFixed(0)} ms after`);
  }
  const best = windows.reduce((a, b) => (b.rate > a.rate ? b : a));
  const sustainable = best.rate;
  const keptUp = best;
  const offeredRate = Number(process.env.BENCH_OVERLOAD_RATE ?? 2 * sustainable);
  say(`now ${offeredRate.toFixed(0)}/s for ${OVERLOAD_SECONDS} s`);
  await sleep(2000);

  const apps = Object.keys(system.pids);
  const samples = [];
  const rssBefore = Object.fromEntries(apps.map((a) => [a, rssOf(system.pids[a])]));
  const issuedBefore = await tokensIssued();
  let sampling = Promise.resolve();
  const result = await openLoop(offeredRate, OVERLOAD_SECONDS, (elapsed, progress) => {
    sampling = sampling.then(async () => {
      const row = {
        t: elapsed,
        rss: Object.fromEntries(apps.map((a) => [a, rssOf(system.pids[a])])),
        lag: await lagByGroup().catch(() => ({})),
        ...progress,
      };
      samples.push(row);
      say(
        `t=${elapsed.toFixed(0)} s rss ${apps.map((a) => `${a} ${fmt(row.rss[a])}`).join(', ')} MiB; lag ${JSON.stringify(row.lag)}; ${JSON.stringify(progress.statuses)} skipped ${progress.skipped}`,
      );
    });
  });
  await sampling;
  const issuedDuring = (await tokensIssued()) - issuedBefore;
  say('load stopped; waiting for the lag to drain');
  const lagAtStop = await lagByGroup();
  const drained = await drain(DRAIN_TIMEOUT_S);
  const rssAfter = Object.fromEntries(apps.map((a) => [a, rssOf(system.pids[a])]));

  const groups = [...new Set(samples.flatMap((s) => Object.keys(s.lag)))].sort();
  const half = samples.filter((s) => s.t >= OVERLOAD_SECONDS / 2);
  const growth = (a) => {
    // RSS growth over the second half of the overload, MiB per minute (least squares).
    if (half.length < 2) return 0;
    const xs = half.map((s) => s.t / 60);
    const ys = half.map((s) => s.rss[a] / MiB);
    const mx = xs.reduce((p, x) => p + x, 0) / xs.length;
    const my = ys.reduce((p, y) => p + y, 0) / ys.length;
    const num = xs.reduce((p, x, i) => p + (x - mx) * (ys[i] - my), 0);
    const den = xs.reduce((p, x) => p + (x - mx) ** 2, 0);
    return den === 0 ? 0 : num / den;
  };
  const every = Math.max(1, Math.round(samples.length / 12));
  const shown = samples.filter((_, i) => i % every === 0 || i === samples.length - 1);
  const offered = Math.round(offeredRate * OVERLOAD_SECONDS);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `Command: \`npm run bench:overload\` (BENCH_SUSTAIN_SECONDS=${SUSTAIN_SECONDS}, BENCH_OVERLOAD_SECONDS=${OVERLOAD_SECONDS}, BENCH_SAMPLE_SECONDS=${SAMPLE_SECONDS}); ${new Date().toISOString()}`,
    `Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; the four apps, Kafka, PostgreSQL and the load generator share it (and it was shared with other engineers' builds and tests).`,
    '',
    `Sustainable: ${sustainable.toFixed(0)} tokens/s, the best of ${SUSTAIN_WINDOWS} windows (${windows.map((w) => w.rate.toFixed(0)).join(', ')} tokens/s; ${CONCURRENCY} closed-loop clients, ${SUSTAIN_SECONDS} s each; all in the ledger ${keptUp.ms.toFixed(0)} ms after). Offered: ${offeredRate.toFixed(0)} tokens/s open loop for ${OVERLOAD_SECONDS} s (${offered} requests${process.env.BENCH_OVERLOAD_RATE ? ', BENCH_OVERLOAD_RATE' : ', twice the sustainable rate'}).`,
    '',
    `Answers: ${Object.entries(result.statuses)
      .map(([s, n]) => `${n} x ${s}`)
      .join(
        ', ',
      )}; ${result.skipped} not sent (all ${MAX_CONNECTIONS} client connections busy); ${result.errors} connection errors. Issued during the overload: ${issuedDuring} (${(issuedDuring / result.seconds).toFixed(0)}/s). Accepted POST latency p50 ${result.p50?.toFixed(1)} ms, p99 ${result.p99?.toFixed(1)} ms.`,
    '',
    `| t (s) | ${apps.map((a) => `${a} RSS MiB`).join(' | ')} | ${groups.map((g) => `lag ${g}`).join(' | ')} |`,
    `|---|${apps.map(() => '---|').join('')}${groups.map(() => '---|').join('')}`,
    `| before | ${apps.map((a) => fmt(rssBefore[a])).join(' | ')} | ${groups.map(() => '').join(' | ')} |`,
    ...shown.map(
      (s) =>
        `| ${s.t.toFixed(0)} | ${apps.map((a) => fmt(s.rss[a])).join(' | ')} | ${groups.map((g) => s.lag[g] ?? '').join(' | ')} |`,
    ),
    `| drained | ${apps.map((a) => fmt(rssAfter[a])).join(' | ')} | ${groups.map((g) => drained.lags[g] ?? '').join(' | ')} |`,
    '',
    `RSS max during the overload (MiB): ${apps.map((a) => `${a} ${fmt(Math.max(...samples.map((s) => s.rss[a])))}`).join(', ')}. Growth over its second half (MiB/min, least squares): ${apps.map((a) => `${a} ${growth(a).toFixed(1)}`).join(', ')}.`,
    `Lag when the load stopped: ${JSON.stringify(lagAtStop)}. Drained (every group at 0, every issued token in the ledger) ${(drained.ms / 1000).toFixed(1)} s after.`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
} finally {
  await admin.disconnect().catch(() => undefined);
  await db.end().catch(() => undefined);
  await system.stop();
}
