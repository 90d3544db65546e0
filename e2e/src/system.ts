import { request as httpRequest } from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  SDK_SIGNER_TYPES,
  appSignerEntries,
  signerEntry,
  signingKeyFromSeed,
  type EventSignerEntry,
  type EventSigningKey,
} from '@tokenledger/contracts';
import { signerFromSeed, verifierKey } from '@tokenledger/ledger-core';
import { generateToken } from '@tokenledger/token-core';
import { provisionCluster } from '@tokenledger/messaging';
import {
  APP_ROLES,
  OWNER_ROLE,
  eventually,
  kafkaBrokers,
  kafkaClientEnv,
  kafkaTestCredentials,
} from '@tokenledger/testing';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

export const APP_NAMES = ['issuance', 'revocation', 'anomaly', 'ledger'] as const;
export type AppName = (typeof APP_NAMES)[number];

export interface RunningApp {
  name: AppName;
  url: string;
  process: ChildProcess;
  /** Everything the process wrote (JSON log lines), for assertions on what is logged. */
  output: string[];
}

/** The local witness of the system (packages/witness), on a fixed port and state directory. */
export interface RunningWitness {
  url: string;
  verifierKey: string;
  /** JSON log lines of the current process. */
  lines: Record<string, unknown>[];
  /** Stops the witness process (its state stays). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port, state and key. */
  start(): Promise<void>;
}

export interface RunningSystem {
  apps: Record<AppName, RunningApp>;
  /** Undefined when started with `witness: false`. */
  witness: RunningWitness | undefined;
  /** The root operator token (scope admin) registered at first start. */
  rootToken: string;
  /**
   * The environment of the apps (for starting more instances), the secrets included:
   * TOKENLEDGER_INTERNAL_SECRET and TOKEN_PEPPER (which spawnApp gives to issuance only).
   */
  env: Record<string, string>;
  /** The event signing keys of the system (docs/design/event-signing.md). */
  signing: SystemSigning;
  stop: () => Promise<void>;
}

export interface SystemSigning {
  /** Each app's key (spawnApp gives an app only its own, as EVENT_SIGNING_KEY). */
  apps: Record<AppName, EventSigningKey>;
  /** An SDK usage reporter's key: `token.used` from `/services/*` only. */
  sdk: EventSigningKey;
  /**
   * The test driver's key, for specs that write events to Kafka themselves (they stand in for
   * the apps): any type from any source. Production has no such signer.
   */
  driver: EventSigningKey;
  /** EVENT_SIGNERS of every app. */
  signers: EventSignerEntry[];
}

/** Fresh keys for one system, and the EVENT_SIGNERS that trusts them. */
export function systemSigning(): SystemSigning {
  const key = (id: string): EventSigningKey => signingKeyFromSeed(id, randomBytes(32));
  const apps = Object.fromEntries(APP_NAMES.map((name) => [name, key(`${name}-e2e-1`)])) as Record<
    AppName,
    EventSigningKey
  >;
  const sdk = key('sdk-e2e-1');
  const driver = key('e2e-driver-1');
  const signers = [
    ...appSignerEntries(apps),
    signerEntry(sdk, [...SDK_SIGNER_TYPES], ['/services/*']),
    signerEntry(driver, ['*'], ['*']),
  ];
  return { apps, sdk, driver, signers };
}

/** The signing environment of a system: EVENT_SIGNERS and EVENT_SIGNING_KEY_<APP> (spawnApp). */
export function signingEnv(signing: SystemSigning): Record<string, string> {
  return {
    EVENT_SIGNERS: JSON.stringify(signing.signers),
    ...Object.fromEntries(
      APP_NAMES.map((name) => [`EVENT_SIGNING_KEY_${name.toUpperCase()}`, signing.apps[name].text]),
    ),
  };
}

