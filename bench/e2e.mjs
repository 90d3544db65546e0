// `npm run bench:e2e`: issue-to-ledger latency. Starts the four apps against the local Kafka and
// PostgreSQL (fresh database and topics), measures the maximum issuance rate, then issues at a
// fixed 50% of it and measures, per token, the time from the issuance response to its
// `token.issued` leaf being committed in the ledger (leaves.appended_at, set in the append
// transaction). Baselines in the same run: the same requests' HTTP latency alone, and the
// issuance's durable work done straight through pg (see setUpPgBaseline), with the same number of
// concurrent clients, while the apps are up and idle.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { root, say } from '../scripts/lib.mjs';
import { cpuMeter, percentile as pct, rawClient, sleep, startBenchSystem } from './harness.mjs';

const MAX_SECONDS = Number(process.env.BENCH_DURATION ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

const ports = { issuance: 15001, revocation: 15002, anomaly: 15003, ledger: 15004 };
const system = await startBenchSystem({ apps: ports });
const rootToken = system.rootToken;
const client = new pg.Client({ connectionString: system.dbUrl });
const { generateToken } = await import(path.join(root, 'packages/token-core/dist/index.js'));

/**
 * The raw baseline: what one issuance must make durable, done straight through pg. Per token:
 * HMAC-SHA256 of a fresh token under a 32-byte pepper, then one transaction (BEGIN, INSERT into
 * a copy of issuance.tokens, INSERT into a copy of issuance.outbox with an event-sized payload,
 * COMMIT), from `concurrency` clients, each on its own connection, for `seconds`. The tables are
 * `CREATE TABLE ... (LIKE issuance.x INCLUDING ALL)`: same columns, constraints and indexes.
 */
async function setUpPgBaseline(concurrency) {
  const admin = new pg.Client({ connectionString: system.dbUrl });
  await admin.connect();
  await admin.query('DROP SCHEMA IF EXISTS bench_baseline CASCADE');
  await admin.query('CREATE SCHEMA bench_baseline');
  await admin.query('CREATE TABLE bench_baseline.tokens (LIKE issuance.tokens INCLUDING ALL)');
  await admin.query('CREATE TABLE bench_baseline.outbox (LIKE issuance.outbox INCLUDING ALL)');
  await admin.query('CREATE SEQUENCE bench_baseline.outbox_seq OWNED BY bench_baseline.outbox.seq');
  await admin.query(
    "ALTER TABLE bench_baseline.outbox ALTER COLUMN seq SET DEFAULT nextval('bench_baseline.outbox_seq')",
  );
  await admin.end();
  const pepper = randomBytes(32);
  const clients = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const c = new pg.Client({ connectionString: system.dbUrl });
      await c.connect();
      return c;
    }),
  );
  return { clients, pepper, done: 0, seconds: 0, latencies: [] };
}

