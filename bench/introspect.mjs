// `npm run bench:introspect`: introspection throughput and latency, side by side in the same run
// with a baseline route of the same app (same auth, form parsing and validation, constant answer),
// plus the issue-to-visible lag. Starts its own issuance + revocation against the local Kafka and
// PostgreSQL (started when missing) and a fresh database; prints a Markdown table.
import os from 'node:os';
import autocannon from 'autocannon';
import { say } from '../scripts/lib.mjs';
import { percentile as pct, sleep, startBenchSystem } from './harness.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const LAG_SAMPLES = Number(process.env.BENCH_LAG_SAMPLES ?? 200);

const ports = { issuance: 14001, revocation: 14002 };
const system = await startBenchSystem({ apps: ports, env: { BENCH_BASELINE_ROUTE: 'true' } });
const auth = { authorization: `Bearer ${system.rootToken}` };
const revocation = system.url('revocation');

try {
  const issue = async () => {
    const res = await fetch(`http://127.0.0.1:${ports.issuance}/v1/tokens`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ owner: { type: 'service', id: 'bench' }, name: 'bench', scopes: ['bench:read'], ttlSeconds: 3600 }),
    });
    return res.json();
  };
  const introspectOnce = (token) =>
    fetch(`${revocation}/v1/introspect`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    }).then((r) => r.json());

  // Issue-to-visible lag: from the issuance response to the first active introspection.
  const lags = [];
  for (let i = 0; i < LAG_SAMPLES; i++) {
    const { token } = await issue();
    const start = performance.now();
    while (!(await introspectOnce(token)).active) await sleep(2);
    lags.push(performance.now() - start);
  }
  lags.sort((a, b) => a - b);

  const { token } = await issue();
  while (!(await introspectOnce(token)).active) await sleep(5);
  const body = new URLSearchParams({ token }).toString();
  const run = (route, extra = {}) =>
    autocannon({
      url: `${revocation}${route}`,
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body,
      connections: CONNECTIONS,
      duration: DURATION,
      ...extra,
    });
  const result = (r) => ({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx });

  say(`warm-up`);
  await run('/v1/introspect', { duration: 3 });
  await run('/v1/bench/baseline', { duration: 3 });
  say(`maximum throughput, ${CONNECTIONS} connections, ${DURATION} s each`);
  const baseMax = result(await run('/v1/bench/baseline'));
  const introMax = result(await run('/v1/introspect'));
  say(`50% of each maximum, fixed rate`);
  const baseHalf = result(await run('/v1/bench/baseline', { overallRate: Math.round(baseMax.rps / 2) }));
  const introHalf = result(await run('/v1/introspect', { overallRate: Math.round(introMax.rps / 2) }));

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `Command: \`npm run bench:introspect\` (BENCH_DURATION=${DURATION}, BENCH_CONNECTIONS=${CONNECTIONS}); ${new Date().toISOString()}`,
    `Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load generator (autocannon) on the same machine.`,
    '',
    '| route | max req/s | p50 ms at max | p99 ms at max | rate at 50% | p50 ms at 50% | p99 ms at 50% | errors |',
    '|---|---|---|---|---|---|---|---|',
    `| baseline (constant answer) | ${baseMax.rps.toFixed(0)} | ${baseMax.p50} | ${baseMax.p99} | ${Math.round(baseMax.rps / 2)} | ${baseHalf.p50} | ${baseHalf.p99} | ${baseMax.errors + baseHalf.errors} |`,
    `| POST /v1/introspect | ${introMax.rps.toFixed(0)} | ${introMax.p50} | ${introMax.p99} | ${Math.round(introMax.rps / 2)} | ${introHalf.p50} | ${introHalf.p99} | ${introMax.errors + introHalf.errors} |`,
    '',
    `Introspection / baseline throughput: ${(introMax.rps / baseMax.rps).toFixed(2)} (goal >= 0.6). p99 at 50% load: ${introHalf.p99} ms (goal < 5 ms).`,
    `Issue-to-visible lag over ${LAG_SAMPLES} tokens (issuance response -> first active introspection): p50 ${pct(lags, 50).toFixed(1)} ms, p99 ${pct(lags, 99).toFixed(1)} ms, max ${lags[lags.length - 1].toFixed(1)} ms (goal: within 1 s).`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
} finally {
  await system.stop();
}
