// What the benchmarks share: local Kafka + PostgreSQL, a fresh database and topic prefix, the
// apps as real processes with generated secrets and a known root token, and a clean stop.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { build, ensureDependencies, infra, root, say } from '../scripts/lib.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * Node arguments of the reference server: bare node:http on 127.0.0.1:$PORT, answering every
 * request with a constant `{"active":false}` once its body is read. The floor of the machine and
 * the load generator, measured next to the apps.
 */
export const bareServerArgs = [
  '-e',
  "require('http').createServer((q, s) => { q.resume(); q.on('end', () => { s.setHeader('content-type', 'application/json'); s.end('{\"active\":false}'); }); }).listen(Number(process.env.PORT), '127.0.0.1')",
];

/**
 * Open-loop load at a fixed rate: request i is sent at start + i / rate (evenly spaced, whatever
 * earlier responses do), over a keep-alive pool that opens more connections when all are busy.
 * Latency runs from the moment a request is handed to the HTTP client to its complete response,
 * so a stalled server shows up in the figures (no coordinated omission). Also returns how late the
 * generator itself sent (its own scheduling lag on a shared machine).
 * @param {{ url: string, method?: string, headers?: Record<string, string>, body?: string, rate: number, seconds: number }} o
 */
export async function openLoop(o) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL(o.url);
  const total = Math.round(o.rate * o.seconds);
  const latencies = [];
  let errors = 0;
  const failures = {};
  let maxLag = 0;
  const pending = [];
  const send = () =>
    new Promise((resolve) => {
      const sent = performance.now();
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: o.method ?? 'POST', headers: { ...o.headers, 'content-length': Buffer.byteLength(o.body ?? '') } },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => {
            if (res.statusCode >= 200 && res.statusCode < 300) latencies.push(performance.now() - sent);
            else {
              errors += 1;
              failures[res.statusCode] = (failures[res.statusCode] ?? 0) + 1;
            }
            resolve();
          });
        },
      );
      req.on('error', (error) => {
        errors += 1;
        failures[error.code ?? error.message] = (failures[error.code ?? error.message] ?? 0) + 1;
        resolve();
      });
      req.end(o.body ?? '');
    });
  const start = performance.now() + 20;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    maxLag = Math.max(maxLag, performance.now() - due);
    pending.push(send());
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const elapsed = (performance.now() - start) / 1000;
  return { sent: total, rate: total / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1], errors, failures, maxLag };
}

/**
 * @param {{ apps: Record<string, number>, env?: Record<string, string> }} options app name -> port
 */
export async function startBenchSystem(options) {
  ensureDependencies();
  build();
  const { ensureInfrastructure, createDatabaseIfMissing, withDatabase } = infra();
  const stack = await ensureInfrastructure({ database: 'tokenledger_bench', log: say });
  const dbName = `tl_bench_${randomBytes(4).toString('hex')}`;
  await createDatabaseIfMissing(stack.adminDatabaseUrl, dbName);
  const dbUrl = withDatabase(stack.adminDatabaseUrl, dbName);
  const { generateToken } = await import(path.join(root, 'packages/token-core/dist/index.js'));
  const rootToken = generateToken();
  const url = (name) => `http://127.0.0.1:${options.apps[name] ?? 0}`;
  const env = {
    ...process.env,
    DATABASE_URL: dbUrl,
    KAFKA_BROKERS: stack.kafkaBrokers,
    TOPIC_PREFIX: `bench${randomBytes(3).toString('hex')}.`,
    TOKENLEDGER_INTERNAL_SECRET: randomBytes(32).toString('base64url'),
    TOKEN_PEPPER: randomBytes(32).toString('base64'),
    LEDGER_SIGNING_KEY: randomBytes(32).toString('base64'),
    TOKENLEDGER_ROOT_TOKEN: rootToken,
    ISSUANCE_URL: url('issuance'),
    REVOCATION_URL: url('revocation'),
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  // Profiling hooks: BENCH_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) is passed to every app
  // process; BENCH_APP_STDOUT=1 shows their stdout (e.g. with `--trace-gc`).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const children = Object.entries(options.apps).map(([name, port]) =>
    spawn(process.execPath, [...nodeArgs, path.join(root, 'apps', name, 'dist', 'main.js')], { env: { ...env, PORT: String(port) }, stdio: ['ignore', process.env.BENCH_APP_STDOUT ? 'inherit' : 'ignore', 'inherit'] }),
  );
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', resolve);
            c.kill('SIGTERM');
          }),
      ),
    );
    const admin = new pg.Client({ connectionString: stack.adminDatabaseUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    await stack.stop();
  };
  try {
    for (const name of Object.keys(options.apps)) {
      for (let i = 0; ; i++) {
        if (await fetch(`${url(name)}/health/ready`).then((r) => r.ok, () => false)) break;
        if (i > 600) throw new Error(`${name} not ready`);
        await sleep(200);
      }
    }
    const first = Object.keys(options.apps)[0];
    while ((await fetch(`${url(first)}/v1/whoami`, { headers: { authorization: `Bearer ${rootToken}` } })).status !== 200) await sleep(100);
  } catch (error) {
    await stop();
    throw error;
  }
  return { env, dbUrl, rootToken, url, stop };
}
