import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { isProcessAlive, sleep, stopProcess, withLock } from './process';

/** Where the broker's jars, config and scripts live in the repository. */
export const KAFKA_INFRA_DIR = path.resolve(__dirname, '..', 'kafka');

export interface BrokerOptions {
  /** Folder for this broker's data, logs and pid file (e.g. `.tokenledger/kafka`). */
  dataDir: string;
  port?: number;
  controllerPort?: number;
  /** Heap for the JVM, e.g. `512m`. */
  heap?: string;
  log?: (line: string) => void;
  startTimeoutMs?: number;
  /**
   * Run the client listener as SASL_PLAINTEXT with SCRAM-SHA-512 and the StandardAuthorizer
   * (docs/design/kafka-security.md). The principals' passwords are generated once per data dir
   * and kept in `credentials.json` (0600) there. Only when the storage is formatted here: a data
   * dir formatted without SASL is refused.
   */
  sasl?: boolean;
}

/** The SCRAM principals a SASL broker is formatted with: the admin (super user) and the clients. */
export const KAFKA_PRINCIPALS = [
  'admin',
  'issuance',
  'revocation',
  'anomaly',
  'ledger',
  'usage-reporter',
] as const;
export type KafkaPrincipal = (typeof KAFKA_PRINCIPALS)[number];

export interface KafkaCredentials {
  mechanism: 'scram-sha-512';
  username: string;
  password: string;
}

export interface LocalBroker {
  brokers: string;
  pid: number;
  /** True when this call started the process; false when one was already answering. */
  startedHere: boolean;
  /** With `sasl`: every principal's SCRAM credentials (never log them). */
  credentials?: Record<KafkaPrincipal, KafkaCredentials>;
  stop: () => Promise<void>;
}

const DEFAULT_PORT = 9092;

/**
 * Resolves the pinned Kafka jars from Maven Central into `infra/kafka/target/dependency`
 * (once; again only when pom.xml changed). Returns the classpath glob.
 */
export function resolveKafkaJars(log: (line: string) => void = () => undefined): string {
  const pom = path.join(KAFKA_INFRA_DIR, 'pom.xml');
  const depDir = path.join(KAFKA_INFRA_DIR, 'target', 'dependency');
  const stamp = path.join(depDir, '.resolved');
  const fresh = fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= fs.statSync(pom).mtimeMs;
  if (!fresh) {
    log('resolving Apache Kafka jars from Maven Central (mvn dependency:copy-dependencies)');
    fs.rmSync(depDir, { recursive: true, force: true });
    const result = spawnSync('mvn', ['-q', '-B', 'dependency:copy-dependencies'], {
      cwd: KAFKA_INFRA_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
    if (result.error) {
      throw new Error(`cannot run mvn (is Maven installed?): ${result.error.message}`);
    }
    if (result.status !== 0) {
      throw new Error(`mvn dependency:copy-dependencies failed:\n${result.stdout}${result.stderr}`);
    }
    fs.writeFileSync(stamp, new Date().toISOString());
  }
  return `${depDir}${path.sep}*`;
}

/** The pinned Kafka version, read from pom.xml. */
export function pinnedKafkaVersion(): string {
  const pom = fs.readFileSync(path.join(KAFKA_INFRA_DIR, 'pom.xml'), 'utf8');
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (!match?.[1]) throw new Error('infra/kafka/pom.xml has no <kafka.version>');
  return match[1];
}

/**
 * Sends a Kafka ApiVersions (v0) request and resolves true when the broker answers it without
 * error. This is the "answers" check: an open TCP port alone does not mean the broker is serving.
 */
export function brokerAnswers(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const clientId = Buffer.from('tokenledger-probe');
    const correlationId = 0x7e57;
    const header = Buffer.alloc(2 + 2 + 4 + 2);
    header.writeInt16BE(18, 0); // ApiVersions
    header.writeInt16BE(0, 2); // version 0
    header.writeInt32BE(correlationId, 4);
    header.writeInt16BE(clientId.length, 8);
    const body = Buffer.concat([header, clientId]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length, 0);

    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write(Buffer.concat([size, body])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 10) return;
      const gotCorrelation = received.readInt32BE(4);
      const errorCode = received.readInt16BE(8);
      done(gotCorrelation === correlationId && errorCode === 0);
    });
  });
}

export async function waitForBroker(
  host: string,
  port: number,
  timeoutMs: number,
  isAlive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await brokerAnswers(host, port)) return;
    if (!isAlive()) throw new Error('the Kafka broker process exited while starting');
    await sleep(250);
  }
  throw new Error(`Kafka broker on ${host}:${port} did not answer within ${timeoutMs} ms`);
}

function credentialsFile(dataDir: string): string {
  return path.join(dataDir, 'credentials.json');
}

