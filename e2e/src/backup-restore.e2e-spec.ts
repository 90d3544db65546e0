import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AUDITED_TOPICS, topicName } from '@tokenledger/contracts';
import { rootHash } from '@tokenledger/ledger-core';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  testKafka,
  type TestDatabase,
} from '@tokenledger/testing';
import { Client } from 'pg';
import {
  freePort,
  ledgerVerifierKey,
  startSystem,
  startWitness,
  type RunningSystem,
  type RunningWitness,
  type SystemSigning,
} from './system';

interface LogHead {
  logId: string;
  topic: string;
  partition: number;
  size: number;
  rootHash: string;
  checkpointSize: number | null;
  witnessed: boolean;
  signingHalted: boolean;
}

interface TokenView {
  tokenId: string;
  name: string;
  prefix: string;
  status: string;
}

/**
 * docs/production.md, "Backup and restore": a `pg_dump -Fc` of the running system, restored with
 * `pg_restore` into an empty database, and the system started on it with the same secrets, keys,
 * topics and witness. Also a dump older than Kafka: the ledger catches up from its stored
 * positions, and revocation's projection is rebuilt from tokens.lifecycle.
 */
describe('backup and restore: pg_dump, pg_restore into an empty database, the same Kafka', () => {
  const prefix = freshTopicPrefix();
  const origin = 'tokenledger.local/ledger';
  const signingSeed = randomBytes(32).toString('base64');
  const dumpDir = mkdtempSync(path.join(os.tmpdir(), 'tokenledger-e2e-dump-'));
  const witnessDir = mkdtempSync(path.join(os.tmpdir(), 'tokenledger-e2e-witness-'));
  const databases: TestDatabase[] = [];
  let witness: RunningWitness;
  let system: RunningSystem | undefined;
  /** The secrets of the first system, given again to every restored one. */
  let secrets:
    | Record<'TOKENLEDGER_INTERNAL_SECRET' | 'TOKEN_PEPPER' | 'TOKENLEDGER_ROOT_TOKEN', string>
    | undefined;

  /**
   * The event signing keys (EVENT_SIGNERS) of the first system, kept too: a ledger that does not
   * trust the signers of old records appends them as invalid-record leaves, another tree.
   */
  let signing: SystemSigning | undefined;

  const auth = (): Record<string, string> => ({
    authorization: `Bearer ${running().rootToken}`,
  });
  const running = (): RunningSystem => {
    if (!system) throw new Error('no system is running');
    return system;
  };

  async function call<T>(
    app: keyof RunningSystem['apps'],
    route: string,
    init: { method?: string; json?: unknown; form?: Record<string, string> } = {},
  ): Promise<T> {
    const res = await fetch(`${running().apps[app].url}${route}`, {
      method: init.method ?? (init.json || init.form ? 'POST' : 'GET'),
      headers: {
        ...auth(),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(init.json ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
      ...(init.json ? { body: JSON.stringify(init.json) } : {}),
    });
    if (res.status >= 300) throw new Error(`${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  const issue = (name: string): Promise<{ token: string; tokenId: string }> =>
    call('issuance', '/v1/tokens', {
      json: { owner: { type: 'service', id: 'backup' }, name, scopes: ['audit:read'] },
    });
  const active = async (token: string): Promise<boolean> =>
    (await call<{ active: boolean }>('revocation', '/v1/introspect', { form: { token } })).active;
  const revoke = (tokenId: string): Promise<unknown> =>
    call('revocation', `/v1/tokens/${tokenId}/revoke`, { json: {} });
  const tokens = async (): Promise<TokenView[]> =>
    (await call<{ tokens: TokenView[] }>('issuance', '/v1/tokens?ownerId=backup&limit=100')).tokens
      .map(({ tokenId, name, prefix, status }) => ({ tokenId, name, prefix, status }))
      .sort((a, b) => a.tokenId.localeCompare(b.tokenId));
  const heads = async (): Promise<LogHead[]> =>
    (await call<{ logs: LogHead[] }>('ledger', '/v1/ledger/logs')).logs.sort((a, b) =>
      a.logId.localeCompare(b.logId),
    );
  /** The heads a stopped ledger left in its database. */
  const storedRoots = async (db: TestDatabase): Promise<Array<[string, number, string]>> =>
    (
      await sql<{ log_id: string; size: string; root_hash: Buffer }>(
        db.url,
        'SELECT log_id, size, root_hash FROM ledger.logs ORDER BY log_id',
      )
    ).map((r) => [r.log_id, Number(r.size), r.root_hash.toString('base64')]);

  /** Kafka's high watermark of every audited partition that holds records. */
  async function highWatermarks(): Promise<Map<string, number>> {
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const high = new Map<string, number>();
      for (const base of AUDITED_TOPICS) {
        const topic = topicName(base, prefix);
        for (const o of await admin.fetchTopicOffsets(topic))
          if (Number(o.high) > 0) high.set(`${topic}/${o.partition}`, Number(o.high));
      }
      return high;
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * The ledger's logs once every audited record in Kafka is a leaf and every log has a signed
   * checkpoint of its full size, cosigned by the witness.
   */
  async function settled(what: string): Promise<LogHead[]> {
    return eventually(
      async () => {
        const high = await highWatermarks();
        const logs = await heads();
        const sizes = new Map(logs.map((l) => [`${l.topic}/${l.partition}`, l.size]));
        const appended = [...high].every(([id, n]) => sizes.get(id) === n);
        const signed = logs.every((l) => l.checkpointSize === l.size && l.witnessed);
        if (appended && signed && logs.length === high.size) return logs;
        throw new Error(
          `Kafka ${JSON.stringify([...high])}, logs ${JSON.stringify(logs.map((l) => [l.topic, l.partition, l.size, l.checkpointSize, l.witnessed]))}`,
        );
      },
      30_000,
      what,
    );
  }

  async function verified(): Promise<{
    ok: boolean;
    logs: Array<{ logId: string; ok: boolean; error?: { code: string } }>;
  }> {
    return call('ledger', '/v1/ledger/verify', { json: {} });
  }

  async function sql<T>(url: string, text: string): Promise<T[]> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(text)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** Every log's Kafka offsets and leaf hashes, in leaf order. */
  const leavesByLog = async (
    db: TestDatabase,
  ): Promise<Map<string, { offsets: number[]; hashes: Buffer[] }>> => {
    const rows = await sql<{ log_id: string; kafka_offset: string; leaf_hash: Buffer }>(
      db.url,
      'SELECT log_id, kafka_offset, leaf_hash FROM ledger.leaves ORDER BY log_id, idx',
    );
    const logs = new Map<string, { offsets: number[]; hashes: Buffer[] }>();
    for (const r of rows) {
      const log = logs.get(r.log_id) ?? { offsets: [], hashes: [] };
      log.offsets.push(Number(r.kafka_offset));
      log.hashes.push(r.leaf_hash);
      logs.set(r.log_id, log);
    }
    return logs;
  };

  /**
   * The logs of `db` cut to the sizes of `before`, as [logId, size, root]: the same trees as
   * `before` when `db` holds the same leaves for those records (it may have appended newer ones,
   * such as the restarted apps' own events). Also checks one leaf per Kafka record, none twice.
   */
  const rootsAt = async (
    db: TestDatabase,
    before: Array<[string, number, string]>,
  ): Promise<Array<[string, number, string]>> => {
    const logs = await leavesByLog(db);
    for (const [logId, { offsets }] of logs)
      expect([logId, offsets]).toEqual([logId, offsets.map((_, i) => i)]);
    return before.map(([logId, size]) => {
      const hashes = logs.get(logId)?.hashes.slice(0, size) ?? [];
      return [logId, hashes.length, rootHash(hashes).toString('base64')];
    });
  };

  /** docs/production.md: `pg_dump -Fc tokenledger > tokenledger.dump`. */
  function dump(db: TestDatabase, file: string): string {
    const out = path.join(dumpDir, file);
    execFileSync('pg_dump', ['-Fc', `--file=${out}`, db.url]);
    return out;
  }

  /** docs/production.md: an empty database, roles provisioned, then `pg_restore`. */
  async function restore(file: string): Promise<TestDatabase> {
    const db = await freshDatabase();
    databases.push(db);
    execFileSync('pg_restore', ['--exit-on-error', `--dbname=${db.ownerUrl}`, file]);
    return db;
  }

  async function start(db: TestDatabase): Promise<void> {
    system = await startSystem(
      {
        DATABASE_URL: db.url,
        KAFKA_BROKERS: kafkaBrokers(),
        TOPIC_PREFIX: prefix,
        LEDGER_SIGNING_KEY: signingSeed,
        LEDGER_ORIGIN: origin,
        CHECKPOINT_INTERVAL_MS: '200',
      },
      { witness, ...(secrets ? { secrets } : {}), ...(signing ? { signing } : {}) },
    );
    signing = running().signing;
  }

  async function stop(): Promise<void> {
    await system?.stop();
    system = undefined;
  }

  beforeAll(async () => {
    witness = await startWitness({
      port: await freePort(),
      stateDir: witnessDir,
      origin,
      logKey: ledgerVerifierKey(origin, signingSeed),
    });
  }, 30_000);

  afterAll(async () => {
    await stop();
    await witness?.stop();
    for (const db of databases) await db.drop();
    rmSync(dumpDir, { recursive: true, force: true });
    rmSync(witnessDir, { recursive: true, force: true });
  }, 60_000);

  // Shared by the steps below, in order.
  let live: { token: string; tokenId: string };
  let revoked: { token: string; tokenId: string };
  let late: { token: string; tokenId: string };
  let olderDump: string;
  let backup: string;
  let tokensAtBackup: TokenView[];
  /** The heads the ledger left when the system last stopped: what Kafka holds, as trees. */
  let logsAtStop: Array<[string, number, string]>;

  it('a running system: tokens issued and one revoked, appended and signed; dumped twice while running', async () => {
    const original = await freshDatabase();
    databases.push(original);
    await start(original);
    const { TOKENLEDGER_INTERNAL_SECRET, TOKEN_PEPPER, TOKENLEDGER_ROOT_TOKEN } = running().env;
    secrets = {
      TOKENLEDGER_INTERNAL_SECRET: TOKENLEDGER_INTERNAL_SECRET ?? '',
      TOKEN_PEPPER: TOKEN_PEPPER ?? '',
      TOKENLEDGER_ROOT_TOKEN: TOKENLEDGER_ROOT_TOKEN ?? '',
    };
    live = await issue('live');
    revoked = await issue('revoked');
    await eventually(
      async () => ((await active(revoked.token)) ? true : undefined),
      20_000,
      'active',
    );
    await settled('the first events signed');
    olderDump = dump(original, 'older.dump');

    // After the older dump: a revocation, a new token, a use.
    await revoke(revoked.tokenId);
    late = await issue('late');
    expect(await active(live.token)).toBe(true);
    expect(await active(revoked.token)).toBe(false);
    await eventually(async () => ((await active(late.token)) ? true : undefined), 20_000, 'late');
    await settled('every event signed');
    backup = dump(original, 'tokenledger.dump');
    tokensAtBackup = await tokens();
    const logsAtBackup = await settled('the logs at the backup');
    expect(tokensAtBackup.map((t) => [t.name, t.status]).sort()).toEqual([
      ['late', 'active'],
      ['live', 'active'],
      ['revoked', 'revoked'],
    ]);
    expect(logsAtBackup.length).toBeGreaterThan(1);
    await stop();
    logsAtStop = await storedRoots(original);
  }, 120_000);

  it('restored into an empty database: the same tokens, statuses and logs; the log continues', async () => {
    const restored = await restore(backup);
    await start(restored);
    // The checkpoints came back with the leaves: the logs are the same trees, and verify.
    // Records the ledger appended after the dump are read again from Kafka, and signed again.
    const logs = await settled('the restored ledger to catch up');
    expect(await rootsAt(restored, logsAtStop)).toEqual(logsAtStop);
    const report = await verified();
    expect(report.logs.map((l) => [l.logId, l.ok, l.error?.code])).toEqual(
      logs.map((l) => [l.logId, true, undefined]),
    );
    expect(report.ok).toBe(true);
    expect(await tokens()).toEqual(tokensAtBackup);
    expect(await active(live.token)).toBe(true);
    expect(await active(revoked.token)).toBe(false);
    expect(await active(late.token)).toBe(true);

    // New records are appended after the restored leaves, none twice.
    const next = await issue('after-restore');
    await eventually(async () => ((await active(next.token)) ? true : undefined), 20_000, 'next');
    const grown = await settled('the new events signed');
    const before = new Map(logsAtStop.map(([logId, size]) => [logId, size]));
    expect(grown.some((l) => l.size > (before.get(l.logId) ?? 0))).toBe(true);
    expect(await rootsAt(restored, logsAtStop)).toEqual(logsAtStop);
    expect((await verified()).ok).toBe(true);
    await stop();
    logsAtStop = await storedRoots(restored);
  }, 120_000);

  it('a dump older than Kafka: the ledger catches up to the same roots; revocation after a rebuild', async () => {
    const restored = await restore(olderDump);
    await start(restored);
    // The ledger re-reads each partition from the position stored with its log. Its signing guard
    // sees heads smaller than the checkpoints in ledger.checkpoints until they caught up: it does
    // not sign them meanwhile, and neither halts nor needs a restart (docs/production.md).
    const appended = await eventually(
      async () => {
        const high = await highWatermarks();
        const logs = await heads();
        const sizes = new Map(logs.map((l) => [`${l.topic}/${l.partition}`, l.size]));
        return [...high].every(([id, n]) => sizes.get(id) === n) ? logs : undefined;
      },
      30_000,
      'the ledger to catch up from Kafka',
    );
    expect(appended.length).toBeGreaterThanOrEqual(logsAtStop.length);
    expect(await rootsAt(restored, logsAtStop)).toEqual(logsAtStop);
    const logs = await settled('the ledger to sign again');
    expect(logs.filter((l) => l.signingHalted)).toEqual([]);
    expect(await rootsAt(restored, logsAtStop)).toEqual(logsAtStop);
    expect((await verified()).ok).toBe(true);

    // Revocation's projection is as old as the dump (its Kafka commits are past the revocation)
    // until it is rebuilt from tokens.lifecycle.
    expect(await active(revoked.token)).toBe(true);
    await call('revocation', '/v1/admin/rebuild', { json: {} });
    expect(await active(revoked.token)).toBe(false);
    expect(await active(live.token)).toBe(true);
    // Issuance cannot be rebuilt from Kafka: a token issued after the dump is gone.
    expect((await tokens()).map((t) => t.name).sort()).toEqual(['live', 'revoked']);
    expect(await active(late.token)).toBe(false);
  }, 120_000);
});
