// Shared steps of `npm start` and `npm test`: dependencies, build, infrastructure.
import { spawnSync } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function say(line) {
  process.stdout.write(`[tokenledger] ${line}\n`);
}

export function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
  }
}

/**
 * An append stream to a log file that only its owner can read (0600), also when an older version
 * made it 0644: log lines name tokens, owners and addresses, and must not be world-readable.
 */
export function privateLog(file) {
  const out = createWriteStream(file, { flags: 'a', mode: 0o600 });
  if (existsSync(file)) chmodSync(file, 0o600);
  return out;
}

/** Installs dependencies when node_modules is missing or older than the lock file. */
export function ensureDependencies() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  say('installing dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

export function build() {
  say('building (turbo run build)');
  run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only']);
  // npm links a workspace's bin only when its target exists, and `npm ci` runs before the build:
  // link `tokenledger` (packages/cli/dist/main.js) now, so that `npx tokenledger` works.
  if (!existsSync(path.join(root, 'node_modules', '.bin', 'tokenledger')))
    run('npm', ['rebuild', '@tokenledger/cli', '--ignore-scripts']);
}

/** The compiled @tokenledger/infra package (available after build). */
export function infra() {
  const require = createRequire(import.meta.url);
  return require(path.join(root, 'infra', 'dist', 'index.js'));
}

/** The compiled @tokenledger/messaging package (available after build). */
export function messaging() {
  const require = createRequire(import.meta.url);
  return require(path.join(root, 'packages', 'messaging', 'dist', 'index.js'));
}

/**
 * On the local SASL broker (the default): creates the topics of `prefix` and grants every
 * principal its ACLs, as the admin, before the apps start (their own principals cannot create
 * topics). Nothing for a broker of yours (KAFKA_BROKERS): its operator provisions it.
 */
export async function provisionLocalKafka(stack, options = {}) {
  if (!stack.kafkaCredentials) return;
  await messaging().provisionCluster({
    brokers: stack.kafkaBrokers,
    admin: stack.kafkaCredentials.admin,
    ...options,
  });
}

/**
 * Makes this process, and every process it starts afterwards, a client of the local SASL broker
 * as its admin principal (KAFKA_SASL_* in process.env, read by createKafka). For the benchmarks,
 * whose own producers and consumers set up topics of their own; npm start, chaos and the e2e
 * harness give each app its own principal instead.
 */
export function useKafkaAdmin(stack) {
  Object.assign(process.env, infra().kafkaClientEnv(stack.kafkaCredentials, 'admin'));
}

/** `.tokenledger/` (or TOKENLEDGER_HOME): local state of `npm start`. */
export function stateDirPath() {
  return path.resolve(process.env.TOKENLEDGER_HOME ?? path.join(root, '.tokenledger'));
}

/** The compiled @tokenledger/ledger-core package (available after build). */
export function ledgerCore() {
  const require = createRequire(import.meta.url);
  return require(path.join(root, 'packages', 'ledger-core', 'dist', 'index.js'));
}
