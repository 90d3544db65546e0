import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

export interface PostgresOptions {
  /** Folder for a private cluster when no server is found (e.g. `.tokenledger/postgres`). */
  dataDir: string;
  /** Database the apps use; created when missing. */
  database: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** The machine-wide server to try before creating a private cluster. */
  localUrl?: string;
  /** Port of the private cluster (default 54329). */
  privatePort?: number;
}

export interface ResolvedPostgres {
  /** URL of the server's maintenance database (`postgres`), for creating databases. */
  adminUrl: string;
  /** URL of `options.database`. */
  url: string;
  source: 'DATABASE_URL' | 'local-server' | 'private-cluster';
  startedHere: boolean;
  stop: () => Promise<void>;
}

const LOCAL_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const PRIVATE_PORT = 54329;

export async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) {
    throw new Error(`invalid database name "${database}": use lower-case letters, digits and _`);
  }
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${database}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently
      });
    }
  } finally {
    await client.end();
  }
}

/**
 * PostgreSQL, in this order: `DATABASE_URL` when set (used as is; nothing is created); otherwise
 * the server on 127.0.0.1:5432 if one answers; otherwise a private cluster made with the machine's
 * `initdb`/`pg_ctl` under `dataDir`, which `stop()` shuts down.
 */
export async function resolvePostgres(options: PostgresOptions): Promise<ResolvedPostgres> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const noop = (): Promise<void> => Promise.resolve();
  if (env.DATABASE_URL) {
    return {
      adminUrl: env.DATABASE_URL,
      url: env.DATABASE_URL,
      source: 'DATABASE_URL',
      startedHere: false,
      stop: noop,
    };
  }
  const localUrl = options.localUrl ?? LOCAL_URL;
  if (await canConnect(localUrl)) {
    await createDatabaseIfMissing(localUrl, options.database);
    return {
      adminUrl: localUrl,
      url: withDatabase(localUrl, options.database),
      source: 'local-server',
      startedHere: false,
      stop: noop,
    };
  }
  return startPrivateCluster(options, log);
}

async function startPrivateCluster(
  options: PostgresOptions,
  log: (line: string) => void,
): Promise<ResolvedPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const port = options.privatePort ?? PRIVATE_PORT;
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const pgBin = findPgBin();
  // PostgreSQL refuses to run as root: run it as the `postgres` system user then.
  const asRoot = os.userInfo().uid === 0;
  const run = (cmd: string, args: string[], opts: SpawnSyncOptions = {}): void => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', path.join(pgBin, cmd), ...args]]
      : [path.join(pgBin, cmd), args];
    const result = spawnSync(file, argv, { encoding: 'utf8', ...opts });
    if (result.status !== 0) {
      throw new Error(
        `${cmd} failed: ${String(result.stderr ?? '')}${String(result.stdout ?? '')}`,
      );
    }
  };
  if (await canConnect(adminUrl)) {
    log(`using the private PostgreSQL cluster already running in ${dataDir}`);
  } else {
    fs.mkdirSync(dataDir, { recursive: true });
    if (asRoot) spawnSync('chown', ['-R', 'postgres:postgres', dataDir]);
    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
      log(`creating a private PostgreSQL cluster in ${dataDir} (initdb)`);
      run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    }
    log(`starting the private PostgreSQL cluster on 127.0.0.1:${port}`);
    run('pg_ctl', [
      '-D',
      dataDir,
      '-w',
      '-l',
      path.join(dataDir, 'server.log'),
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${dataDir}`,
      'start',
    ]);
  }
  await createDatabaseIfMissing(adminUrl, options.database);
  return {
    adminUrl,
    url: withDatabase(adminUrl, options.database),
    source: 'private-cluster',
    startedHere: true,
    stop: () => {
      run('pg_ctl', ['-D', dataDir, '-w', '-m', 'fast', 'stop']);
      return Promise.resolve();
    },
  };
}

function findPgBin(): string {
  const onPath = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return path.dirname(fs.realpathSync(onPath));
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(bin, 'pg_ctl'))) return bin;
  }
  throw new Error('no PostgreSQL server answered and no initdb/pg_ctl was found: set DATABASE_URL');
}
