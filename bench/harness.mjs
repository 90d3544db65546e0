// What the benchmarks share: local Kafka + PostgreSQL, a fresh database and topic prefix, the
// apps as real processes with generated secrets and a known root token, and a clean stop.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import {
  build,
  ensureDependencies,
  eventSigning,
  infra,
  root,
  say,
  useKafkaAdmin,
} from '../scripts/lib.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

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
 * earlier responses do), one request at a time per keep-alive connection, opening another
 * connection when all are busy. Latency runs from the moment the request is written to its
 * complete response, so a stalled server shows up in the figures (no coordinated omission). Also
 * returns how late the generator itself sent (its own scheduling lag on a shared machine).
 *
 * The client is a minimal HTTP/1.1 one on raw sockets (the request's bytes are built once; a
 * response is read up to its Content-Length or last chunk), so that the generator, which shares
 * the machine with what it measures, costs as little as it can: with node:http's client it took
 * a large share of a core at 6,000 req/s and its own pauses showed in the tail.
 * @param {{ url: string, method?: string, headers?: Record<string, string>, body?: string, rate: number, seconds: number }} o
 */
export async function openLoop(o) {
  const target = new URL(o.url);
  const body = Buffer.from(o.body ?? '');
  const headers = { host: target.host, ...o.headers, 'content-length': String(body.length) };
  const head = `${o.method ?? 'POST'} ${target.pathname}${target.search} HTTP/1.1\r\n${Object.entries(
    headers,
  )
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  const request = Buffer.concat([Buffer.from(head, 'latin1'), body]);
  const total = Math.round(o.rate * o.seconds);
  const latencies = [];
  let errors = 0;
  const failures = {};
  const fail = (what) => {
    errors += 1;
    failures[what] = (failures[what] ?? 0) + 1;
  };
  let maxLag = 0;
  let outstanding = 0;
  let allSent;
  const drained = new Promise((resolve) => (allSent = resolve));
  const idle = [];
  const open = new Set();

  let finished = false;
  const settle = (conn) => {
    conn.busy = false;
    conn.chunks = [];
    outstanding -= 1;
    if (finished && outstanding === 0) allSent();
  };
  const connect = () => {
    const conn = {
      socket: net.connect({ host: target.hostname, port: Number(target.port) }),
      busy: false,
      chunks: [],
      sentAt: 0,
    };
    conn.socket.setNoDelay(true);
    open.add(conn);
    conn.socket.on('data', (chunk) => {
      conn.chunks.push(chunk);
      const data = conn.chunks.length === 1 ? chunk : Buffer.concat(conn.chunks);
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const header = data.toString('latin1', 0, end);
      const length = /\r\ncontent-length: *(\d+)/i.exec(header);
      const complete = length
        ? data.length >= end + 4 + Number(length[1])
        : data.lastIndexOf('0\r\n\r\n') === data.length - 5;
      if (!complete) return;
      const status = Number(header.slice(9, 12));
      if (status >= 200 && status < 300) latencies.push(performance.now() - conn.sentAt);
      else fail(status);
      const closes = /\r\nconnection: *close/i.test(header);
      settle(conn);
      if (closes) conn.socket.destroy();
      else idle.push(conn);
    });
    const lost = (error) => {
      open.delete(conn);
      const i = idle.indexOf(conn);
      if (i >= 0) idle.splice(i, 1);
      if (conn.busy) {
        fail(error?.code ?? 'connection closed');
        settle(conn);
      }
    };
    conn.socket.on('error', lost);
    conn.socket.on('close', () => lost());
    return conn;
  };
  const send = () => {
    const conn = idle.pop() ?? connect();
    conn.busy = true;
    outstanding += 1;
    conn.sentAt = performance.now();
    conn.socket.write(request);
  };

  const start = performance.now() + 20;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    maxLag = Math.max(maxLag, performance.now() - due);
    send();
  }
  finished = true;
  if (outstanding > 0) await drained;
  for (const conn of open) conn.socket.destroy();
  latencies.sort((a, b) => a - b);
  const elapsed = (performance.now() - start) / 1000;
  return {
    sent: total,
    rate: total / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1],
    errors,
    failures,
    maxLag,
  };
}

/**
 * One keep-alive HTTP/1.1 connection on a raw socket, one request at a time (a closed-loop
 * client): `send(method, path, headers, body)` resolves to `{ status, headers, body }` (body
 * read up to Content-Length). Far cheaper in CPU than fetch(), which matters when the client
 * shares the machine with what it measures.
 * @param {string} base e.g. http://127.0.0.1:4001
 */
export function rawClient(base) {
  const target = new URL(base);
  let socket;
  let chunks = [];
  let waiting;
  const open = () => {
    socket = net.connect({ host: target.hostname, port: Number(target.port) });
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const data = chunks.length === 1 ? chunk : Buffer.concat(chunks);
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = data.toString('latin1', 0, end);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (data.length < end + 4 + length) return;
      chunks = [];
      const w = waiting;
      waiting = undefined;
      if (/\r\nconnection: *close/i.test(head)) socket.destroy();
      w?.resolve({
        status: Number(head.slice(9, 12)),
        head,
        body: data.subarray(end + 4, end + 4 + length),
      });
    });
    const lost = (error) => {
      socket = undefined;
      chunks = [];
      const w = waiting;
      waiting = undefined;
      w?.reject(error ?? new Error('connection closed'));
    };
    socket.on('error', lost);
    socket.on('close', () => lost());
  };
  return {
    send(method, pathname, headers = {}, body = '') {
      if (!socket || socket.destroyed) open();
      const bytes = Buffer.from(body);
      const lines = Object.entries({
        host: target.host,
        ...headers,
        'content-length': bytes.length,
      })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        socket.write(
          Buffer.concat([
            Buffer.from(`${method} ${pathname} HTTP/1.1\r\n${lines}\r\n`, 'latin1'),
            bytes,
          ]),
        );
      });
    },
    close() {
      socket?.destroy();
    },
  };
}

/** What the OTLP sink of BENCH_TRACING=on received: requests and bytes per path. */
export const otlpSink = { requests: 0, bytes: 0 };

/**
 * BENCH_TRACING=on: tracing on in every app (docs/design/tracing.md), exporting over OTLP/HTTP to
 * a sink in this process that answers 200 and counts what it gets (no collector's own cost).
 * Otherwise nothing: no OTEL_* variable, so the SDK is not even loaded.
 */
export async function benchTracingEnv() {
  if (process.env.BENCH_TRACING !== 'on') return {};
  const server = http.createServer((req, res) => {
    otlpSink.requests += 1;
    req.on('data', (c) => (otlpSink.bytes += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  say(`tracing on: OTLP/HTTP to a sink on port ${server.address().port}`);
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${server.address().port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  };
}

/**
 * @param {{ apps: Record<string, number>, env?: Record<string, string> }} options app name -> port
 */
export async function startBenchSystem(options) {
  ensureDependencies();
  build();
  const { ensureInfrastructure, createDatabaseIfMissing, withDatabase } = infra();
  const stack = await ensureInfrastructure({ database: 'tokenledger_bench', log: say });
  useKafkaAdmin(stack);
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
    ...(await benchTracingEnv()),
    ...options.env,
  };
  // Profiling hooks: BENCH_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) is passed to every app
  // process; BENCH_APP_STDOUT=1 shows their stdout (e.g. with `--trace-gc`).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const { TOKEN_PEPPER, ...withoutPepper } = env;
  // Signed events, as in production: each app its own key; `driver` signs what a benchmark
  // writes to Kafka itself (BENCH_EVENT_SIGNING=off: unsigned and unchecked, to compare).
  const signing =
    process.env.BENCH_EVENT_SIGNING === 'off' ? undefined : eventSigning({ driver: true });
  const children = Object.entries(options.apps).map(([name, port]) =>
    spawn(process.execPath, [...nodeArgs, path.join(root, 'apps', name, 'dist', 'main.js')], {
      // Only issuance hashes tokens, so only issuance gets the pepper.
      env: {
        ...withoutPepper,
        ...(name === 'issuance' ? { TOKEN_PEPPER } : {}),
        ...(signing ? signing.envOf(name) : {}),
        PORT: String(port),
      },
      stdio: ['ignore', process.env.BENCH_APP_STDOUT ? 'inherit' : 'ignore', 'inherit'],
    }),
  );
  // SIGTERM, then the exit: each app's shutdown hooks run (a revocation app gives its credit
  // leases back).
  const terminate = (c) =>
    new Promise((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', resolve);
      c.kill('SIGTERM');
    });
  const stopApp = (name) => terminate(children[Object.keys(options.apps).indexOf(name)]);
  const stop = async () => {
    await Promise.all(children.map(terminate));
    const admin = new pg.Client({ connectionString: stack.adminDatabaseUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    await stack.stop();
  };
  try {
    for (const name of Object.keys(options.apps)) {
      for (let i = 0; ; i++) {
        if (
          await fetch(`${url(name)}/health/ready`).then(
            (r) => r.ok,
            () => false,
          )
        )
          break;
        if (i > 600) throw new Error(`${name} not ready`);
        await sleep(200);
      }
    }
    const first = Object.keys(options.apps)[0];
    while (
      (
        await fetch(`${url(first)}/v1/whoami`, {
          headers: { authorization: `Bearer ${rootToken}` },
        })
      ).status !== 200
    )
      await sleep(100);
  } catch (error) {
    await stop();
    throw error;
  }
  const pids = Object.fromEntries(
    Object.keys(options.apps).map((name, i) => [name, children[i].pid]),
  );
  return {
    env,
    dbUrl,
    rootToken,
    url,
    stop,
    stopApp,
    pids,
    signingKey: signing?.driverKey,
    signers: signing?.signers,
  };
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc (Linux); 0 elsewhere.
 * `withChildren`: plus that of its children that exited (PostgreSQL's postmaster reaps the
 * backends of closed connections).
 */
export function cpuMsOf(pid, withChildren = false) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const ticks = f[11] + f[12] + (withChildren ? f[13] + f[14] : 0);
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Resident set size of a process in bytes, from /proc (Linux); 0 when it is gone. */
export function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Pids of the processes whose command line contains `needle` (e.g. `postgres`), from /proc. */
export function pidsMatching(needle) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ');
      if (cmd.includes(needle)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * CPU used by each part of the system between two calls: the apps, all PostgreSQL processes
 * (shared with anything else using the server: other tests' backends count too), the Kafka
 * broker (also shared) and this process.
 * @param {Record<string, number>} appPids
 */
export function cpuMeter(appPids) {
  const parts = () => ({
    ...Object.fromEntries(Object.entries(appPids).map(([name, pid]) => [name, cpuMsOf(pid)])),
    postgres: pidsMatching('postgres').reduce((sum, pid) => sum + cpuMsOf(pid, true), 0),
    kafka: pidsMatching('kafka.Kafka').reduce((sum, pid) => sum + cpuMsOf(pid), 0),
    'load generator': cpuMsOf(process.pid),
  });
  const start = parts();
  return () => {
    const end = parts();
    return Object.fromEntries(Object.keys(end).map((k) => [k, end[k] - (start[k] ?? 0)]));
  };
}
/**
 * Waits until the apps and the Kafka broker are idle: together under `busyPercent` of one core
 * over a `windowMs` window (the work a phase left behind, such as usage events still being
 * consumed, is done), at most `maxMs`. Resolves with how long it waited, in ms.
 * @param {Record<string, number>} appPids
 */
export async function quiet(appPids, { busyPercent = 15, windowMs = 500, maxMs = 60_000 } = {}) {
  const started = performance.now();
  for (;;) {
    const meter = cpuMeter(appPids);
    await new Promise((r) => setTimeout(r, windowMs));
    const used = meter();
    const busy = Object.keys(appPids).reduce((sum, k) => sum + used[k], used.kafka);
    if ((busy / windowMs) * 100 < busyPercent || performance.now() - started > maxMs)
      return performance.now() - started;
  }
}

// USER_HZ: 100 on every Linux this runs on.
const CLOCK_TICKS = 100;
