// `npm run bench:e2e`: issue-to-ledger latency. Starts the four apps against the local Kafka and
// PostgreSQL (fresh database and topics), measures the maximum issuance rate, then issues at a
// fixed 50% of it and measures, per token, the time from the issuance response to its
// `token.issued` leaf being committed in the ledger (leaves.appended_at, set in the append
// transaction). Baseline in the same run: the same requests' HTTP latency alone.
import os from 'node:os';
import pg from 'pg';
import { say } from '../scripts/lib.mjs';
import { percentile as pct, sleep, startBenchSystem } from './harness.mjs';

const MAX_SECONDS = Number(process.env.BENCH_DURATION ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);

const ports = { issuance: 15001, revocation: 15002, anomaly: 15003, ledger: 15004 };
const system = await startBenchSystem({ apps: ports });
const rootToken = system.rootToken;
const client = new pg.Client({ connectionString: system.dbUrl });

const issue = async () => {
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${ports.issuance}/v1/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${rootToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      owner: { type: 'service', id: 'bench' },
      name: 'bench',
      scopes: ['bench:read'],
      ttlSeconds: 3600,
    }),
  });
  if (res.status !== 201) throw new Error(`issuance answered ${res.status}`);
  const body = await res.json();
  return { tokenId: body.tokenId, respondedAt: Date.now(), httpMs: performance.now() - started };
};

try {
  await client.connect();

  say(`maximum issuance rate: ${CONCURRENCY} concurrent clients for ${MAX_SECONDS} s`);
  let issued = 0;
  const until = Date.now() + MAX_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        await issue();
        issued += 1;
      }
    }),
  );
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
    "The ledger time is the append transaction's `now()` (its start), so it can precede the commit by the batch's own duration.",
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
} finally {
  await client.end().catch(() => undefined);
  await system.stop();
}
