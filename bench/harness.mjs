// What the benchmarks share: local Kafka + PostgreSQL, a fresh database and topic prefix, the
// apps as real processes with generated secrets and a known root token, and a clean stop.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { build, ensureDependencies, infra, root, say } from '../scripts/lib.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

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
  const children = Object.entries(options.apps).map(([name, port]) =>
    spawn(process.execPath, [path.join(root, 'apps', name, 'dist', 'main.js')], { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] }),
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
