import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { generateToken } from '@tokenledger/token-core';
import { APP_ROLES, OWNER_ROLE } from '@tokenledger/testing';
import * as net from 'node:net';
import * as path from 'node:path';

export const APP_NAMES = ['issuance', 'revocation', 'anomaly', 'ledger'] as const;
export type AppName = (typeof APP_NAMES)[number];

export interface RunningApp {
  name: AppName;
  url: string;
  process: ChildProcess;
  /** Everything the process wrote (JSON log lines), for assertions on what is logged. */
  output: string[];
}

export interface RunningSystem {
  apps: Record<AppName, RunningApp>;
  /** The root operator token (scope admin) registered at first start. */
  rootToken: string;
  /** The environment the apps share (for starting more instances). */
  env: Record<string, string>;
  stop: () => Promise<void>;
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

/**
 * Starts one app process. A DATABASE_URL without DATABASE_OWNER_URL is taken as the test
 * database's superuser URL: the app gets {@link roleEnv} instead, so every app of every e2e test
 * runs as its least-privilege role.
 */
export function spawnApp(
  name: AppName,
  env: NodeJS.ProcessEnv,
): { process: ChildProcess; output: string[] } {
  const database =
    env.DATABASE_URL && !env.DATABASE_OWNER_URL ? roleEnv(name, env.DATABASE_URL) : {};
  const child = spawn(process.execPath, [appEntry(name)], {
    env: { ...process.env, ...env, ...database },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  return { process: child, output };
}

async function waitReady(app: RunningApp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (app.process.exitCode !== null) {
      throw new Error(
        `${app.name} exited with ${app.process.exitCode}:\n${app.output.join('').slice(-3000)}`,
      );
    }
    try {
      const res = await fetch(`${app.url}/health/ready`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `${app.name} not ready after ${timeoutMs} ms:\n${app.output.join('').slice(-3000)}`,
  );
}

/** Starts the four apps as real processes on free ports and waits until each is ready. */
export async function startSystem(
  env: { DATABASE_URL: string; KAFKA_BROKERS: string; TOPIC_PREFIX: string } & Record<
    string,
    string
  >,
): Promise<RunningSystem> {
  const apps = {} as Record<AppName, RunningApp>;
  const ports = {} as Record<AppName, number>;
  for (const name of APP_NAMES) ports[name] = await freePort();
  const rootToken = generateToken();
  const shared = {
    ...env,
    LOG_LEVEL: 'info',
    TOKENLEDGER_INTERNAL_SECRET: randomBytes(32).toString('base64url'),
    TOKEN_PEPPER: randomBytes(32).toString('base64'),
    LEDGER_SIGNING_KEY: randomBytes(32).toString('base64'),
    TOKENLEDGER_ROOT_TOKEN: rootToken,
    REVOCATION_URL: `http://127.0.0.1:${ports.revocation}`,
    ISSUANCE_URL: `http://127.0.0.1:${ports.issuance}`,
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
  };
  try {
    await Promise.all(Object.values(apps).map((app) => waitReady(app, 90_000)));
  } catch (error) {
    await stop();
    throw error;
  }
  return { apps, rootToken, env: shared, stop };
}
