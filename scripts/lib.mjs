// Shared steps of `npm start` and `npm test`: dependencies, build, infrastructure.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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

const requireHere = createRequire(import.meta.url);
/** A workspace package's compiled entry point (`<dir>/dist/index.js`; available after build). */
const compiled = (...dir) => requireHere(path.join(root, ...dir, 'dist', 'index.js'));

/** The compiled @tokenledger/infra package (available after build). */
export function infra() {
  return compiled('infra');
}

/** The compiled @tokenledger/messaging package (available after build). */
export function messaging() {
  return compiled('packages', 'messaging');
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
  return compiled('packages', 'ledger-core');
}

/** The compiled @tokenledger/contracts package (available after build). */
export function contracts() {
  return compiled('packages', 'contracts');
}

const SIGNING_APPS = ['issuance', 'revocation', 'anomaly', 'ledger'];

/**
 * Event signing for a launcher (docs/design/event-signing.md): one Ed25519 key per app and
 * EVENT_SIGNERS trusting them (each for the types it produces, from its own source).
 * - `dir`: keys are made once into `<dir>/<app>.key` (0600, directory 0700) and reused, and each
 *   app gets EVENT_SIGNING_KEY_FILE; without it the keys live in memory for this run only.
 * - `driver`: also a key for a benchmark or test that writes events to Kafka itself, trusted for
 *   any type (never in `npm start`).
 * - `extraSigners`: more EVENT_SIGNERS entries (e.g. EVENT_SIGNERS_EXTRA: SDK reporters' keys).
 * Returns `envOf(app)` (that app's variables: its own key only) and the keys.
 */
export function eventSigning({ dir, driver = false, extraSigners = [] } = {}) {
  const { appSignerEntries, parseSigningKey, signerEntry, signingKeyFromSeed } = contracts();
  const keys = {};
  const files = {};
  if (dir) mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const app of SIGNING_APPS) {
    const keyId = `${app}-${randomBytes(3).toString('hex')}`;
    if (!dir) {
      keys[app] = signingKeyFromSeed(keyId, randomBytes(32));
      continue;
    }
    const file = path.join(dir, `${app}.key`);
    if (!existsSync(file))
      writeFileSync(file, `${keyId}:${randomBytes(32).toString('base64url')}\n`, {
        mode: 0o600,
        flag: 'wx',
      });
    chmodSync(file, 0o600);
    files[app] = file;
    keys[app] = parseSigningKey(readFileSync(file, 'utf8'));
  }
  const driverKey = driver ? signingKeyFromSeed('driver-1', randomBytes(32)) : undefined;
  const signers = [
    ...appSignerEntries(keys),
    ...(driverKey ? [signerEntry(driverKey, ['*'], ['*'])] : []),
    ...extraSigners,
  ];
  const EVENT_SIGNERS = JSON.stringify(signers);
  return {
    keys,
    driverKey,
    signers,
    envOf: (app) => ({
      EVENT_SIGNERS,
      ...(files[app]
        ? { EVENT_SIGNING_KEY_FILE: files[app] }
        : { EVENT_SIGNING_KEY: keys[app].text }),
    }),
  };
}

/** EVENT_SIGNERS_EXTRA (a JSON list of more signers, e.g. SDK reporters), or none. */
export function extraSignersFromEnv() {
  const text = process.env.EVENT_SIGNERS_EXTRA;
  if (!text) return [];
  return contracts().parseEventSigners(text);
}

let benchSigningOnce;
/**
 * Signing for benchmarks that spawn a ledger and write events to Kafka themselves: the ledger's
 * environment (EVENT_SIGNERS with a driver key) and the encodeEvent options that sign with that
 * key; one set per process. BENCH_EVENT_SIGNING=off: neither (unsigned, unchecked, to compare).
 */
export function benchSigning() {
  if (process.env.BENCH_EVENT_SIGNING === 'off') return { ledgerEnv: {}, encodeOptions: {} };
  benchSigningOnce ??= eventSigning({ driver: true });
  return {
    ledgerEnv: benchSigningOnce.envOf('ledger'),
    encodeOptions: { signingKey: benchSigningOnce.driverKey },
  };
}