/** `<dataDir>/credentials/<principal>`: each principal's password alone (0600, dir 0700). */
export function passwordDir(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'credentials');
}

/**
 * The principals' SCRAM passwords of the broker in `dataDir`: read from `credentials.json`, or
 * generated (32 random bytes each) and written 0600 when the file does not exist yet.
 */
export function brokerCredentials(dataDir: string): Record<KafkaPrincipal, KafkaCredentials> {
  const file = credentialsFile(path.resolve(dataDir));
  let passwords: Partial<Record<string, string>>;
  if (fs.existsSync(file)) {
    passwords = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Record<string, string>>;
  } else {
    passwords = Object.fromEntries(
      KAFKA_PRINCIPALS.map((name) => [name, randomBytes(32).toString('base64url')]),
    );
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(passwords, null, 2), { mode: 0o600 });
  }
  // One file per principal too, for KAFKA_SASL_PASSWORD_FILE (e.g. the CLI as the admin).
  const dir = passwordDir(dataDir);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const entries = KAFKA_PRINCIPALS.map((name) => {
    const password = passwords[name];
    if (!password) throw new Error(`${file} has no password for the Kafka principal "${name}"`);
    const own = path.join(dir, name);
    if (!fs.existsSync(own)) fs.writeFileSync(own, `${password}\n`, { mode: 0o600 });
    return [name, { mechanism: 'scram-sha-512' as const, username: name, password }];
  });
  return Object.fromEntries(entries) as Record<KafkaPrincipal, KafkaCredentials>;
}

/** Settings that turn the template's PLAINTEXT client listener into SASL/SCRAM with ACLs. */
function saslSettings(port: number, admin: KafkaCredentials): Record<string, string> {
  return {
    listeners: `SASL_PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:@CONTROLLER_PORT@`,
    'advertised.listeners': `SASL_PLAINTEXT://127.0.0.1:${port}`,
    'inter.broker.listener.name': 'SASL_PLAINTEXT',
    'listener.security.protocol.map': 'SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config': `org.apache.kafka.common.security.scram.ScramLoginModule required username="${admin.username}" password="${admin.password}";`,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    // ANONYMOUS is the broker itself on the PLAINTEXT controller listener (127.0.0.1 only); no
    // client can be ANONYMOUS on the SASL listener.
    'super.users': `User:${admin.username};User:ANONYMOUS`,
    'allow.everyone.if.no.acl.found': 'false',
  };
}

