import { TOPICS, buildEvent, decodeEvent, encodeEvent, topicName } from '@tokenledger/contracts';
import {
  chainNext,
  completedBy,
  formatCheckpoint,
  leafHash,
  openCheckpoint,
  openCosignatures,
  parseCosignerVerifierKey,
  parseVerifierKey,
  rootHash,
  signerFromSeed,
  signNote,
  verifierKey,
} from '@tokenledger/ledger-core';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  testKafka,
  type TestDatabase,
} from '@tokenledger/testing';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { cli } from './cli';
import { spawnApp, startSystem, type RunningSystem } from './system';

interface LogView {
  logId: string;
  size: number;
  checkpointSize: number | null;
  cosigners: number;
  witnessed: boolean;
  signingHalted: boolean;
}

/**
 * Issue 13 against the whole system: the ledger submits to a real witness process, keeps signing
 * (unwitnessed, degraded) while it is down, catches up when it is back; and a database tampered
 * with as superuser (truncated, or rewritten and re-signed with an inserted key) makes the signer
 * halt, with a critical ops.audit event and the halted metric.
 */
describe('witnessing and the signer guard (real processes, witness, broker, PostgreSQL)', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  const prefix = freshTopicPrefix();
  const opsAudit = topicName(TOPICS.opsAudit, prefix);
  const log0 = `${opsAudit}-0`;
  const log1 = `${opsAudit}-1`;
  const producer = testKafka('witness-e2e').producer();
  const url = (path: string): string => `${system.apps.ledger.url}${path}`;
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${system.rootToken}` });
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(url(path), { headers: auth() });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const view = async (logId: string): Promise<LogView | undefined> =>
    (await get<{ logs: LogView[] }>('/v1/ledger/logs')).logs.find((l) => l.logId === logId);
  const metrics = async (): Promise<string> => (await fetch(url('/metrics'))).text();
  const ready = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(url('/health/ready'));
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  }
  /** `n` ops.policy-changed events on partition `partition` of ops.audit. */
  const send = async (partition: number, n: number): Promise<void> => {
    await producer.send({
      topic: opsAudit,
      acks: -1,
      messages: Array.from({ length: n }, () => {
        const event = buildEvent({
          type: 'tokenledger.ops.policy-changed.v1',
          source: '/tokenledger/e2e',
          actor: 'system',
          data: {
            policyId: `e2e-${randomBytes(3).toString('hex')}`,
            version: 1,
            changedFields: ['maxTtlSeconds'],
            changedAt: new Date().toISOString(),
          },
        });
        return {
          key: event.subject,
          value: encodeEvent(event, { signingKey: system.signing.driver }),
          partition,
        };
      }),
    });
  };
  const witnessedAt = (logId: string, size: number) =>
    eventually(
      async () => {
        const v = await view(logId);
        return v?.witnessed && v.checkpointSize === size ? v : undefined;
      },
      30_000,
      `${logId} witnessed at ${size}`,
    );

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers(),
      TOPIC_PREFIX: prefix,
      CHECKPOINT_INTERVAL_MS: '200',
      LEDGER_WITNESS_TIMEOUT_MS: '1000',
    });
    await producer.connect();
    await eventually(
      async () =>
        (await fetch(url('/v1/whoami'), { headers: auth() })).status === 200 ? true : undefined,
      20_000,
      'root token known',
    );
  }, 150_000);

  afterAll(async () => {
    await producer.disconnect();
    await system?.stop();
    await db?.drop();
  }, 60_000);

  it('serves witnessed checkpoints; a missing checkpoint or log is a 404, not a 500', async () => {
    await send(0, 6);
    await send(1, 8);
    await witnessedAt(log0, 6);
    await witnessedAt(log1, 8);
    const res = await fetch(url(`/v1/ledger/logs/${log0}/checkpoint`), { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const note = await res.text();
    const { keys } = await get<{ keys: Array<{ verifierKey: string }> }>('/v1/ledger/keys');
    const logKey = parseVerifierKey(keys[0]!.verifierKey);
    const witnessKey = parseCosignerVerifierKey(system.witness!.verifierKey);
    if (!logKey.ok || !witnessKey.ok) throw new Error('bad keys');
    expect(
      openCheckpoint(note, [logKey.verifier], `tokenledger.local/ledger/${log0}`),
    ).toMatchObject({ ok: true, checkpoint: { size: 6 } });
    const split = note.lastIndexOf('\n\n');
    const [, cosignature] = note.slice(split + 2).split('\n');
    expect(
      openCosignatures(note.slice(0, split + 1), `${cosignature}\n`, [witnessKey.verifier]),
    ).toMatchObject({ ok: true, cosignatures: { verified: [{ name: 'witness.e2e.test/w1' }] } });

    // The export bundle carries the same cosigned note.
    const bundle = await (
      await fetch(url(`/v1/ledger/export?logId=${log0}`), { headers: auth() })
    ).text();
    const checkpointLine = bundle
      .split('\n')
      .map((l) => (l ? (JSON.parse(l) as { type: string; note?: string }) : undefined))
      .find((l) => l?.type === 'checkpoint');
    expect(checkpointLine?.note).toBe(note);

    await sql(
      `INSERT INTO ledger.logs (log_id, topic, partition, root_hash, chain_head) VALUES ($1, $2, 0, $3, $3)`,
      [`${prefix}empty-0`, `${prefix}empty`, Buffer.alloc(32)],
    );
    for (const [logId, message] of [
      [`${prefix}empty-0`, /has no signed checkpoint yet/],
      [`${prefix}unknown-0`, /no log/],
    ] as const) {
      const missing = await fetch(url(`/v1/ledger/logs/${logId}/checkpoint`), { headers: auth() });
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { detail: string }).detail).toMatch(message);
    }
    expect((await fetch(url(`/v1/ledger/logs/${log0}/checkpoint`))).status).toBe(401);
  });

  it('(c) witness down: checkpoints continue unwitnessed, readiness degraded; back up, it catches up', async () => {
    const witness = system.witness!;
    await witness.stop();
    await send(0, 3);
    await eventually(async () => {
      const v = await view(log0);
      return v?.checkpointSize === 9 && !v.witnessed ? v : undefined;
    });
    const degraded = await eventually(async () => {
      const r = await ready();
      return r.body.status === 'degraded' ? r : undefined;
    });
    expect(degraded.status).toBe(200); // degraded, not unready: the ledger still serves
    expect(degraded.body).toMatchObject({ checks: { witnesses: 'degraded', signing: 'ok' } });
    expect(String(degraded.body.reasons)).toContain(log0);
    expect(await metrics()).toMatch(/^tokenledger_ledger_unwitnessed_logs [1-9]/m);
    expect(await metrics()).toMatch(
      /^tokenledger_ledger_witness_submissions_total\{witness="witness\.e2e\.test\/w1",outcome="unreachable"\} [1-9]/m,
    );
    await send(0, 2);
    await eventually(async () => ((await view(log0))?.checkpointSize === 11 ? true : undefined));

    await witness.start();
    await witnessedAt(log0, 11);
    // One submission from the witness's last size (6) straight to the latest (11).
    const origin = `tokenledger.local/ledger/${log0}`;
    const cosigned = witness.lines.filter(
      (l) => l.msg === 'checkpoint cosigned' && l.origin === origin,
    );
    expect(cosigned.map((l) => [l.oldSize, l.size])).toEqual([[6, 11]]);
    await eventually(async () => ((await ready()).body.status === 'ok' ? true : undefined));
    expect(await metrics()).toMatch(/^tokenledger_ledger_unwitnessed_logs 0/m);
  });

  describe('a database tampered with as superuser', () => {
    let published0: number;
    let published1: number;
    let pinned: string[];
    const monitorDir = mkdtempSync(path.join(tmpdir(), 'tl-watch-'));
    afterAll(() => rmSync(monitorDir, { recursive: true, force: true }));
    const watchOnce = () =>
      cli(
        [
          'checkpoint',
          'watch',
          '--url',
          system.apps.ledger.url,
          '--dir',
          monitorDir,
          '--once',
          ...pinned,
        ],
        system.rootToken,
      );
    /** The log's evidence bundle as exported now, in a file, for `tokenledger verify`. */
    const exported = async (logId: string): Promise<string> => {
      const res = await fetch(url(`/v1/ledger/export?logId=${logId}`), { headers: auth() });
      expect(res.status).toBe(200);
      const file = path.join(monitorDir, `${logId}.ndjson`);
      writeFileSync(file, await res.text());
      return file;
    };

    beforeAll(async () => {
      published0 = (await witnessedAt(log0, 11)).checkpointSize!;
      published1 = (await witnessedAt(log1, 8)).checkpointSize!;
      // An outside monitor, with the keys pinned, saw both logs before the tampering.
      const { keys } = await get<{ keys: Array<{ verifierKey: string }> }>('/v1/ledger/keys');
      pinned = [
        '--log-key',
        keys[0]!.verifierKey,
        '--witness-key',
        system.witness!.verifierKey,
        '--quorum',
        '1',
      ];
      const watched = watchOnce();
      expect(watched.status).toBe(0);
      expect(watched.out).toContain(`OK ${log0}`);
      // Log 0's bundle, exported now, is the latest tree its witness holds.
      const current = cli([
        'verify',
        await exported(log0),
        ...pinned,
        '--witness-url',
        system.witness!.url,
      ]);
      expect(current.out).toContain('latest: no witness asked holds a larger tree');
      expect(current.status).toBe(0);
      // The ledger is stopped, its tables changed, and it is started again: it learns what it
      // published from ledger.checkpoints (and the witness), not from its database.
      const old = system.apps.ledger.process;
      await new Promise<void>((resolve) => {
        old.once('exit', () => resolve());
        old.kill('SIGTERM');
      });
      const leaves = async (logId: string) =>
        sql<{
          idx: string;
          leaf: Buffer;
          leaf_hash: Buffer;
          chain_hash: Buffer;
          kafka_offset: string;
        }>(
          'SELECT idx, leaf, leaf_hash, chain_hash, kafka_offset FROM ledger.leaves WHERE log_id = $1 ORDER BY idx',
          [logId],
        );
      await sql('ALTER TABLE ledger.leaves DISABLE TRIGGER USER');
      await sql('ALTER TABLE ledger.checkpoints DISABLE TRIGGER USER');
      await sql('ALTER TABLE ledger.event_ids DISABLE TRIGGER USER');
      await sql('ALTER TABLE ledger.logs DISABLE TRIGGER USER'); // the owner's head guard (310)

      // (a) log 0: the last 5 leaves deleted, the head rolled back, later checkpoints deleted.
      const rows0 = await leaves(log0);
      const keep = published0 - 5;
      await sql('DELETE FROM ledger.leaves WHERE log_id = $1 AND idx >= $2', [log0, keep]);
      await sql('DELETE FROM ledger.event_ids WHERE log_id = $1 AND idx >= $2', [log0, keep]);
      await sql('DELETE FROM ledger.checkpoints WHERE log_id = $1 AND size > $2', [log0, keep]);
      await sql(
        'UPDATE ledger.logs SET size = $2, root_hash = $3, chain_head = $4 WHERE log_id = $1',
        [
          log0,
          keep,
          rootHash(rows0.slice(0, keep).map((r) => r.leaf_hash)),
          rows0[keep - 1]!.chain_hash,
        ],
      );

      // (b) log 1: the last 3 leaves rewritten (hashes, chain and subtrees recomputed), checkpoints
      // after them deleted, and the rewritten tree signed with a key inserted into signing_keys.
      const rows1 = await leaves(log1);
      const from = published1 - 3;
      const hashes = rows1.map((r) => r.leaf_hash);
      let chain = rows1[from - 1]!.chain_hash;
      await sql('DELETE FROM ledger.leaves WHERE log_id = $1 AND idx >= $2', [log1, from]);
      for (let i = from; i < published1; i += 1) {
        const row = rows1[i]!;
        const leaf = Buffer.from(row.leaf.toString('utf8').replace('"e2e-', '"forged-'));
        hashes[i] = leafHash(leaf);
        chain = chainNext(chain, hashes[i]!);
        const subtrees = Buffer.concat(
          completedBy(i).map((n) =>
            rootHash(hashes.slice(n.index * 2 ** n.level, (n.index + 1) * 2 ** n.level)),
          ),
        );
        await sql(
          `INSERT INTO ledger.leaves (log_id, idx, kafka_offset, kind, leaf, leaf_hash, chain_hash, subtrees)
           VALUES ($1, $2, $3, 'rejected', $4, $5, $6, $7)`,
          [log1, i, row.kafka_offset, leaf, hashes[i], chain, subtrees],
        );
      }
      const forgedRoot = rootHash(hashes.slice(0, published1));
      await sql('DELETE FROM ledger.checkpoints WHERE log_id = $1 AND size > $2', [log1, from]);
      await sql('UPDATE ledger.logs SET root_hash = $2, chain_head = $3 WHERE log_id = $1', [
        log1,
        forgedRoot,
        chain,
      ]);
      const forger = signerFromSeed('tokenledger.local/ledger', randomBytes(32));
      await sql(
        `INSERT INTO ledger.signing_keys (key_name, verifier_key, active) VALUES ($1, $2, true)`,
        [forger.name, verifierKey(forger.name, forger.publicKey)],
      );
      await sql(
        `INSERT INTO ledger.checkpoints (log_id, size, root_hash, note, key_name) VALUES ($1, $2, $3, $4, $5)`,
        [
          log1,
          published1,
          forgedRoot,
          signNote(
            formatCheckpoint({
              origin: `tokenledger.local/ledger/${log1}`,
              size: published1,
              rootHash: forgedRoot,
            }),
            forger,
          ),
          forger.name,
        ],
      );
      for (const table of ['leaves', 'checkpoints', 'event_ids', 'logs'])
        await sql(`ALTER TABLE ledger.${table} ENABLE TRIGGER USER`);

      const restarted = spawnApp('ledger', {
        ...system.env,
        PORT: new URL(system.apps.ledger.url).port,
      });
      system.apps.ledger = { ...system.apps.ledger, ...restarted };
      await eventually(
        async () => ((await fetch(url('/health/ready'))).status === 200 ? true : undefined),
        60_000,
        'ledger ready again',
      );
    }, 120_000);

    const halted = async (logId: string) =>
      eventually(
        async () => {
          const text = await metrics();
          return new RegExp(
            `^tokenledger_ledger_signing_halted\\{log_id="${logId.replace(/\./g, '\\.')}"\\} 1$`,
            'm',
          ).test(text)
            ? true
            : undefined;
        },
        30_000,
        `${logId} halted`,
      );
    const haltEvent = async (logId: string) => {
      const records = await readTopic(opsAudit, (rs) =>
        rs.some((r) => {
          const d = decodeEvent(r.value ?? Buffer.alloc(0));
          return (
            d.ok &&
            d.event.type === 'tokenledger.ops.signing-halted.v1' &&
            d.event.subject === logId
          );
        }),
      );
      return records
        .map((r) => decodeEvent(r.value ?? Buffer.alloc(0)))
        .flatMap((d) =>
          d.ok && d.event.type === 'tokenledger.ops.signing-halted.v1' && d.event.subject === logId
            ? [d.event.data]
            : [],
        );
    };

    it('(a) truncation: the signer refuses to sign, a critical ops.audit event appears, the halted metric is 1', async () => {
      await halted(log0);
      expect(await haltEvent(log0)).toEqual([
        expect.objectContaining({
          logId: log0,
          severity: 'critical',
          reason: 'smaller-than-published',
          publishedSize: published0,
          headSize: published0 - 5,
        }),
      ]);
      // New leaves arrive; the log grows past the published size but is never signed. (The halt
      // events go to ops.audit too, so a partition may hold more than what is sent here.)
      await send(0, 7);
      await eventually(async () =>
        ((await view(log0))?.size ?? 0) >= published0 + 2 ? true : undefined,
      );
      await new Promise((r) => setTimeout(r, 1500)); // several checkpoint intervals
      expect(await view(log0)).toMatchObject({
        signingHalted: true,
        checkpointSize: published0 - 5,
      });
      const r = await ready();
      expect(r).toMatchObject({
        status: 200,
        body: { status: 'degraded', checks: { signing: 'degraded' } },
      });
      expect(String(r.body.reasons)).toContain(log0);
      const logged = system.apps.ledger.output.join('');
      expect(logged).toContain('signing HALTED');
      expect(logged).not.toContain(system.rootToken);
    });

    it('(b) a rewritten suffix re-signed with a key inserted into signing_keys: the signer still refuses', async () => {
      await halted(log1);
      expect(await haltEvent(log1)).toEqual([
        expect.objectContaining({
          logId: log1,
          severity: 'critical',
          reason: 'inconsistent-with-published',
          publishedSize: published1,
          headSize: published1,
        }),
      ]);
      await send(1, 4);
      await eventually(async () =>
        ((await view(log1))?.size ?? 0) >= published1 + 4 ? true : undefined,
      );
      await new Promise((r) => setTimeout(r, 1500));
      const [latest] = await sql<{ size: string }>(
        'SELECT max(size) AS size FROM ledger.checkpoints WHERE log_id = $1',
        [log1],
      );
      expect(Number(latest?.size)).toBe(published1); // only the forged one; nothing signed after it
      expect((await view(log1))?.signingHalted).toBe(true);
    });

    describe('verification of the tampered logs (POST /v1/ledger/verify, CLI)', () => {
      it('POST /v1/ledger/verify reports log 0 truncated and log 1 rewritten, with the first bad index', async () => {
        const res = await fetch(url('/v1/ledger/verify'), {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'application/json' },
          body: '{}',
        });
        expect(res.status).toBe(200);
        const answer = (await res.json()) as {
          ok: boolean;
          logs: Array<{ logId: string; ok: boolean; error?: { code: string; index: number } }>;
        };
        expect(answer.ok).toBe(false);
        const byId = new Map(answer.logs.map((l) => [l.logId, l]));
        // Log 0 lost its last 5 leaves, then grew again with other events past the size the witness
        // cosigned (test a): `truncated` while it is shorter, a root mismatch at the witnessed size
        // once it is not; either way the first bad index is the first deleted leaf.
        expect(byId.get(log0)).toMatchObject({ ok: false, error: { index: published0 - 5 } });
        expect(['truncated', 'witnessed-root-mismatch']).toContain(byId.get(log0)?.error?.code);
        // Log 1's last 3 leaves were rewritten and re-signed with the inserted key. A root only
        // says "something below this size changed", so the first bad index is the size of the
        // last stored checkpoint that still verifies (all below the rewrite are real ones).
        const [lastGood] = await sql<{ size: string }>(
          'SELECT coalesce(max(size), 0) AS size FROM ledger.checkpoints WHERE log_id = $1 AND size <= $2',
          [log1, published1 - 3],
        );
        expect(byId.get(log1)).toMatchObject({
          ok: false,
          error: { index: Number(lastGood?.size) },
        });
        expect([
          'checkpoint-failed',
          'witnessed-root-mismatch',
          'checkpoint-root-mismatch',
        ]).toContain(byId.get(log1)?.error?.code);
      });

      it('tokenledger verify with pinned log and witness keys and quorum fails on the re-signed bundle', async () => {
        const forged = cli(['verify', await exported(log1), ...pinned]);
        expect(forged.status).toBe(1);
        expect(forged.out).toMatch(/FAILED/);
        expect(forged.out).toMatch(/key-mismatch|quorum-not-met/);
        // Without a pinned key, nothing is verified at all.
        const unpinned = cli(['verify', await exported(log1)]);
        expect(unpinned.status).toBe(2);
        expect(unpinned.out).toMatch(/log key/i);
      });

      it("tokenledger verify --witness-url fails on the truncated log's bundle: the witness holds a larger tree", async () => {
        // Offline, the export of log 0 is an older checkpoint that was honestly cosigned: its
        // entries do verify. Only the witness knows the log was bigger.
        const file = await exported(log0);
        expect(cli(['verify', file, ...pinned]).status).toBe(0);
        const asked = cli(['verify', file, ...pinned, '--witness-url', system.witness!.url]);
        expect(asked.status).toBe(1);
        expect(asked.out).toMatch(
          new RegExp(`FAILED: behind-witness: .*cosigned a tree of size ${published0} `),
        );
      });

      it('tokenledger checkpoint watch reports the rollback of log 0', () => {
        const watched = watchOnce();
        expect(watched.status).toBe(1);
        const alerts = watched.out.split('\n').filter((l) => l.includes(' ALERT '));
        expect(alerts.some((l) => l.includes(log0) && /ROLLBACK|SHRUNK/.test(l))).toBe(true);
      });
    });
  });
});
