// `npm start`: the whole system on this machine. Installs dependencies if missing, builds, starts
// (or finds) Kafka and PostgreSQL, starts one local witness and the four apps, prints one ready
// line. Ctrl-C or SIGTERM stops everything it started, the broker included. Once ready it
// supervises the apps: one that crashes is restarted with backoff while the others keep serving.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import {
  build,
  ensureDependencies,
  eventSigning,
  extraSignersFromEnv,
  infra,
  ledgerCore,
  privateLog,
  provisionLocalKafka,
  root,
  say,
} from './lib.mjs';

const APPS = [
  { name: 'issuance', port: 4001 },
  { name: 'revocation', port: 4002 },
  { name: 'anomaly', port: 4003 },
  { name: 'ledger', port: 4004 },
];

ensureDependencies();
// TOKENLEDGER_NO_BUILD=1: the tree is built already (tests of this script, CI).
if (process.env.TOKENLEDGER_NO_BUILD !== '1') build();

const { ensureInfrastructure, kafkaClientEnv, stateDir } = infra();
// Logs may hold what an operator would rather keep private (token ids, owners, addresses): the
// directory is 0700 and every file 0600, also when they were made by an older version.
const logDir = path.join(stateDir(), 'logs');
// Only logs/ is 0700 (a recursive mode would apply to .tokenledger/ too, which the postgres user
// must traverse when a private cluster lives there).
mkdirSync(path.dirname(logDir), { recursive: true });
mkdirSync(logDir, { recursive: true, mode: 0o700 });
chmodSync(logDir, 0o700);

// Secrets of this local installation, made once: the apps' shared internal secret and the
// pepper under which token hashes are stored. Kept in .tokenledger/secrets.json (mode 0600).
// Only issuance hashes tokens, so only issuance gets TOKEN_PEPPER (see below). Losing this file
// loses the pepper: issuance then refuses to start (docs/design/operations.md, "Secrets").
const secretsFile = path.join(stateDir(), 'secrets.json');
if (!existsSync(secretsFile)) {
  const secrets = {
    TOKENLEDGER_INTERNAL_SECRET: randomBytes(32).toString('base64url'),
    TOKEN_PEPPER: randomBytes(32).toString('base64'),
  };
  writeFileSync(secretsFile, JSON.stringify(secrets, null, 2), { mode: 0o600 });
}
const secrets = JSON.parse(readFileSync(secretsFile, 'utf8'));
// Passwords of the database roles (the owner, one login role per app), made once, kept apart
// from secrets.json: each app gets only its own, in its DATABASE_URL.
const rolesFile = path.join(stateDir(), 'database-roles.json');
if (!existsSync(rolesFile)) {
  const passwords = Object.fromEntries(
    ['owner', ...APPS.map((a) => a.name)].map((who) => [
      who,
      randomBytes(24).toString('base64url'),
    ]),
  );
  writeFileSync(rolesFile, JSON.stringify(passwords, null, 2), { mode: 0o600 });
}
const rolePasswords = JSON.parse(readFileSync(rolesFile, 'utf8'));

const children = new Map();
/** Set once every app was ready; from then on a crashed app is restarted (see startApp). */
let systemReady = false;
const restartTimers = new Set();
let stack;
let stopping = false;

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  say('stopping...');
  for (const timer of restartTimers) clearTimeout(timer);
  await Promise.all(
    [...children.values()].map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  if (stack) {
    if (stack.started.length > 0) say(`stopping ${stack.started.join(', ')}`);
    await stack.stop();
  }
  say('stopped');
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  stack = await ensureInfrastructure({
    database: 'tokenledger',
    log: say,
    roles: { passwords: rolePasswords },
  });
  await provisionLocalKafka(stack);
} catch (error) {
  say(`infrastructure failed: ${error.message}`);
  await shutdown(1);
}
if (stack.kafkaCredentials)
  say('kafka: SASL/SCRAM with ACLs; each app connects as its own principal');

