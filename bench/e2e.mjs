// `npm run bench:e2e`: issue-to-ledger latency. Starts the four apps against the local Kafka and
// PostgreSQL (fresh database and topics), measures the maximum issuance rate, then issues at a
// fixed 50% of it and measures, per token, the time from the issuance response to its
// `token.issued` leaf being committed in the ledger (leaves.appended_at, set in the append
// transaction). Baseline in the same run: the same requests' HTTP latency alone.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { build, ensureDependencies, infra, root, say } from '../scripts/lib.mjs';

const MAX_SECONDS = Number(process.env.BENCH_DURATION ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);

ensureDependencies();
build();
const { ensureInfrastructure, createDatabaseIfMissing, withDatabase } = infra();
const stack = await ensureInfrastructure({ database: 'tokenledger_bench', log: say });
const dbName = `tl_bench_${randomBytes(4).toString('hex')}`;
await createDatabaseIfMissing(stack.adminDatabaseUrl, dbName);
const dbUrl = withDatabase(stack.adminDatabaseUrl, dbName);
const { generateToken } = await import(path.join(root, 'packages/token-core/dist/index.js'));

const rootToken = generateToken();
const ports = { issuance: 15001, revocation: 15002, anomaly: 15003, ledger: 15004 };
const env = {
  ...process.env,
  DATABASE_URL: dbUrl,
  KAFKA_BROKERS: stack.kafkaBrokers,
  TOPIC_PREFIX: `bench${randomBytes(3).toString('hex')}.`,
  TOKENLEDGER_INTERNAL_SECRET: randomBytes(32).toString('base64url'),
  TOKEN_PEPPER: randomBytes(32).toString('base64'),
  LEDGER_SIGNING_KEY: randomBytes(32).toString('base64'),
  TOKENLEDGER_ROOT_TOKEN: rootToken,
  ISSUANCE_URL: `http://127.0.0.1:${ports.issuance}`,
  REVOCATION_URL: `http://127.0.0.1:${ports.revocation}`,
  LOG_LEVEL: 'warn',
};
const children = Object.entries(ports).map(([name, port]) =>
  spawn(process.execPath, [path.join(root, 'apps', name, 'dist', 'main.js')], { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] }),
);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const client = new pg.Client({ connectionString: dbUrl });

async function stopAll() {
  await Promise.all(
    children.map(
      (c) =>
        new Promise((r) => {
          if (c.exitCode !== null || c.signalCode !== null) return r();
          c.once('exit', r);
          c.kill('SIGTERM');
        }),
    ),
  );
  await client.end().catch(() => undefined);
  const admin = new pg.Client({ connectionString: stack.adminDatabaseUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.end();
  await stack.stop();
}

const issue = async () => {
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${ports.issuance}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${rootToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ owner: { type: 'service', id: 'bench' }, name: 'bench', scopes: ['bench:read'], ttlSeconds: 3600 }),
  });
  if (res.status !== 201) throw new Error(`issuance answered ${res.status}`);
  const body = await res.json();
  return { tokenId: body.tokenId, respondedAt: Date.now(), httpMs: performance.now() - started };
};

try {
  for (const port of Object.values(ports)) {
    for (let i = 0; ; i++) {
      if (await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false)) break;
      if (i > 600) throw new Error(`app on ${port} not ready`);
      await sleep(200);
    }
  }
  while ((await fetch(`http://127.0.0.1:${ports.issuance}/v1/whoami`, { headers: { authorization: `Bearer ${rootToken}` } })).status !== 200) await sleep(100);
  await client.connect();

  say(`maximum issuance rate: ${CONCURRENCY} concurrent clients for ${MAX_SECONDS} s`);
  let issued = 0;
  const until = Date.now() + MAX_SECONDS * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < until) {
      await issue();
      issued += 1;
    }
  }));
  const maxRate = issued / MAX_SECONDS;
  const rate = maxRate / 2;
  say(`maximum ${maxRate.toFixed(0)} tokens/s; now ${SAMPLES} tokens at ${rate.toFixed(0)}/s`);
  await sleep(3000); // let the ledger drain the load phase

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
    rows = (await client.query(`SELECT subject, appended_at FROM ledger.leaves WHERE event_type = 'tokenledger.token.issued.v1' AND subject = ANY($1::text[])`, [ids])).rows;
    if (rows.length === ids.length) break;
    await sleep(200);
  }
  if (rows.length !== ids.length) throw new Error(`only ${rows.length} of ${ids.length} tokens reached the ledger within 60 s`);
  const at = new Map(rows.map((r) => [r.subject, r.appended_at.getTime()]));
  const lags = samples.map((s) => at.get(s.tokenId) - s.respondedAt).sort((a, b) => a - b);
  const http = samples.map((s) => s.httpMs).sort((a, b) => a - b);

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `Command: \`npm run bench:e2e\` (BENCH_DURATION=${MAX_SECONDS}, BENCH_CONCURRENCY=${CONCURRENCY}, BENCH_SAMPLES=${SAMPLES}); ${new Date().toISOString()}`,
    `Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; the four apps, Kafka, PostgreSQL and the load generator share it.`,
    '',
    `Maximum issuance rate: ${maxRate.toFixed(0)} tokens/s (${CONCURRENCY} concurrent clients, each POST /v1/tokens waits for its response).`,
    '',
    `| at ${rate.toFixed(0)} tokens/s (50%) | p50 ms | p99 ms | max ms |`,
    '|---|---|---|---|',
    `| baseline: POST /v1/tokens response time | ${pct(http, 50).toFixed(1)} | ${pct(http, 99).toFixed(1)} | ${http[http.length - 1].toFixed(1)} |`,
    `| issuance response -> token.issued committed in the ledger | ${pct(lags, 50).toFixed(0)} | ${pct(lags, 99).toFixed(0)} | ${lags[lags.length - 1].toFixed(0)} |`,
    '',
    'The ledger time is the append transaction\'s `now()` (its start), so it can precede the commit by the batch\'s own duration.',
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
} finally {
  await stopAll();
}