/** One round of the baseline on the clients of setUpPgBaseline, adding to its totals. */
async function pgBaselineRound(state, seconds) {
  const { clients, pepper, latencies } = state;
  const until = Date.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (Date.now() < until) {
        const t0 = performance.now();
        const token = generateToken();
        const hash = createHmac('sha256', pepper).update(token, 'utf8').digest();
        const tokenId = randomUUID();
        const now = new Date();
        const expires = new Date(now.getTime() + 3600_000);
        const payload = Buffer.from(
          JSON.stringify({
            actor: 'operator:00000000-0000-7000-8000-000000000000',
            data: {
              expiresAt: expires.toISOString(),
              issuedAt: now.toISOString(),
              labels: {},
              name: 'bench',
              owner: { id: 'bench', type: 'service' },
              prefix: token.slice(0, 13),
              scopes: ['bench:read'],
              tokenId,
            },
            datacontenttype: 'application/json',
            id: randomUUID(),
            source: '/tokenledger/issuance',
            specversion: '1.0',
            subject: tokenId,
            time: now.toISOString(),
            type: 'tokenledger.token.issued.v1',
          }),
        );
        await c.query('BEGIN');
        await c.query(
          `INSERT INTO bench_baseline.tokens (token_id, token_hash, prefix, owner_type, owner_id, name, scopes, labels,
             issued_at, expires_at, dpop_jkt, rotated_from, issued_by, is_root)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [
            tokenId,
            hash,
            token.slice(0, 13),
            'service',
            'bench',
            'bench',
            ['bench:read'],
            '{}',
            now,
            expires,
            null,
            null,
            'operator:bench',
            false,
          ],
        );
        await c.query(
          'INSERT INTO bench_baseline.outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4)',
          [randomUUID(), 'tokens.lifecycle', tokenId, payload],
        );
        await c.query('COMMIT');
        latencies.push(performance.now() - t0);
        state.done += 1;
      }
    }),
  );
  state.seconds += (performance.now() - started) / 1000;
}

const issueBody = JSON.stringify({
  owner: { type: 'service', id: 'bench' },
  name: 'bench',
  scopes: ['bench:read'],
  ttlSeconds: 3600,
});
const issueHeaders = { authorization: `Bearer ${rootToken}`, 'content-type': 'application/json' };
/** Keep-alive connections to issuance, each used by one request at a time. */
const idle = [];
const issue = async () => {
  const conn = idle.pop() ?? rawClient(`http://127.0.0.1:${ports.issuance}`);
  const started = performance.now();
  try {
    const res = await conn.send('POST', '/v1/tokens', issueHeaders, issueBody);
    if (res.status !== 201) throw new Error(`issuance answered ${res.status}`);
    const body = JSON.parse(res.body.toString('utf8'));
    return { tokenId: body.tokenId, respondedAt: Date.now(), httpMs: performance.now() - started };
  } finally {
    idle.push(conn);
  }
};

try {
  await client.connect();

  const issuedLeaves = async () =>
    Number(
      (
        await client.query(
          `SELECT count(*)::int AS n FROM ledger.leaves WHERE event_type = 'tokenledger.token.issued.v1'`,
        )
      ).rows[0].n,
    );

  // Baseline and issuance alternate in ROUNDS rounds of MAX_SECONDS / ROUNDS each, so that a
  // stall of the shared machine weighs on both alike; before each baseline round the ledger has
  // caught up with the previous issuance round (its drain does not slow the baseline down).
  const roundSeconds = MAX_SECONDS / ROUNDS;
  const base = await setUpPgBaseline(CONCURRENCY);
  const baselineCpuMs = {};
  const loadCpuMs = {};
  const addCpu = (into, meter) => {
    for (const [k, v] of Object.entries(meter())) into[k] = (into[k] ?? 0) + v;
  };
  let issued = 0;
  let refused = 0;
  let loadSeconds = 0;
  let drainMs = 0;
  const maxLatencies = [];
  for (let round = 0; round < ROUNDS; round++) {
    say(
      `round ${round + 1} of ${ROUNDS}: pg baseline, then issuance, ${CONCURRENCY} clients, ${roundSeconds} s each`,
    );
    const baselineCpu = cpuMeter(system.pids);
    await pgBaselineRound(base, roundSeconds);
    addCpu(baselineCpuMs, baselineCpu);

    const leavesBefore = await issuedLeaves();
    const loadCpu = cpuMeter(system.pids);
    let issuedNow = 0;
    const loadStart = performance.now();
    const until = Date.now() + roundSeconds * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < until) {
          try {
            const s = await issue();
            maxLatencies.push(s.httpMs);
            issuedNow += 1;
          } catch {
            refused += 1; // overload answers (503) count against the rate
          }
        }
      }),
    );
    loadSeconds += (performance.now() - loadStart) / 1000;
    issued += issuedNow;
    // Keeping up: how long after the load stopped the last of its tokens was in the ledger.
    const drainStart = performance.now();
    let leavesBehind = issuedNow;
    while (performance.now() - drainStart < 60_000) {
      leavesBehind = leavesBefore + issuedNow - (await issuedLeaves());
      if (leavesBehind <= 0) break;
      await sleep(50);
    }
    drainMs = Math.max(drainMs, performance.now() - drainStart);
    addCpu(loadCpuMs, loadCpu);
    if (leavesBehind > 0)
      throw new Error(`${leavesBehind} tokens of round ${round + 1} not in the ledger after 60 s`);
  }
  await Promise.all(base.clients.map((c) => c.end()));
  base.latencies.sort((a, b) => a - b);
  const baseline = {
    rate: base.done / base.seconds,
    p50: pct(base.latencies, 50),
    p99: pct(base.latencies, 99),
  };
  const maxRate = issued / loadSeconds;
  maxLatencies.sort((a, b) => a - b);
  const rate = maxRate / 2;
  say(
    `maximum ${maxRate.toFixed(0)} tokens/s (${(maxRate / baseline.rate).toFixed(2)} of the pg baseline), in the ledger ${drainMs.toFixed(0)} ms after the load; now ${SAMPLES} tokens at ${rate.toFixed(0)}/s`,
  );
  await sleep(2000);

  const samples = [];
  const start = Date.now();
  const pending = [];
  for (let i = 0; i < SAMPLES; i++) {
    const due = start + (i / rate) * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
    pending.push(issue().then((s) => samples.push(s)));
  }
  await Promise.all(pending);
  const ids = samples.map((s) => s.tokenId);
  const deadline = Date.now() + 60_000;
  let rows = [];
  while (Date.now() < deadline) {
    rows = (
      await client.query(
        `SELECT subject, appended_at FROM ledger.leaves WHERE event_type = 'tokenledger.token.issued.v1' AND subject = ANY($1::text[])`,
        [ids],
      )
    ).rows;
    if (rows.length === ids.length) break;
    await sleep(200);
  }
  if (rows.length !== ids.length)
    throw new Error(`only ${rows.length} of ${ids.length} tokens reached the ledger within 60 s`);
  const at = new Map(rows.map((r) => [r.subject, r.appended_at.getTime()]));
  const lags = samples.map((s) => at.get(s.tokenId) - s.respondedAt).sort((a, b) => a - b);
  const http = samples.map((s) => s.httpMs).sort((a, b) => a - b);

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `Command: \`npm run bench:e2e\` (BENCH_DURATION=${MAX_SECONDS}, BENCH_ROUNDS=${ROUNDS}, BENCH_CONCURRENCY=${CONCURRENCY}, BENCH_SAMPLES=${SAMPLES}); ${new Date().toISOString()}`,
    `Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; the four apps, Kafka, PostgreSQL and the load generator share it.`,
    '',
    '',
    `| ${CONCURRENCY} concurrent clients, ${MAX_SECONDS} s each in ${ROUNDS} alternating rounds | tokens/s | p50 ms | p99 ms |`,
    '|---|---|---|---|',
    `| raw baseline: HMAC + one pg transaction (token row + outbox row) | ${baseline.rate.toFixed(0)} | ${baseline.p50.toFixed(1)} | ${baseline.p99.toFixed(1)} |`,
    `| POST /v1/tokens, whole system running | ${maxRate.toFixed(0)} | ${pct(maxLatencies, 50).toFixed(1)} | ${pct(maxLatencies, 99).toFixed(1)} |`,
    '',
    `| CPU ms per token (user + system, /proc) | ${Object.keys(loadCpuMs).join(' | ')} | total |`,
    `|---|${Object.keys(loadCpuMs)
      .map(() => '---|')
      .join('')}---|`,
    `| raw baseline | ${Object.keys(loadCpuMs)
      .map((k) => ((baselineCpuMs[k] ?? 0) / base.done).toFixed(2))
      .join(
        ' | ',
      )} | ${(Object.values(baselineCpuMs).reduce((a, b) => a + b, 0) / base.done).toFixed(2)} |`,
    `| issuance, until in the ledger | ${Object.values(loadCpuMs)
      .map((v) => (v / issued).toFixed(2))
      .join(
        ' | ',
      )} | ${(Object.values(loadCpuMs).reduce((a, b) => a + b, 0) / issued).toFixed(2)} |`,
    '',
    `Issuance / baseline: ${(maxRate / baseline.rate).toFixed(2)}. Refused during the load: ${refused}. The last token of a round was in the ledger at most ${drainMs.toFixed(0)} ms after its load stopped.`,
    '',
    `| at ${rate.toFixed(0)} tokens/s (50%) | p50 ms | p99 ms | max ms |`,
    '|---|---|---|---|',
    `| baseline: POST /v1/tokens response time | ${pct(http, 50).toFixed(1)} | ${pct(http, 99).toFixed(1)} | ${http[http.length - 1].toFixed(1)} |`,
    `| issuance response -> token.issued committed in the ledger | ${pct(lags, 50).toFixed(0)} | ${pct(lags, 99).toFixed(0)} | ${lags[lags.length - 1].toFixed(0)} |`,
    '',
    "The ledger time is the append transaction's `now()` (its start), so it can precede the commit by the batch's own duration.",
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
} finally {
  for (const conn of idle) conn.close();
  await client.end().catch(() => undefined);
  await system.stop();
}