// The ledger's signing key, made here when missing (the ledger would make the same file), so the
// witness can be configured with its verifier key before the ledger starts.
const signingKeyFile = path.join(stateDir(), 'ledger-signing-key');
if (!existsSync(signingKeyFile) && !process.env.LEDGER_SIGNING_KEY)
  writeFileSync(signingKeyFile, `${randomBytes(32).toString('base64')}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
const ledgerOrigin = process.env.LEDGER_ORIGIN ?? 'tokenledger.local/ledger';

// Event signing keys, one per app, made once into .tokenledger/signing/<app>.key (0600); every
// app trusts them for what that app produces, plus EVENT_SIGNERS_EXTRA (e.g. SDK reporters' keys).
const signing = eventSigning({
  dir: path.join(stateDir(), 'signing'),
  extraSigners: extraSignersFromEnv(),
});
const { signerFromSeed, verifierKey } = ledgerCore();
const ledgerKey = verifierKey(
  ledgerOrigin,
  signerFromSeed(
    ledgerOrigin,
    Buffer.from(
      (process.env.LEDGER_SIGNING_KEY ?? readFileSync(signingKeyFile, 'utf8')).trim(),
      'base64',
    ),
  ).publicKey,
);

// One local witness (packages/witness), its own state and key in .tokenledger/witness, witnessing
// every log of the ledger (origin prefix). A witness run by someone else: see docs/design/witness.md.
const witnessPort = Number(process.env.WITNESS_PORT ?? 4005);
/**
 * Starts a process that is not an app (the witness, the console): its output goes to
 * `<logDir>/<name>.log` (0600), warnings and errors are echoed when `echo`, and the start waits
 * for the first JSON log line that `ready(entry)` accepts, which it returns. An exit before that
 * line, or at any time before Ctrl-C, stops the whole system: these are not supervised.
 */
async function startCompanion(name, entry, env, { ready, echo = false }) {
  const logFile = path.join(logDir, `${name}.log`);
  const child = spawn(process.execPath, [entry], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.set(name, child);
  let readyEntry;
  try {
    readyEntry = await new Promise((resolve, reject) => {
      const out = privateLog(logFile);
      createInterface({ input: child.stdout }).on('line', (line) => {
        out.write(`${line}\n`);
        try {
          const logged = JSON.parse(line);
          if (ready(logged)) resolve(logged);
          if (echo && (logged.level === 'warn' || logged.level === 'error'))
            say(`${name} ${logged.level.toUpperCase()}: ${logged.msg}`);
        } catch {
          // not a log line
        }
      });
      child.stderr.on('data', (d) => out.write(d));
      child.once('exit', (code) =>
        reject(new Error(`the ${name} exited (${code}); see ${logFile}`)),
      );
    });
  } catch (error) {
    say(error.message);
    await shutdown(1);
  }
  child.on('exit', (code, signal) => {
    if (stopping) return;
    say(`${name} exited (${signal ?? code}); see ${logFile}`);
    void shutdown(1);
  });
  return readyEntry;
}

const { verifierKey: witnessKey } = await startCompanion(
  'witness',
  path.join(root, 'packages', 'witness', 'dist', 'main.js'),
  {
    WITNESS_NAME: process.env.WITNESS_NAME ?? 'witness.tokenledger.local/w1',
    WITNESS_STATE_DIR: path.join(stateDir(), 'witness'),
    WITNESS_PORT: String(witnessPort),
    WITNESS_LOGS: JSON.stringify([{ originPrefix: `${ledgerOrigin}/`, keys: [ledgerKey] }]),
  },
  { ready: (logged) => logged.msg === 'witness listening', echo: true },
);
const witnessUrl = `http://127.0.0.1:${witnessPort}/`;

const LEVELS = { 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
for (const app of APPS)
  app.port = Number(process.env[`${app.name.toUpperCase()}_PORT`] ?? app.port);
const portOf = (name) => APPS.find((a) => a.name === name).port;

// Each app as its own login role; migrations and grants as the owner (docs/design/operations.md).
// A DATABASE_URL of yours is used as is, with your DATABASE_OWNER_URL if you set one.
const databaseEnv = (name) =>
  stack.roles
    ? { DATABASE_URL: stack.roles.appUrls[name], DATABASE_OWNER_URL: stack.roles.ownerUrl }
    : { DATABASE_URL: stack.databaseUrl };
if (stack.roles)
  say('database: each app connects as tokenledger_<app>; tokenledger_owner migrates');

// The pepper goes to the app that hashes tokens (issuance) and to no other.
const { TOKEN_PEPPER: pepper, ...sharedSecrets } = secrets;
const envOf = (app) => {
  const inherited = { ...process.env };
  delete inherited.TOKEN_PEPPER;
  delete inherited.EVENT_SIGNING_KEY;
  delete inherited.EVENT_SIGNERS_EXTRA;
  return {
    ...sharedSecrets,
    ...(app.name === 'issuance' ? { TOKEN_PEPPER: process.env.TOKEN_PEPPER ?? pepper } : {}),
    ...inherited,
    PORT: String(app.port),
    ...databaseEnv(app.name),
    KAFKA_BROKERS: stack.kafkaBrokers,
    ...kafkaClientEnv(stack.kafkaCredentials, app.name),
    ISSUANCE_URL: `http://127.0.0.1:${portOf('issuance')}`,
    REVOCATION_URL: `http://127.0.0.1:${portOf('revocation')}`,
    ROOT_TOKEN_FILE: path.join(stateDir(), 'root-token'),
    LEDGER_SIGNING_KEY_FILE: signingKeyFile,
    ...signing.envOf(app.name),
    LEDGER_WITNESSES: process.env.LEDGER_WITNESSES ?? `${witnessKey}@${witnessUrl}`,
  };
};

// Supervision: once the system has been ready, an app that exits is started again after a
// backoff (0.5 s, doubled after each crash that follows a short run, at most 30 s; a run of 60 s
// or more resets it), and the failure is logged with the last lines of its log. The other apps
// keep serving. Before the first ready line an exit still stops everything: that is a boot
// problem (configuration, database), which a restart would only repeat.
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
const STABLE_RUN_MS = 60_000;

function startApp(app) {
  const logFile = path.join(logDir, `${app.name}.log`);
  const out = privateLog(logFile);
  const child = spawn(process.execPath, [path.join(root, 'apps', app.name, 'dist', 'main.js')], {
    cwd: root,
    env: envOf(app),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const startedAt = Date.now();
  app.logFile = logFile;
  children.set(app.name, child);
  say(`${app.name}: started (pid ${child.pid})`);
  // JSON log lines go to .tokenledger/logs/<app>.log and warnings/errors are echoed here. Other
  // output (the one-time root token banner) goes to this terminal only, never to a log file.
  const echo = (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        process.stdout.write(`${line}\n`);
        continue;
      }
      out.write(`${line}\n`);
      if (entry.level >= 40) say(`${app.name} ${LEVELS[entry.level] ?? entry.level}: ${entry.msg}`);
    }
  };
  child.stdout.on('data', echo);
  child.stderr.on('data', echo);
  child.on('exit', (code, signal) => {
    out.end();
    if (stopping) return;
    say(`${app.name} exited (${signal ?? code}); last lines of ${logFile}:`);
    const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-10);
    for (const line of tail) process.stdout.write(`  ${line}\n`);
    if (!systemReady) {
      void shutdown(1);
      return;
    }
    const ranFor = Date.now() - startedAt;
    app.failures = ranFor >= STABLE_RUN_MS ? 0 : (app.failures ?? 0) + 1;
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.max(0, app.failures - 1));
    say(`${app.name}: restarting in ${delay} ms (crash ${app.failures} in a row)`);
    const timer = setTimeout(() => {
      restartTimers.delete(timer);
      if (stopping) return;
      startApp(app);
      ready(app).then(
        () => say(`${app.name}: back, ready on http://127.0.0.1:${app.port}`),
        (error) => say(`${app.name}: ${error.message}`),
      );
    }, delay);
    restartTimers.add(timer);
  });
}

