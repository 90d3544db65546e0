// `npm run bench:introspect`: introspection throughput and latency, side by side in the same run
// with a baseline route of the same app (same auth, form parsing and validation, constant answer),
// plus read-your-writes: from the moment the fresh system is ready, FRESH_SECONDS of tokens each
// introspected as soon as its issuance answered (refusals counted), then the issue-to-visible lag
// in steady state, introspection of a token with a rate limit and credits (limits on), and
// introspection again on a second revocation instance with
// USAGE_AUDIT=required (each answer waits for Kafka to acknowledge its token.used). Starts its own issuance + revocation against the local Kafka and PostgreSQL
// (started when missing) and a fresh database; prints a Markdown table.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { root, say } from '../scripts/lib.mjs';
import {
  bareServerArgs,
  cpuMeter,
  quiet,
  openLoop,
  otlpSink,
  percentile as pct,
  sleep,
  startBenchSystem,
} from './harness.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const SETTLE_MS = 3000;
const LAG_SAMPLES = Number(process.env.BENCH_LAG_SAMPLES ?? 200);
const FRESH_SECONDS = Number(process.env.BENCH_FRESH_SECONDS ?? 30);
const FRESH_CLIENTS = Number(process.env.BENCH_FRESH_CLIENTS ?? 4);

const ports = { issuance: 14001, revocation: 14002 };
const { createKafka } = createRequire(import.meta.url)(
  path.join(root, 'packages/messaging/dist/index.js'),
);
const startedAt = performance.now();
const system = await startBenchSystem({ apps: ports, env: { BENCH_BASELINE_ROUTE: 'true' } });
const readyAt = performance.now();
const auth = { authorization: `Bearer ${system.rootToken}` };
const revocation = system.url('revocation');

