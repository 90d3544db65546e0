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
}

export interface LocalBroker {
  brokers: string;
  pid: number;
  /** True when this call started the process; false when one was already answering. */
  startedHere: boolean;
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

function renderConfig(dataDir: string, port: number, controllerPort: number): string {
  const template = fs.readFileSync(path.join(KAFKA_INFRA_DIR, 'server.properties'), 'utf8');
  const rendered = template
    .replaceAll('@DATA_DIR@', dataDir)
    .replaceAll('@PORT@', String(port))
    .replaceAll('@CONTROLLER_PORT@', String(controllerPort));
  const file = path.join(dataDir, 'server.properties');
  fs.writeFileSync(file, rendered);
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
): void {
  if (fs.existsSync(path.join(dataDir, 'data', 'meta.properties'))) return;
  // A Kafka cluster id is 16 random bytes in URL-safe base64 without padding.
  const clusterId = randomBytes(16).toString('base64url');
  const result = spawnSync(
    'java',
    [
      ...javaArgs(classpath, dataDir, heap),
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      configFile,
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(`formatting Kafka storage failed:\n${result.stdout}${result.stderr}`);
  }
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
  fs.mkdirSync(path.join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
  fs.chmodSync(path.join(dataDir, 'logs'), 0o700);

  return withLock(path.join(dataDir, 'start.lock'), async () => {
    if (await brokerAnswers('127.0.0.1', port)) {
      // Someone else's broker (another run, or a real cluster): never ours to stop.
      return {
        brokers,
        pid: readPid(dataDir) ?? -1,
        startedHere: false,
        stop: () => Promise.resolve(),
      };
    }
    const classpath = resolveKafkaJars(log);
    const configFile = renderConfig(dataDir, port, controllerPort);
    formatStorageOnce(classpath, dataDir, configFile, heap);
    log(`starting Apache Kafka ${pinnedKafkaVersion()} (KRaft) on ${brokers}`);
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
    return { brokers, pid, startedHere: true, stop: () => stopBrokerProcess(dataDir, pid) };
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