for (const app of APPS) startApp(app);

// Ready means caught up with Kafka as of the app's start (docs/design/freshness.md): with a long
// backlog that can take a while, so time spent catching up does not count against the deadline;
// progress is shown every 10 s.
async function ready(app) {
  let deadline = Date.now() + 180_000;
  let shownAt = 0;
  while (Date.now() < deadline && !stopping) {
    try {
      const res = await fetch(`http://127.0.0.1:${app.port}/health/ready`);
      if (res.status === 200) return;
      const body = await res.text();
      if (body.includes('catching up')) {
        deadline = Date.now() + 180_000;
        if (Date.now() - shownAt >= 10_000) {
          shownAt = Date.now();
          const reason = /consumers: ([^)"]*)/.exec(body)?.[1] ?? 'catching up';
          say(`${app.name}: ${reason}`);
        }
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${app.name} was not ready within 180 s (see ${app.logFile})`);
}

try {
  await Promise.all(APPS.map(ready));
} catch (error) {
  say(error.message);
  await shutdown(1);
}
// The console (apps/console): the SPA and one origin for the four APIs. It has no credential of
// its own; the browser verifies against the keys pinned here: the ledger's and the local witness's.
const consolePort = Number(process.env.CONSOLE_PORT ?? 4000);
await startCompanion(
  'console',
  path.join(root, 'apps', 'console', 'dist', 'server', 'main.js'),
  {
    CONSOLE_PORT: String(consolePort),
    ...Object.fromEntries(
      APPS.map((a) => [`${a.name.toUpperCase()}_URL`, `http://127.0.0.1:${a.port}`]),
    ),
    CONSOLE_LOG_KEYS: process.env.CONSOLE_LOG_KEYS ?? ledgerKey,
    CONSOLE_WITNESS_KEYS: process.env.CONSOLE_WITNESS_KEYS ?? witnessKey,
  },
  { ready: (logged) => logged.msg === 'console listening' },
);

systemReady = true;
say(
  `ready: console http://127.0.0.1:${consolePort}  ` +
    `${APPS.map((a) => `${a.name} http://127.0.0.1:${a.port}`).join('  ')}  ` +
    `witness ${witnessUrl} (${witnessKey})  ` +
    `(kafka ${stack.kafkaBrokers}; API docs at /docs; Ctrl-C stops everything)`,
);