function renderConfig(
  dataDir: string,
  port: number,
  controllerPort: number,
  overrides: Record<string, string> = {},
): string {
  const template = fs.readFileSync(path.join(KAFKA_INFRA_DIR, 'server.properties'), 'utf8');
  const pending = new Map(Object.entries(overrides));
  const lines = template.split('\n').map((line) => {
    const key = /^([a-z0-9._-]+)=/.exec(line)?.[1];
    if (key === undefined || !pending.has(key)) return line;
    const value = pending.get(key);
    pending.delete(key);
    return `${key}=${value}`;
  });
  for (const [key, value] of pending) lines.push(`${key}=${value}`);
  const rendered = lines
    .join('\n')
    .replaceAll('@DATA_DIR@', dataDir)
    .replaceAll('@PORT@', String(port))
    .replaceAll('@CONTROLLER_PORT@', String(controllerPort));
  const file = path.join(dataDir, 'server.properties');
  // 0600: with SASL it holds the admin's password.
  fs.writeFileSync(file, rendered, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}

function javaArgs(classpath: string, dataDir: string, heap: string): string[] {
  return [
    `-Xmx${heap}`,
    `-Xms${heap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dkafka.logs.dir=${path.join(dataDir, 'logs')}`,
    `-Dlog4j2.configurationFile=${path.join(KAFKA_INFRA_DIR, 'log4j2.yaml')}`,
    '-cp',
    classpath,
  ];
}

/** Formats the KRaft storage once; a formatted data dir is left as it is. */
function formatStorageOnce(
  classpath: string,
  dataDir: string,
  configFile: string,
  heap: string,
  scram: KafkaCredentials[] | undefined,
): void {
  const saslMarker = path.join(dataDir, 'data', '.sasl');
  if (fs.existsSync(path.join(dataDir, 'data', 'meta.properties'))) {
    if (scram && !fs.existsSync(saslMarker)) {
      throw new Error(
        `the Kafka storage in ${dataDir} was formatted without SASL users: use a new TOKENLEDGER_HOME (or delete ${dataDir})`,
      );
    }
    return;
  }
  // A Kafka cluster id is 16 random bytes in URL-safe base64 without padding.
  const clusterId = randomBytes(16).toString('base64url');
  const result = spawnSync(
    'java',
    [
      ...javaArgs(classpath, dataDir, heap),
      'kafka.tools.StorageTool',
      'format',
      // `=`: a base64url id may start with '-', which would read as an option.
      `--cluster-id=${clusterId}`,
      '-c',
      configFile,
      ...(scram ?? []).flatMap((c) => [
        '--add-scram',
        `SCRAM-SHA-512=[name=${c.username},password=${c.password}]`,
      ]),
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) {
    // The output never echoes the --add-scram arguments; it is passed on as it is.
    throw new Error(`formatting Kafka storage failed:\n${result.stdout}${result.stderr}`);
  }
  if (scram) fs.writeFileSync(saslMarker, 'SCRAM-SHA-512\n');
}

function pidFile(dataDir: string): string {
  return path.join(dataDir, 'broker.pid');
}

function readPid(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(dataDir), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes sure a single-node KRaft broker answers on 127.0.0.1:`port`, starting the project's own
 * (from the Maven-resolved jars, with `java`) when nothing answers there. Safe to call from
 * several processes at once: a lock in `dataDir` lets exactly one of them start the broker.
 */
export async function ensureLocalBroker(options: BrokerOptions): Promise<LocalBroker> {
  const port = options.port ?? DEFAULT_PORT;
  const controllerPort = options.controllerPort ?? port + 1;
  const heap = options.heap ?? '512m';
  const log = options.log ?? (() => undefined);
  const dataDir = path.resolve(options.dataDir);
  const brokers = `127.0.0.1:${port}`;
  // Broker logs (stdout.log, and log4j's files in the same directory) are the owner's only.
  // Only the leaf is 0700: a recursive mkdir with a mode would make every missing parent 0700 too
  // (.tokenledger/ among them), which the postgres user must traverse to a private cluster there.
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(path.join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
  fs.chmodSync(path.join(dataDir, 'logs'), 0o700);

  return withLock(path.join(dataDir, 'start.lock'), async () => {
    const credentials = options.sasl ? brokerCredentials(dataDir) : undefined;
    if (await brokerAnswers('127.0.0.1', port)) {
      // Someone else's broker (another run, or a real cluster): never ours to stop.
      return {
        brokers,
        pid: readPid(dataDir) ?? -1,
        startedHere: false,
        credentials,
        stop: () => Promise.resolve(),
      };
    }
    const classpath = resolveKafkaJars(log);
    const configFile = renderConfig(
      dataDir,
      port,
      controllerPort,
      credentials ? saslSettings(port, credentials.admin) : {},
    );
    formatStorageOnce(
      classpath,
      dataDir,
      configFile,
      heap,
      credentials ? Object.values(credentials) : undefined,
    );
    log(
      `starting Apache Kafka ${pinnedKafkaVersion()} (KRaft${credentials ? ', SASL/SCRAM-SHA-512 + ACLs' : ''}) on ${brokers}`,
    );
    const out = fs.openSync(path.join(dataDir, 'logs', 'stdout.log'), 'a', 0o600);
    fs.fchmodSync(out, 0o600);
    const child = spawn(
      'java',
      [...javaArgs(classpath, dataDir, heap), 'kafka.Kafka', configFile],
      {
        detached: true,
        stdio: ['ignore', out, out],
      },
    );
    fs.closeSync(out);
    const pid = child.pid;
    if (pid === undefined) throw new Error('could not start java for the Kafka broker');
    child.unref();
    fs.writeFileSync(pidFile(dataDir), String(pid));
    try {
      await waitForBroker('127.0.0.1', port, options.startTimeoutMs ?? 90_000, () =>
        isProcessAlive(pid),
      );
    } catch (error) {
      await stopBrokerProcess(dataDir, pid);
      const tail = tailFile(path.join(dataDir, 'logs', 'stdout.log'), 30);
      throw new Error(`${(error as Error).message}\n--- broker output ---\n${tail}`, {
        cause: error,
      });
    }
    log(`Kafka broker ready on ${brokers} (pid ${pid})`);
    return {
      brokers,
      pid,
      startedHere: true,
      credentials,
      stop: () => stopBrokerProcess(dataDir, pid),
    };
  });
}

async function stopBrokerProcess(dataDir: string, pid: number): Promise<void> {
  await stopProcess(pid, 30_000);
  if (readPid(dataDir) === pid) fs.rmSync(pidFile(dataDir), { force: true });
}

/** Stops the broker recorded in `dataDir`, if it runs. */
export async function stopLocalBroker(dataDir: string): Promise<boolean> {
  const pid = readPid(path.resolve(dataDir));
  if (pid === undefined || !isProcessAlive(pid)) return false;
  await stopBrokerProcess(path.resolve(dataDir), pid);
  return true;
}

function tailFile(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}