try {
  const issue = async () => {
    const res = await fetch(`http://127.0.0.1:${ports.issuance}/v1/tokens`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        owner: { type: 'service', id: 'bench' },
        name: 'bench',
        scopes: ['bench:read'],
        ttlSeconds: 3600,
      }),
    });
    return res.json();
  };
  // Every introspection answer (2xx) must become one token.used record: counted here, checked
  // against the topic at the end, so that a throughput figure cannot hide dropped events.
  let answers = 0;
  const introspectOnce = (token) =>
    fetch(`${revocation}/v1/introspect`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    }).then((r) => {
      if (r.ok) answers += 1;
      return r.json();
    });

  // Read-your-writes from the moment of ready: FRESH_CLIENTS clients, each issuing a token and
  // introspecting it as soon as the issuance response is in, for FRESH_SECONDS. A refusal is a
  // first introspection answered `active: false`; such a token is then polled until active, and
  // how long that took is its time to visible.
  say(`fresh system: issue + immediate introspection for ${FRESH_SECONDS} s from ready`);
  const fresh = { issued: 0, refused: 0, firstRefusalAt: undefined, lastRefusalAt: undefined };
  const freshUntil = performance.now() + FRESH_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: FRESH_CLIENTS }, async () => {
      while (performance.now() < freshUntil) {
        const { token } = await issue();
        fresh.issued += 1;
        if ((await introspectOnce(token)).active) continue;
        const at = (performance.now() - readyAt) / 1000;
        fresh.refused += 1;
        fresh.firstRefusalAt ??= at;
        fresh.lastRefusalAt = at;
        while (!(await introspectOnce(token)).active) await sleep(2);
      }
    }),
  );

  // Steady state: the issue-to-visible lag, from the issuance response to the first active
  // introspection (0-ish when the first introspection is active), and how many first
  // introspections were refused.
  const lags = [];
  let steadyRefused = 0;
  for (let i = 0; i < LAG_SAMPLES; i++) {
    const { token } = await issue();
    const start = performance.now();
    if (!(await introspectOnce(token)).active) {
      steadyRefused += 1;
      while (!(await introspectOnce(token)).active) await sleep(2);
    }
    lags.push(performance.now() - start);
  }
  lags.sort((a, b) => a - b);

  const { token } = await issue();
  while (!(await introspectOnce(token)).active) await sleep(5);
  const body = new URLSearchParams({ token }).toString();
  const run = async (route, extra = {}) => {
    const r = await autocannon({
      url: `${revocation}${route}`,
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body,
      connections: CONNECTIONS,
      duration: DURATION,
      ...extra,
    });
    if (route === '/v1/introspect') answers += r['2xx'];
    return r;
  };
  const result = (r) => ({
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
    detail: { errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx },
  });

  say(`warm-up`);
  await run('/v1/introspect', { duration: 3 });
  await run('/v1/bench/baseline', { duration: 3 });
  say(`maximum throughput, ${CONNECTIONS} connections, ${DURATION} s each`);
  const baseMax = result(await run('/v1/bench/baseline'));
  const introMax = result(await run('/v1/introspect'));
  say(`50% of each maximum: open-loop, evenly spaced requests`);
  // Each open-loop phase starts from a quiet system: the usage events of the phase before have
  // been sent and consumed (issuance keeps each token's last use), the broker and the database
  // have caught up. How long that took is reported (the work a maximum-throughput run defers).
  const settled = {};
  const half = async (route, max) => {
    await sleep(SETTLE_MS);
    settled[route] = await quiet(system.pids);
    return openLoop({
      url: `${revocation}${route}`,
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body,
      rate: Math.round(max.rps / 2),
      seconds: DURATION,
    });
  };
  // CPU of every part of the system over each 50% phase: what "half load" leaves of 2 cores.
  const halfCpu = {};
  const measured = async (name, phase) => {
    const meter = cpuMeter(system.pids);
    const out = await phase();
    halfCpu[name] = { used: meter(), seconds: out.sent / out.rate };
    return out;
  };
  const baseHalf = await measured('baseline', () => half('/v1/bench/baseline', baseMax));
  const introHalf = await measured('introspection', () => half('/v1/introspect', introMax));
  answers += introHalf.sent - introHalf.errors;
  // The floor of this machine and generator: a bare node:http server answering a constant, at
  // the baseline's and at introspection's 50% rates, measured the same way.
  say('reference: bare node:http server at the same rates');
  const bare = spawn(process.execPath, bareServerArgs, {
    env: { ...process.env, PORT: '14009' },
    stdio: 'inherit',
  });
  let bareHalf;
  let bareIntroHalf;
  try {
    while (
      !(await fetch('http://127.0.0.1:14009/').then(
        () => true,
        () => false,
      ))
    )
      await sleep(50);
    const bareAt = async (max) => {
      await sleep(SETTLE_MS);
      return openLoop({
        url: 'http://127.0.0.1:14009/v1/introspect',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        rate: Math.round(max.rps / 2),
        seconds: DURATION,
      });
    };
    bareHalf = await bareAt(baseMax);
    bareIntroHalf = await bareAt(introMax);
  } finally {
    bare.kill();
  }
  say(`50% of each maximum: autocannon overallRate, for comparison`);
  const baseBurst = result(
    await run('/v1/bench/baseline', { overallRate: Math.round(baseMax.rps / 2) }),
  );
  const introBurst = result(
    await run('/v1/introspect', { overallRate: Math.round(introMax.rps / 2) }),
  );

  // Limits on: a second token with a rate limit and credits that are never reached, so that
  // every introspection of it counts its rate window and spends one credit (one conditional
  // UPDATE in PostgreSQL per use) and is still answered active. Credits spent are read back at
  // the end and must equal its active answers.
  say(
    `limits on: a token with a rate limit and credits, ${CONNECTIONS} connections, ${DURATION} s`,
  );
  const LIMITED_CREDITS = 1_000_000_000;
  const limited = await issue();
  while (!(await introspectOnce(limited.token)).active) await sleep(5);
  const limitsUrl = `${revocation}/v1/tokens/${limited.tokenId}/limits`;
  const put = await fetch(limitsUrl, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      rateLimit: { limit: LIMITED_CREDITS, windowSeconds: 1 },
      credits: { remaining: LIMITED_CREDITS },
    }),
  });
  if (!put.ok) throw new Error(`PUT limits answered ${put.status}`);
  const limitedBody = new URLSearchParams({ token: limited.token }).toString();
  let limitedActive = 0;
  const countActive = (r) => {
    limitedActive += r['2xx'];
    return r;
  };
  countActive(await run('/v1/introspect', { duration: 3, body: limitedBody }));
  const limMax = result(countActive(await run('/v1/introspect', { body: limitedBody })));
  await sleep(SETTLE_MS);
  settled.limits = await quiet(system.pids);
  const limHalf = await openLoop({
    url: `${revocation}/v1/introspect`,
    headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: limitedBody,
    rate: Math.round(limMax.rps / 2),
    seconds: DURATION,
  });
  answers += limHalf.sent - limHalf.errors;
  limitedActive += limHalf.sent - limHalf.errors;
  // Credits leased by the instance and not used yet count as spent here (docs/design/controls.md);
  // they are given back when it stops (read again at the end).
  const limitsAfter = await (await fetch(limitsUrl, { headers: auth })).json();
  const creditsLeasedOrSpent = LIMITED_CREDITS - limitsAfter.credits.remaining;

  // USAGE_AUDIT=required: a second revocation instance on the same system, whose every answer
  // waits for Kafka's acknowledgement of its token.used event (fail closed). Same measurements.
  say(
    `USAGE_AUDIT=required: a second revocation instance, ${CONNECTIONS} connections, ${DURATION} s`,
  );
  const requiredPort = 14012;
  const required = `http://127.0.0.1:${requiredPort}`;
  const { TOKEN_PEPPER: _pepper, ...requiredEnv } = system.env;
  const requiredApp = spawn(
    process.execPath,
    [path.join(root, 'apps', 'revocation', 'dist', 'main.js')],
    {
      env: { ...requiredEnv, PORT: String(requiredPort), USAGE_AUDIT: 'required' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  let reqMax;
  let reqHalf;
  try {
    while (
      !(await fetch(`${required}/health/ready`).then(
        (r) => r.ok,
        () => false,
      ))
    )
      await sleep(200);
    const runRequired = async (extra = {}) => {
      const r = await autocannon({
        url: `${required}/v1/introspect`,
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
        body,
        connections: CONNECTIONS,
        duration: DURATION,
        ...extra,
      });
      answers += r['2xx'];
      return r;
    };
    await runRequired({ duration: 3 });
    reqMax = result(await runRequired());
    await sleep(SETTLE_MS);
    reqHalf = await openLoop({
      url: `${required}/v1/introspect`,
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      body,
      rate: Math.round(reqMax.rps / 2),
      seconds: DURATION,
    });
    answers += reqHalf.sent - reqHalf.errors;
  } finally {
    await new Promise((resolve) => {
      if (requiredApp.exitCode !== null) return resolve();
      requiredApp.once('exit', resolve);
      requiredApp.kill('SIGTERM');
    });
  }

  // The revocation instance stops (SIGTERM): it gives its credit leases back. Then the balance
  // in PostgreSQL says how many credits were spent.
  await system.stopApp('revocation');
  const db = new pg.Client({ connectionString: system.dbUrl });
  await db.connect();
  const creditsSpent =
    LIMITED_CREDITS -
    Number(
      (
        await db.query(
          'SELECT credits_remaining FROM revocation.token_limits WHERE token_id = $1',
          [limited.tokenId],
        )
      ).rows[0].credits_remaining,
    );
  await db.end();

  // token.used records on the usage topic (nothing else in this system writes there).
  const usageTopic = `${system.env.TOPIC_PREFIX}tokens.usage`;
  const admin = createKafka({
    brokers: system.env.KAFKA_BROKERS,
    clientId: 'bench-introspect',
  }).admin();
  await admin.connect();
  let usageRecords = 0;
  try {
    for (let i = 0; i < 150; i++) {
      usageRecords = (await admin.fetchTopicOffsets(usageTopic)).reduce(
        (sum, p) => sum + Number(p.high),
        0,
      );
      if (usageRecords >= answers) break;
      await sleep(100);
    }
  } finally {
    await admin.disconnect();
  }

  // autocannon does not count the answers to requests in flight when its duration ends (up to
  // one per connection in each of its seven introspection runs); the server did answer them.
  const uncounted = 7 * CONNECTIONS;
  const usageRecordsCheck = (extra) =>
    extra >= 0 && extra <= uncounted
      ? `${extra} more: none missing (up to ${uncounted} answers are not counted by autocannon)`
      : `MISMATCH: ${extra} (expected 0 to ${uncounted} more)`;
  const f1 = (x) => x.toFixed(1);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `Command: \`npm run bench:introspect\` (BENCH_DURATION=${DURATION}, BENCH_CONNECTIONS=${CONNECTIONS}); ${new Date().toISOString()}`,
    `Machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load generators on the same machine.`,
    '',
    '| route | max req/s (autocannon) | p50 / p99 ms at max | rate at 50% | open loop: p50 / p99 / max ms | generator lag max ms | autocannon overallRate: p50 / p99 ms | errors |',
    '|---|---|---|---|---|---|---|---|',
    `| baseline (constant answer) | ${baseMax.rps.toFixed(0)} | ${baseMax.p50} / ${baseMax.p99} | ${baseHalf.rate.toFixed(0)} | ${f1(baseHalf.p50)} / ${f1(baseHalf.p99)} / ${f1(baseHalf.max)} | ${f1(baseHalf.maxLag)} | ${baseBurst.p50} / ${baseBurst.p99} | ${baseMax.errors + baseHalf.errors + baseBurst.errors} |`,
    `| reference: bare node:http server, constant answer | - | - | ${bareHalf.rate.toFixed(0)} | ${f1(bareHalf.p50)} / ${f1(bareHalf.p99)} / ${f1(bareHalf.max)} | ${f1(bareHalf.maxLag)} | - | ${bareHalf.errors} |`,
    `| reference: bare node:http server, constant answer | - | - | ${bareIntroHalf.rate.toFixed(0)} | ${f1(bareIntroHalf.p50)} / ${f1(bareIntroHalf.p99)} / ${f1(bareIntroHalf.max)} | ${f1(bareIntroHalf.maxLag)} | - | ${bareIntroHalf.errors} |`,
    `| POST /v1/introspect | ${introMax.rps.toFixed(0)} | ${introMax.p50} / ${introMax.p99} | ${introHalf.rate.toFixed(0)} | ${f1(introHalf.p50)} / ${f1(introHalf.p99)} / ${f1(introHalf.max)} | ${f1(introHalf.maxLag)} | ${introBurst.p50} / ${introBurst.p99} | ${introMax.errors + introHalf.errors + introBurst.errors} |`,
    `| POST /v1/introspect, token with rate limit and credits | ${limMax.rps.toFixed(0)} | ${limMax.p50} / ${limMax.p99} | ${limHalf.rate.toFixed(0)} | ${f1(limHalf.p50)} / ${f1(limHalf.p99)} / ${f1(limHalf.max)} | ${f1(limHalf.maxLag)} | - | ${limMax.errors + limHalf.errors} |`,
    `| POST /v1/introspect, USAGE_AUDIT=required | ${reqMax.rps.toFixed(0)} | ${reqMax.p50} / ${reqMax.p99} | ${reqHalf.rate.toFixed(0)} | ${f1(reqHalf.p50)} / ${f1(reqHalf.p99)} / ${f1(reqHalf.max)} | ${f1(reqHalf.maxLag)} | - | ${reqMax.errors + reqHalf.errors} |`,
    '',
    `CPU over the 50% phases, in % of one core (${os.cpus().length} cores: ${os.cpus().length * 100}% in all): ${Object.entries(
      halfCpu,
    )
      .map(
        ([name, { used, seconds }]) =>
          `${name}: ${Object.entries(used)
            .map(([part, ms]) => `${part} ${((ms / (seconds * 1000)) * 100).toFixed(0)}%`)
            .join(
              ', ',
            )}, total ${((Object.values(used).reduce((a, b) => a + b, 0) / (seconds * 1000)) * 100).toFixed(0)}%`,
      )
      .join('; ')}. Each 50% phase began once the apps and the broker were idle: ${Object.entries(
      settled,
    )
      .map(
        ([phase, ms]) =>
          `${(ms / 1000).toFixed(1)} s after the ${SETTLE_MS / 1000} s pause before ${phase}`,
      )
      .join(', ')}.`,
    `USAGE_AUDIT=required / best-effort introspection throughput: ${(reqMax.rps / introMax.rps).toFixed(2)}; p99 at 50% of its own maximum: ${f1(reqHalf.p99)} ms.`,
    `Introspection / baseline throughput: ${(introMax.rps / baseMax.rps).toFixed(2)} (goal >= 0.6). p99 at 50% load (open loop): ${f1(introHalf.p99)} ms (goal < 5 ms).`,
    `Limits on: introspection / baseline throughput ${(limMax.rps / baseMax.rps).toFixed(2)} (goal >= 0.5), ${(limMax.rps / introMax.rps).toFixed(2)} of introspection without limits; p99 at 50% of its own maximum (open loop): ${f1(limHalf.p99)} ms (goal < 5 ms). Credits spent ${creditsSpent} for ${limitedActive} answers counted by the clients (${creditsSpent >= limitedActive && creditsSpent - limitedActive <= 2 * CONNECTIONS ? 'every answer spent one' : 'MISMATCH'}; up to ${2 * CONNECTIONS} answers are not counted by autocannon), read in PostgreSQL after the instance stopped and gave its leases back; ${creditsLeasedOrSpent} right after the phase, leases included.`,
    ...(baseMax.errors +
      baseHalf.errors +
      baseBurst.errors +
      introMax.errors +
      introHalf.errors +
      introBurst.errors >
    0
      ? [
          `Errors in detail: ${JSON.stringify({ baseMax: baseMax.detail, baseHalf: baseHalf.failures, baseBurst: baseBurst.detail, introMax: introMax.detail, introHalf: introHalf.failures, introBurst: introBurst.detail })}`,
        ]
      : []),
    `token.used records in ${usageTopic}: ${usageRecords} for ${answers} introspection answers counted by the clients, ${usageRecordsCheck(usageRecords - answers)}.`,
    `Fresh system (start to ready ${((readyAt - startedAt) / 1000).toFixed(1)} s, build and infrastructure check included): ${fresh.issued} tokens issued by ${FRESH_CLIENTS} clients in the first ${FRESH_SECONDS} s after ready, each introspected as soon as its issuance answered: ${fresh.refused} refused (goal 0)${fresh.refused > 0 ? `, first at ${fresh.firstRefusalAt.toFixed(1)} s, last at ${fresh.lastRefusalAt.toFixed(1)} s after ready` : ''}.`,
    `Steady state, ${LAG_SAMPLES} tokens one at a time: ${steadyRefused} first introspections refused (goal 0); issuance response -> first active introspection: p50 ${pct(lags, 50).toFixed(1)} ms, p99 ${pct(lags, 99).toFixed(1)} ms, max ${lags[lags.length - 1].toFixed(1)} ms (one introspection round trip when none is refused).`,
    `Tracing (BENCH_TRACING): ${process.env.BENCH_TRACING === 'on' ? `on, ${otlpSink.requests} OTLP requests (${(otlpSink.bytes / 1e6).toFixed(1)} MB) received by the sink` : 'off (no OTEL_* variable: the SDK is not loaded)'}.`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
} finally {
  await system.stop();
}
