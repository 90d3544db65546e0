import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  type TestDatabase,
} from '@tokenledger/testing';
import { generateToken } from '@tokenledger/token-core';
import { Client } from 'pg';
import { freePort, spawnApp } from './system';

// Issuance as a real process on a real PostgreSQL and Kafka: the pepper fingerprint stops a start
// with another pepper, and the rate limits answer a flood with 429 before any internal call.
// Operator tokens are checked by a stand-in revocation app that knows none and counts the calls.

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request from a chosen local address (all of 127/8 is this machine). */
function call(
  url: string,
  options: { from?: string; token?: string; method?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        localAddress: options.from ?? '127.0.0.1',
        headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('hygiene: pepper fingerprint at start, rate limits on a flood (issuance, real process)', () => {
  let db: TestDatabase;
  let revocation: Server;
  let authCalls = 0;
  const prefix = freshTopicPrefix();
  const pepper = randomBytes(32).toString('base64');
  const secret = randomBytes(32).toString('base64url');
  const rootToken = generateToken();
  let port = 0;
  let running: { process: ChildProcess; output: string[] } | undefined;

  const start = (env: Record<string, string>): { process: ChildProcess; output: string[] } =>
    spawnApp('issuance', {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers(),
      TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'info',
      TOKENLEDGER_INTERNAL_SECRET: secret,
      TOKENLEDGER_ROOT_TOKEN: rootToken,
      TOKEN_PEPPER: pepper,
      REVOCATION_URL: `http://127.0.0.1:${(revocation.address() as AddressInfo).port}`,
      PORT: String(port),
      ...env,
    });
  const live = (app: { process: ChildProcess; output: string[] }): Promise<true> =>
    eventually(
      async () => {
        if (app.process.exitCode !== null)
          throw new Error(`issuance exited: ${app.output.join('').slice(-2000)}`);
        const res = await call(`http://127.0.0.1:${port}/health/live`).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      60_000,
      'issuance to listen',
    );
  const stop = async (): Promise<void> => {
    if (!running) return;
    running.process.kill('SIGTERM');
    await exited(running.process);
    running = undefined;
  };

  beforeAll(async () => {
    db = await freshDatabase();
    port = await freePort();
    // The revocation app's internal authenticate route: knows no token.
    revocation = createServer((req, res) => {
      authCalls += 1;
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: false, reason: 'unknown' }));
      });
    });
    await new Promise<void>((resolve) => revocation.listen(0, '127.0.0.1', resolve));
  }, 60_000);

  afterAll(async () => {
    await stop();
    await new Promise((resolve) => revocation?.close(resolve));
    await db?.drop();
  }, 60_000);

  it('a start with another pepper is refused, saying what happened; the right one starts', async () => {
    running = start({});
    await live(running);
    await stop();

    const other = randomBytes(32).toString('base64');
    const refused = start({ TOKEN_PEPPER: other });
    expect(await exited(refused.process)).toBe(1);
    const said = refused.output.join('');
    expect(said).toMatch(/TOKEN_PEPPER: does not match the pepper this database was set up with/);
    expect(said).toMatch(/The pepper was changed or lost/);
    expect(said).toMatch(/Restore the original TOKEN_PEPPER/);
    for (const value of [pepper, other, secret]) expect(said).not.toContain(value);
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client
      .query<{ fingerprint: Buffer }>('SELECT fingerprint FROM issuance.pepper_fingerprint')
      .finally(() => client.end());
    expect(rows).toHaveLength(1);
    expect(rows[0]?.fingerprint.toString('base64')).not.toBe(pepper);

    running = start({
      RATE_LIMIT_PER_IP: '40',
      RATE_LIMIT_PER_PRINCIPAL: '15',
      // Nothing comes back during the test (40 per minute: one every 1.5 s).
      RATE_LIMIT_WINDOW_MS: '60000',
    });
    await live(running);
  }, 120_000);

  it('a flood from one address gets 429 with Retry-After, before any internal call; others still get answers', async () => {
    const url = `http://127.0.0.1:${port}/v1/tokens`;
    authCalls = 0;
    // Unknown but well-formed tokens: each one that gets through costs a call to revocation.
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => call(url, { token: generateToken() })),
    );
    const limited = answers.filter((a) => a.status === 429);
    const through = answers.filter((a) => a.status !== 429);
    expect(through.length).toBeLessThanOrEqual(42);
    expect(through.length).toBeGreaterThanOrEqual(38);
    expect(new Set(through.map((a) => a.status))).toEqual(new Set([401]));
    expect(authCalls).toBe(through.length);
    expect(limited.length).toBe(200 - through.length);
    const first = limited[0] as Answer;
    expect(Number(first.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(first.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(JSON.parse(first.body)).toEqual({
      type: 'about:blank',
      title: 'Too Many Requests',
      status: 429,
      detail: expect.stringMatching(/\(per client address\); retry after \d+ s$/) as string,
      instance: '/v1/tokens',
      code: 'too_many_requests',
      requestId: expect.any(String) as string,
    });

    // Still responsive: health from the same address, the API from another one.
    expect((await call(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
    expect((await call(url, { token: generateToken() })).status).toBe(429);
    expect((await call(url, { from: '127.0.0.2', token: generateToken() })).status).toBe(401);
    expect(authCalls).toBe(through.length + 1);
  }, 60_000);

  it('one credential used from many addresses is limited per credential', async () => {
    const url = `http://127.0.0.1:${port}/v1/tokens`;
    const token = generateToken();
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await call(url, { from: `127.0.1.${i + 1}`, token }));
    expect(answers.slice(0, 15).map((a) => a.status)).toEqual(Array(15).fill(401));
    expect(answers.slice(15).map((a) => a.status)).toEqual(Array(5).fill(429));
    expect((JSON.parse(answers[19]!.body) as { detail: string }).detail).toMatch(/per credential/);
    // Another credential from the same addresses still gets through.
    expect((await call(url, { from: '127.0.1.1', token: generateToken() })).status).toBe(401);
    const metrics = await call(`http://127.0.0.1:${port}/metrics`, { from: '127.0.2.1' });
    expect(metrics.body).toMatch(/tokenledger_rate_limited_total\{limit="ip"\} (\d+)/);
    expect(metrics.body).toMatch(/tokenledger_rate_limited_total\{limit="principal"\} 5\b/);
  }, 60_000);
});