export function appEntry(name: AppName): string {
  return path.join(
    path.dirname(require.resolve(`@tokenledger/app-${name}/package.json`)),
    'dist',
    'main.js',
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The database settings of `name` as in production, on a database that freshDatabase made (and
 * provisioned the roles for): DATABASE_URL as the app's login role, DATABASE_OWNER_URL as the
 * owner of the schemas, which migrates and grants.
 */
export function roleEnv(
  name: AppName,
  databaseUrl: string,
): { DATABASE_URL: string; DATABASE_OWNER_URL: string } {
  const as = (role: string): string => {
    const u = new URL(databaseUrl);
    u.username = role;
    u.password = '';
    return u.toString();
  };
  return { DATABASE_URL: as(APP_ROLES[name]), DATABASE_OWNER_URL: as(OWNER_ROLE) };
}

/** Topic prefixes whose topics and ACLs {@link provisionKafka} made in this process. */
const provisioned = new Set<string>();

/**
 * Creates the topics of `prefix` and, on the run's SASL broker (the default), grants every
 * principal its ACLs for them, as an operator does before the apps start (the apps' own
 * principals cannot create topics). After this, {@link spawnApp} runs each app with that prefix
 * as its own Kafka principal.
 */
export async function provisionKafka(
  prefix: string,
  options: { partitions?: number; groupPrefix?: string } = {},
): Promise<void> {
  await provisionCluster({
    brokers: kafkaBrokers(),
    admin: kafkaTestCredentials()?.admin ?? null,
    prefix,
    partitions: options.partitions,
    groupPrefix: options.groupPrefix,
  });
  provisioned.add(prefix);
}

/**
 * Starts one app process. A DATABASE_URL without DATABASE_OWNER_URL is taken as the test
 * database's superuser URL: the app gets {@link roleEnv} instead, so every app of every e2e test
 * runs as its least-privilege role. An app whose TOPIC_PREFIX went through {@link provisionKafka}
 * (every app of {@link startSystem}) connects to Kafka as its own principal; others, as the
 * run's admin (unless `env` names a KAFKA_SASL_USERNAME).
 */
export function spawnApp(
  name: AppName,
  env: NodeJS.ProcessEnv,
): { process: ChildProcess; output: string[] } {
  const database =
    env.DATABASE_URL && !env.DATABASE_OWNER_URL ? roleEnv(name, env.DATABASE_URL) : {};
  // Only the app that hashes tokens gets the pepper (the others' config does not know it).
  const { TOKEN_PEPPER: pepper, ...rest } = { ...process.env, ...env };
  // Each app gets only its own event signing key (EVENT_SIGNING_KEY_<APP>, see signingEnv).
  const ownKey = rest[`EVENT_SIGNING_KEY_${name.toUpperCase()}`];
  for (const app of APP_NAMES) delete rest[`EVENT_SIGNING_KEY_${app.toUpperCase()}`];
  const ownPrincipal =
    !env.KAFKA_SASL_USERNAME && provisioned.has(env.TOPIC_PREFIX ?? '')
      ? kafkaClientEnv(kafkaTestCredentials(), name)
      : {};
  const child = spawn(process.execPath, [appEntry(name)], {
    env: {
      ...rest,
      ...ownPrincipal,
      ...(ownKey ? { EVENT_SIGNING_KEY: ownKey } : {}),
      ...(name === 'issuance' && pepper ? { TOKEN_PEPPER: pepper } : {}),
      ...database,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  return { process: child, output };
}

async function waitReady(app: RunningApp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let answer = '';
  while (Date.now() < deadline) {
    if (app.process.exitCode !== null) {
      throw new Error(
        `${app.name} exited with ${app.process.exitCode}:\n${app.output.join('').slice(-3000)}`,
      );
    }
    try {
      const res = await fetch(`${app.url}/health/ready`);
      if (res.status === 200) return;
      answer = `${res.status} ${await res.text()}`;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // The log without the readiness polls themselves.
  const log = app.output
    .join('')
    .split('\n')
    .filter((line) => !line.includes('/health/ready'))
    .join('\n');
  throw new Error(
    `${app.name} not ready after ${timeoutMs} ms (last answer: ${answer}):\n${log.slice(-3000)}`,
  );
}

const WITNESS_MAIN = path.join(
  path.dirname(require.resolve('@tokenledger/witness/package.json')),
  'dist',
  'main.js',
);

/** Waits until the app at `url` answers 200 on /health/ready (`what` names it on a timeout). */
export async function untilReady(url: string, what: string, ms = 60_000): Promise<void> {
  await eventually(
    async () =>
      (await fetch(`${url}/health/ready`).then(
        (r) => r.status,
        () => 0,
      )) === 200
        ? true
        : undefined,
    ms,
    what,
  );
}

/** The verifier key of a ledger whose LEDGER_SIGNING_KEY is the base64 seed `seed`. */
export function ledgerVerifierKey(origin: string, seed: string): string {
  return verifierKey(origin, signerFromSeed(origin, Buffer.from(seed, 'base64')).publicKey);
}

/**
 * Starts the witness on `port` with its own state directory and key, witnessing every log under
 * `<origin>/` signed by `logKey` (the ledger's verifier key).
 */
export async function startWitness(options: {
  port: number;
  stateDir: string;
  origin: string;
  logKey: string;
}): Promise<RunningWitness> {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const witness: RunningWitness = {
    url: `http://127.0.0.1:${options.port}/`,
    verifierKey: '',
    lines: [],
    stop: async (signal = 'SIGTERM') => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    start: async () => {
      const proc = spawn(process.execPath, [WITNESS_MAIN], {
        env: {
          PATH: process.env.PATH ?? '',
          WITNESS_NAME: 'witness.e2e.test/w1',
          WITNESS_STATE_DIR: options.stateDir,
          WITNESS_PORT: String(options.port),
          WITNESS_LOGS: JSON.stringify([
            { originPrefix: `${options.origin}/`, keys: [options.logKey] },
          ]),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      const lines: Record<string, unknown>[] = [];
      witness.lines = lines;
      const stderr: string[] = [];
      proc.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
        createInterface({ input: proc.stdout }).on('line', (line) => {
          try {
            const json = JSON.parse(line) as Record<string, unknown>;
            lines.push(json);
            if (json.msg === 'witness listening') resolve(json);
          } catch {
            // not a log line
          }
        });
        void exited.then(() =>
          reject(new Error(`witness exited before listening: ${stderr.join('')}`)),
        );
      });
      witness.verifierKey = String(listening.verifierKey);
    },
  };
  await witness.start();
  return witness;
}

/**
 * Starts the four apps as real processes on free ports and waits until each is ready. Unless
 * `options.witness` is false, one local witness runs too and the ledger submits to it
 * (LEDGER_WITNESSES), as under `npm start`.
 */
export async function startSystem(
  env: { DATABASE_URL: string; KAFKA_BROKERS: string; TOPIC_PREFIX: string } & Record<
    string,
    string
  >,
  options: {
    /** false: no witness; a running one: the ledger submits to it, and stop() leaves it running. */
    witness?: boolean | RunningWitness;
    signing?: SystemSigning;
    /** The secrets of an earlier system (its `env`), for a restart on a restored database. */
    secrets?: Pick<
      Record<string, string>,
      'TOKENLEDGER_INTERNAL_SECRET' | 'TOKEN_PEPPER' | 'TOKENLEDGER_ROOT_TOKEN'
    >;
  } = {},
): Promise<RunningSystem> {
  await provisionKafka(env.TOPIC_PREFIX, {
    partitions: env.TOPIC_PARTITIONS ? Number(env.TOPIC_PARTITIONS) : undefined,
    groupPrefix: env.KAFKA_GROUP_PREFIX,
  });
  const signing = options.signing ?? systemSigning();
  const apps = {} as Record<AppName, RunningApp>;
  const ports = {} as Record<AppName, number>;
  for (const name of APP_NAMES) ports[name] = await freePort();
  const rootToken = options.secrets?.TOKENLEDGER_ROOT_TOKEN ?? generateToken();
  const signingSeed = env.LEDGER_SIGNING_KEY ?? randomBytes(32).toString('base64');
  const origin = env.LEDGER_ORIGIN ?? 'tokenledger.local/ledger';
  let witness = typeof options.witness === 'object' ? options.witness : undefined;
  let witnessDir: string | undefined;
  if (options.witness === undefined || options.witness === true) {
    witnessDir = mkdtempSync(path.join(os.tmpdir(), 'tokenledger-e2e-witness-'));
    witness = await startWitness({
      port: await freePort(),
      stateDir: witnessDir,
      origin,
      logKey: ledgerVerifierKey(origin, signingSeed),
    });
  }
  const shared = {
    ...(witness ? { LEDGER_WITNESSES: `${witness.verifierKey}@${witness.url}` } : {}),
    ...env,
    LOG_LEVEL: 'info',
    TOKENLEDGER_INTERNAL_SECRET:
      options.secrets?.TOKENLEDGER_INTERNAL_SECRET ?? randomBytes(32).toString('base64url'),
    TOKEN_PEPPER: options.secrets?.TOKEN_PEPPER ?? randomBytes(32).toString('base64'),
    LEDGER_SIGNING_KEY: signingSeed,
    TOKENLEDGER_ROOT_TOKEN: rootToken,
    REVOCATION_URL: `http://127.0.0.1:${ports.revocation}`,
    ISSUANCE_URL: `http://127.0.0.1:${ports.issuance}`,
    ...signingEnv(signing),
  };
  for (const name of APP_NAMES) {
    const { process: child, output } = spawnApp(name, { ...shared, PORT: String(ports[name]) });
    apps[name] = { name, url: `http://127.0.0.1:${ports[name]}`, process: child, output };
  }
  const stop = async (): Promise<void> => {
    await Promise.all(
      Object.values(apps).map(
        (app) =>
          new Promise<void>((resolve) => {
            if (app.process.exitCode !== null || app.process.signalCode !== null) return resolve();
            const timer = setTimeout(() => app.process.kill('SIGKILL'), 10_000);
            app.process.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            app.process.kill('SIGTERM');
          }),
      ),
    );
    if (witnessDir) {
      await witness?.stop();
      rmSync(witnessDir, { recursive: true, force: true });
    }
  };
  try {
    await Promise.all(Object.values(apps).map((app) => waitReady(app, 90_000)));
  } catch (error) {
    await stop();
    throw error;
  }
  return { apps, witness, rootToken, env: shared, signing, stop };
}

/**
 * A POST whose headers declare a `length`-byte JSON body that is never sent; resolves with the
 * answer (a limit is enforced from the header alone).
 */
export function declaredBodyPost(
  url: string,
  length: number,
  headers: Record<string, string> = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(length) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers))
          if (typeof v === 'string') headers.set(k, v);
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers }));
        req.destroy();
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}
