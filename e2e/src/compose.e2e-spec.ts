// docker-compose.yml cannot run here (no Docker engine), so this runs what it describes outside
// Docker: every service built from the Dockerfile (db-roles, kafka-setup, witness-keys, the four
// apps and the witness) with its
// command and its environment (the image's ENV, then the service's), the same variable names and
// values, with only these mapped:
// - hostnames: postgres:5432/tokenledger -> the test server and a fresh database, kafka:9092 -> the
//   run's broker, http://issuance:4001 etc. -> 127.0.0.1 and a free port (PORT and WITNESS_PORT
//   likewise), HOST and WITNESS_HOST -> 127.0.0.1;
// - container paths: /run/secrets/<name> -> the file compose mounts there, made by
//   scripts/compose-init in a temp dir (the Kafka passwords: the run's broker's, whose SCRAM users
//   were made at its format); a volume's mount point (/var/lib/tokenledger, the witness-keys job's
//   /var/lib/tokenledger-witness) -> a temp dir per volume;
// - TOPIC_PREFIX: a fresh one, added to each service, so that this spec has its own topics.
// The kafka service's entrypoint (infra/docker/kafka-sasl.sh) runs too, on the Maven-resolved
// Kafka jars instead of the apache/kafka image (its bin/ scripts replaced by two shims).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { APP_SIGNER_TYPES, parseEventSigners } from '@tokenledger/contracts';
import {
  openCheckpoint,
  openCosignatures,
  parseCosignerVerifierKey,
  parseVerifierKey,
} from '@tokenledger/ledger-core';
import {
  APP_ROLES,
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  kafkaTestCredentials,
  type TestDatabase,
} from '@tokenledger/testing';
import { KAFKA_INFRA_DIR, resolveKafkaJars, waitForBroker } from '@tokenledger/infra';
import { isWellFormed } from '@tokenledger/token-core';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { parse } from 'yaml';
import { freePort } from './system';

const ROOT = path.resolve(__dirname, '..', '..');
const STATE_DIR = '/var/lib/tokenledger';
const APPS = ['issuance', 'revocation', 'anomaly', 'ledger'] as const;

interface ComposeService {
  image?: string;
  entrypoint?: string[];
  build?: { context: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  secrets: Record<string, { file: string }>;
}

const composeText = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as ComposeFile;

/** The ENV of the Dockerfile's final stage (what every container of the image starts with). */
function imageEnv(): Record<string, string> {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const finalStage = text.split(/^FROM /m).at(-1) ?? '';
  const env: Record<string, string> = {};
  for (const line of finalStage.split('\n')) {
    if (!line.startsWith('ENV ')) continue;
    for (const [, key, value] of line.slice(4).matchAll(/([A-Z_]+)=(\S+)/g))
      if (key && value && !value.includes('$')) env[key] = value;
  }
  return env;
}

/** The command of a service: its own, else the image's CMD for its APP build argument. */
function commandOf(service: ComposeService): string[] {
  if (service.command) return service.command;
  const app = service.build?.args?.APP;
  if (!app) throw new Error('a service without command and APP');
  return ['node', `apps/${app}/dist/main.js`];
}

interface Run {
  name: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function start(name: string, command: string[], env: Record<string, string>): Run {
  const [cmd = 'node', ...args] = command;
  const child = spawn(cmd === 'node' ? process.execPath : cmd, args, {
    cwd: ROOT, // the image's WORKDIR /app is the repository, built
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { name, child, output, exited };
}

async function waitReady(run: Run, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null)
      throw new Error(
        `${run.name} exited ${run.child.exitCode}:\n${run.output.join('').slice(-3000)}`,
      );
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${run.name} not ready:\n${run.output.join('').slice(-3000)}`);
}

describe('docker-compose.yml, run outside Docker', () => {
  let db: TestDatabase;
  let tmp: string;
  let secretsDir: string;
  let kafkaSecretsDir: string;
  const prefix = freshTopicPrefix();
  const ports: Record<string, number> = {};
  const volumes: Record<string, string> = {};
  const runs: Run[] = [];

  /** A container path or compose value of `service`, mapped to this machine (see the top). */
  function mapValue(service: string, value: string): string {
    const secret = /^\/run\/secrets\/(.+)$/.exec(value)?.[1];
    if (secret) {
      if (/^kafka-.+-password$/.test(secret)) return path.join(kafkaSecretsDir, secret);
      const declared = compose.secrets[secret];
      if (!declared) throw new Error(`${service}: secret ${secret} is not declared`);
      return path.join(secretsDir, path.relative('./secrets', declared.file));
    }
    // A named volume of the service, else (under STATE_DIR) the anonymous one the image's VOLUME makes.
    const mounted = (compose.services[service]?.volumes ?? [])
      .map((v) => v.split(':'))
      .find(([, target]) => target && value.startsWith(`${target}/`));
    const target = mounted?.[1] ?? (value.startsWith(`${STATE_DIR}/`) ? STATE_DIR : undefined);
    if (target) {
      const volume = mounted?.[0] ?? `${service}-anonymous`;
      volumes[volume] ??= fs.mkdtempSync(path.join(tmp, `${volume}-`));
      return path.join(volumes[volume], value.slice(target.length + 1));
    }
    if (value === 'kafka:9092') return kafkaBrokers();
    if (value === '0.0.0.0') return '127.0.0.1';
    const url = /^postgres:\/\/([^@/]+)@postgres:5432\/tokenledger$/.exec(value);
    if (url) {
      const test = new URL(db.url);
      return `postgres://${url[1]}@${test.host}/${db.name}`;
    }
    const http = /^http:\/\/([a-z]+):(\d+)(\/.*)?$/.exec(value);
    if (http?.[1] && ports[http[1]]) return `http://127.0.0.1:${ports[http[1]]}${http[3] ?? ''}`;
    return value;
  }

  /** The environment `service` gets in its container (image ENV, then its own), mapped. */
  function envOf(service: string, overrides: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = {};
    const declared = { ...imageEnv(), ...compose.services[service]?.environment };
    for (const [key, value] of Object.entries(declared))
      env[key] = mapValue(service, String(value));
    if (ports[service])
      env[service === 'witness' ? 'WITNESS_PORT' : 'PORT'] = String(ports[service]);
    return { ...env, TOPIC_PREFIX: prefix, ...overrides };
  }

  function runToEnd(service: string, env: Record<string, string>) {
    const result = spawnSync(process.execPath, commandOf(compose.services[service]!).slice(1), {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenledger-compose-'));
    secretsDir = path.join(tmp, 'secrets');
    kafkaSecretsDir = fs.mkdtempSync(path.join(tmp, 'kafka-'));
    for (const [principal, credentials] of Object.entries(kafkaTestCredentials() ?? {}))
      fs.writeFileSync(
        path.join(kafkaSecretsDir, `kafka-${principal}-password`),
        credentials.password,
        {
          mode: 0o600,
        },
      );
    db = await freshDatabase();
    for (const app of [...APPS, 'witness']) ports[app] = await freePort();
  }, 60_000);

  afterAll(async () => {
    for (const run of runs) if (run.child.exitCode === null) run.child.kill('SIGTERM');
    await Promise.all(runs.map((r) => r.exited));
    await db?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('scripts/compose-init makes every declared secret once, 0600 in a 0700 dir, and never overwrites', () => {
    const init = (): string =>
      spawnSync(path.join(ROOT, 'scripts', 'compose-init'), [secretsDir], { encoding: 'utf8' })
        .stdout;
    expect(init()).toMatch(/19 made/);
    const declared = Object.values(compose.secrets).map((s) => path.relative('./secrets', s.file));
    expect(fs.readdirSync(secretsDir).sort()).toEqual([...declared].sort());
    expect(fs.statSync(secretsDir).mode & 0o777).toBe(0o700);
    const before: Record<string, string> = {};
    for (const name of declared) {
      const file = path.join(secretsDir, name);
      expect([name, fs.statSync(file).mode & 0o777]).toEqual([name, 0o600]);
      before[name] = fs.readFileSync(file, 'utf8');
    }
    fs.rmSync(path.join(secretsDir, 'token-pepper'));
    const again = init();
    expect(again).toMatch(/1 made \(token-pepper\), 18 kept/);
    for (const name of declared.filter((n) => n !== 'token-pepper'))
      expect(fs.readFileSync(path.join(secretsDir, name), 'utf8')).toBe(before[name]);
    // No secret is printed.
    for (const value of Object.values(before)) expect(again).not.toContain(value.trim());
    // EVENT_SIGNERS trusts each app's key for exactly the types that app produces.
    const signers = parseEventSigners(
      fs.readFileSync(path.join(secretsDir, 'event-signers.json'), 'utf8'),
    );
    expect(signers.map((s) => [s.sources, s.types])).toEqual(
      APPS.map((app) => [[`/tokenledger/${app}`], [...APP_SIGNER_TYPES[app]]]),
    );
  });

  it('holds no secret value and no fallback: every secret is a file the service mounts', () => {
    expect(composeText).not.toMatch(/\$\{[A-Z_]+:-/);
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        expect([name, key]).not.toEqual([
          name,
          expect.stringMatching(
            /^(TOKEN_PEPPER|TOKENLEDGER_INTERNAL_SECRET|EVENT_SIGNING_KEY|.*PASSWORD|TOKENLEDGER_ROOT_TOKEN)$/,
          ),
        ]);
        const secret = /^\/run\/secrets\/(.+)$/.exec(String(value))?.[1];
        if (secret)
          expect([name, key, service.secrets ?? []]).toEqual([
            name,
            key,
            expect.arrayContaining([secret]),
          ]);
        expect(String(value)).not.toMatch(/^postgres:\/\/[^@]*:[^@]*@/);
      }
    }
    // Only issuance has the pepper.
    for (const [name, service] of Object.entries(compose.services))
      if (name !== 'issuance')
        expect([name, service.secrets ?? []]).not.toEqual([
          name,
          expect.arrayContaining(['token-pepper']),
        ]);
  });

  it('db-roles, kafka-setup and witness-keys run to completion; the witness and every app start, each app ready as its own roles', async () => {
    const roles = runToEnd('db-roles', envOf('db-roles'));
    expect(roles).toEqual({ status: 0, output: expect.stringMatching(/roles ready/) });
    const setup = runToEnd('kafka-setup', envOf('kafka-setup'));
    expect(setup).toEqual({ status: 0, output: expect.stringMatching(/ACLs granted as admin/) });
    const keys = runToEnd('witness-keys', envOf('witness-keys'));
    expect(keys).toEqual({
      status: 0,
      output: expect.stringMatching(/witness paired with ledger/),
    });

    const witnessService = compose.services.witness!;
    expect(Object.keys(witnessService.depends_on ?? {})).toEqual(['witness-keys']);
    const witness = start('witness', commandOf(witnessService), envOf('witness'));
    runs.push(witness);
    const listening = await eventually(
      // eslint-disable-next-line @typescript-eslint/require-await -- eventually takes an async check
      async () => {
        if (witness.child.exitCode !== null)
          throw new Error(`witness exited:\n${witness.output.join('')}`);
        const line = witness.output
          .join('')
          .split('\n')
          .find((l) => l.includes('"witness listening"'));
        return line ? (JSON.parse(line) as { port: number; verifierKey: string }) : undefined;
      },
      20_000,
      'witness listening',
    );
    expect(listening.port).toBe(ports.witness);

    for (const app of APPS) {
      const service = compose.services[app]!;
      expect([app, Object.keys(service.depends_on ?? {}).sort()]).toEqual([
        app,
        app === 'ledger'
          ? ['db-roles', 'kafka-setup', 'witness', 'witness-keys']
          : ['db-roles', 'kafka-setup'],
      ]);
      runs.push({ ...start(app, commandOf(service), envOf(app)) });
    }
    await Promise.all(
      runs
        .filter((run) => run !== witness)
        .map((run) => waitReady(run, `http://127.0.0.1:${ports[run.name]}`, 45_000)),
    );

    // Each app connects to PostgreSQL as its own login role (DATABASE_URL + DATABASE_PASSWORD_FILE).
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const sessions = await client
      .query<{ app: string; role: string }>(
        `SELECT DISTINCT application_name AS app, usename AS role FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE 'tokenledger-%' ORDER BY 1`,
      )
      .finally(() => client.end());
    expect(sessions.rows).toEqual(
      [...APPS].sort().map((app) => ({ app: `tokenledger-${app}`, role: APP_ROLES[app] })),
    );

    // Issuance wrote the generated root token to ROOT_TOKEN_FILE in its volume, 0600, and
    // printed it nowhere.
    const rootFile = path.join(volumes['issuance-state']!, 'root-token');
    expect(fs.statSync(rootFile).mode & 0o777).toBe(0o600);
    const rootToken = fs.readFileSync(rootFile, 'utf8').trim();
    expect(isWellFormed(rootToken)).toBe(true);
    for (const run of runs)
      expect([run.name, run.output.join('')]).not.toEqual([
        run.name,
        expect.stringContaining(rootToken),
      ]);
    expect(roles.output + setup.output).not.toContain(rootToken);
    // ... and it is the operator token: it lists tokens.
    const listed = await fetch(`http://127.0.0.1:${ports.issuance}/v1/tokens`, {
      headers: { authorization: `Bearer ${rootToken}` },
    });
    expect(listed.status).toBe(200);
    // witness-keys made the ledger's checkpoint signing key in the ledger's volume and the
    // witness's key in the witness's, 0600, and pinned each side's verifier key for the other.
    const keyFiles = {
      'ledger-signing-key': path.join(volumes['ledger-state']!, 'ledger-signing-key'),
      'witness.seed': path.join(volumes['witness-state']!, 'witness.seed'),
      witnesses: path.join(volumes['ledger-state']!, 'witnesses'),
      'witness.json': path.join(volumes['witness-state']!, 'witness.json'),
    };
    for (const [name, file] of Object.entries(keyFiles))
      expect([name, fs.statSync(file).mode & 0o777]).toEqual([name, 0o600]);
    expect(fs.readdirSync(volumes['ledger-state']!)).not.toContain('witness.seed');
    expect(fs.readdirSync(volumes['witness-state']!)).not.toContain('ledger-signing-key');
    const pinnedWitness = fs.readFileSync(keyFiles.witnesses, 'utf8').trim();
    expect(pinnedWitness).toBe(`${listening.verifierKey}@http://127.0.0.1:${ports.witness}/`);
    const witnessConfig = JSON.parse(fs.readFileSync(keyFiles['witness.json'], 'utf8')) as {
      logs: Array<{ keys: string[] }>;
    };
    const ledgerKey = parseVerifierKey(witnessConfig.logs[0]?.keys[0] ?? '');
    const witnessKey = parseCosignerVerifierKey(listening.verifierKey);
    if (!ledgerKey.ok || !witnessKey.ok) throw new Error('witness-keys pinned unparsable keys');

    // The ledger's checkpoints get cosigned by the witness: an issued token is a leaf of a log
    // whose latest checkpoint carries a cosignature that verifies under the pinned witness key.
    const issued = await fetch(`http://127.0.0.1:${ports.issuance}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rootToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        owner: { type: 'service', id: 'compose-e2e' },
        name: 'compose-e2e',
        scopes: ['billing:read'],
        ttlSeconds: 3600,
      }),
    });
    expect(issued.status).toBe(201);
    const ledgerGet = (p: string) =>
      fetch(`http://127.0.0.1:${ports.ledger}${p}`, {
        headers: { authorization: `Bearer ${rootToken}` },
      });
    const witnessed = await eventually(
      async () => {
        const { logs } = (await (await ledgerGet('/v1/ledger/logs')).json()) as {
          logs: Array<{ logId: string; origin: string; witnessed: boolean; cosigners: number }>;
        };
        return logs.find((l) => l.witnessed);
      },
      30_000,
      'a witnessed checkpoint',
    );
    expect(witnessed.cosigners).toBe(1);
    const note = await (await ledgerGet(`/v1/ledger/logs/${witnessed.logId}/checkpoint`)).text();
    expect(openCheckpoint(note, [ledgerKey.verifier], witnessed.origin)).toMatchObject({
      ok: true,
    });
    const split = note.lastIndexOf('\n\n');
    const cosignatures = note
      .slice(split + 2)
      .split('\n')
      .filter((l) => l.startsWith(`— ${witnessKey.verifier.name} `));
    expect(cosignatures).toHaveLength(1);
    expect(
      openCosignatures(note.slice(0, split + 1), `${cosignatures[0]}\n`, [witnessKey.verifier]),
    ).toMatchObject({
      ok: true,
      cosignatures: { verified: [{ name: 'witness.tokenledger.local/w1' }] },
    });

    // No secret value appears in any output (the keys in the volumes included).
    const secrets = fs
      .readdirSync(secretsDir)
      .filter((n) => n !== 'event-signers.json')
      .map((name) => [name, fs.readFileSync(path.join(secretsDir, name), 'utf8').trim()] as const);
    const seeds = (['ledger-signing-key', 'witness.seed'] as const).map(
      (name) => [name, fs.readFileSync(keyFiles[name], 'utf8').trim()] as const,
    );
    const everything =
      runs.map((r) => r.output.join('')).join('') + roles.output + setup.output + keys.output;
    for (const [name, value] of [...secrets, ...seeds])
      expect([name, everything.includes(value.split(':').at(-1)!)]).toEqual([name, false]);
  }, 120_000);

  it("the kafka service's entrypoint formats SCRAM users from the secrets and enforces the ACLs kafka-setup grants", async () => {
    const kafka = compose.services.kafka!;
    expect(kafka.image).toBe('apache/kafka:4.1.1');
    const script = kafka.entrypoint?.[1];
    const mounted = (kafka.volumes ?? []).map((v) => v.split(':')).find(([, to]) => to === script);
    expect(mounted?.[0]).toBe('./infra/docker/kafka-sasl.sh');
    const principals = ['admin', ...APPS, 'usage-reporter'];
    expect([...(kafka.secrets ?? [])].sort()).toEqual(
      principals.map((p) => `kafka-${p}-password`).sort(),
    );

    const home = fs.mkdtempSync(path.join(tmp, 'kafka-home-'));
    fs.mkdirSync(path.join(home, 'bin'));
    const classpath = resolveKafkaJars();
    const shim = (name: string, line: string): void =>
      fs.writeFileSync(path.join(home, 'bin', name), `#!/bin/sh\nexec ${line} "$@"\n`, {
        mode: 0o755,
      });
    shim('kafka-storage.sh', `java -cp '${classpath}' kafka.tools.StorageTool`);
    shim(
      'kafka-server-start.sh',
      `java -Xmx256m -Xms256m -Dlog4j2.configurationFile=${KAFKA_INFRA_DIR}/log4j2.yaml -Dkafka.logs.dir=${home}/logs -cp '${classpath}' kafka.Kafka`,
    );
    const port = await freePort();
    const configDir = path.join(home, 'config');
    const broker = start('kafka', ['/bin/sh', path.join(ROOT, mounted![0]!)], {
      KAFKA_HOME: home,
      KAFKA_DATA_DIR: path.join(home, 'data'),
      KAFKA_SECRETS_DIR: secretsDir,
      KAFKA_CONFIG_DIR: configDir,
      KAFKA_ADVERTISED_HOST: '127.0.0.1',
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(await freePort()),
    });
    runs.push(broker);
    const brokers = `127.0.0.1:${port}`;
    await waitForBroker('127.0.0.1', port, 60_000);
    expect(fs.statSync(path.join(configDir, 'server.properties')).mode & 0o777).toBe(0o600);

    // kafka-setup as compose runs it, with compose-init's admin password.
    const setup = runToEnd('kafka-setup', {
      ...envOf('kafka-setup'),
      KAFKA_BROKERS: brokers,
      KAFKA_SASL_PASSWORD_FILE: path.join(secretsDir, 'kafka-admin-password'),
    });
    expect(setup).toEqual({ status: 0, output: expect.stringMatching(/ACLs granted as admin/) });

    const password = (p: string): string =>
      fs.readFileSync(path.join(secretsDir, `kafka-${p}-password`), 'utf8').trim();
    const producer = async (username: string, pw: string) => {
      const client = new Kafka({
        clientId: 'compose-e2e',
        brokers: [brokers],
        logLevel: logLevel.NOTHING,
        sasl: { mechanism: 'scram-sha-512', username, password: pw },
        retry: { retries: 0 },
      });
      const p = client.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
      await p.connect();
      return p;
    };
    const send = (p: Awaited<ReturnType<typeof producer>>, topic: string) =>
      p.send({ topic: `${prefix}${topic}`, messages: [{ key: 'k', value: '{}' }] });
    const anomaly = await producer('anomaly', password('anomaly'));
    try {
      // An ACL reaches the broker's authorizer through the metadata log, a moment after
      // kafka-setup's createAcls has returned.
      await eventually(() => send(anomaly, 'anomalies'), 10_000, 'anomaly may write anomalies');
      await expect(send(anomaly, 'tokens.lifecycle')).rejects.toThrow(/authoriz/i);
    } finally {
      await anomaly.disconnect();
    }
    await expect(producer('anomaly', password('issuance'))).rejects.toThrow(
      /authentication failed/i,
    );
    const output = broker.output.join('') + setup.output;
    for (const p of principals) expect([p, output.includes(password(p))]).toEqual([p, false]);
  }, 90_000);

  it('a service whose secret file is missing refuses to start and names the variable', async () => {
    const missing = path.join(tmp, 'absent');
    const app = start('issuance-without-pepper', commandOf(compose.services.issuance!), {
      ...envOf('issuance'),
      TOKEN_PEPPER_FILE: path.join(missing, 'token-pepper'),
    });
    runs.push(app);
    expect(await app.exited).toBe(1);
    const output = app.output.join('');
    expect(output).toContain('TOKEN_PEPPER_FILE: cannot read');
    const pepper = fs.readFileSync(path.join(secretsDir, 'token-pepper'), 'utf8').trim();
    expect(output).not.toContain(pepper);

    const roles = runToEnd('db-roles', {
      ...envOf('db-roles'),
      TOKENLEDGER_LEDGER_PASSWORD_FILE: path.join(missing, 'db-ledger-password'),
    });
    expect(roles.status).toBe(1);
    expect(roles.output).toContain('TOKENLEDGER_LEDGER_PASSWORD_FILE: cannot read');

    const setup = runToEnd('kafka-setup', {
      ...envOf('kafka-setup'),
      KAFKA_SASL_PASSWORD_FILE: path.join(missing, 'kafka-admin-password'),
    });
    expect(setup.status).toBe(1);
    expect(setup.output).toContain('KAFKA_SASL_PASSWORD_FILE cannot be read');

    // The witness without the WITNESS_CONFIG witness-keys writes (its name, the ledger's pinned
    // key), and the ledger without its LEDGER_WITNESSES_FILE, refuse to start.
    const witness = start('witness-without-config', commandOf(compose.services.witness!), {
      ...envOf('witness'),
      WITNESS_CONFIG: path.join(missing, 'witness.json'),
    });
    runs.push(witness);
    expect(await witness.exited).toBe(1);
    expect(witness.output.join('')).toContain('WITNESS_CONFIG: cannot read');
    const ledger = start('ledger-without-witnesses', commandOf(compose.services.ledger!), {
      ...envOf('ledger'),
      LEDGER_WITNESSES_FILE: path.join(missing, 'witnesses'),
    });
    runs.push(ledger);
    expect(await ledger.exited).toBe(1);
    expect(ledger.output.join('')).toContain('LEDGER_WITNESSES_FILE: cannot read');

    // A witness key that others may read is refused, and its value is not printed.
    const stateDir = fs.mkdtempSync(path.join(tmp, 'witness-readable-'));
    const seedFile = path.join(stateDir, 'witness.seed');
    fs.copyFileSync(path.join(volumes['witness-state']!, 'witness.seed'), seedFile);
    fs.chmodSync(seedFile, 0o644);
    const readable = start('witness-readable-key', commandOf(compose.services.witness!), {
      ...envOf('witness'),
      WITNESS_STATE_DIR: stateDir,
      WITNESS_SEED_FILE: seedFile,
    });
    runs.push(readable);
    expect(await readable.exited).toBe(1);
    const readableOutput = readable.output.join('');
    expect(readableOutput).toContain('lets others read the key');
    expect(readableOutput).not.toContain(fs.readFileSync(seedFile, 'utf8').trim());
  }, 60_000);
});
