import { EventVerifier, TOPICS, decodeEvent, topicName, uuidv7 } from '@tokenledger/contracts';
import {
  chainNext,
  leafHash,
  openCheckpoint,
  parseVerifierKey,
  verifyConsistency,
  verifyInclusion,
  type NoteVerifier,
} from '@tokenledger/ledger-core';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTiledLog,
  readTopic,
  testKafka,
  type TestDatabase,
  type TiledLog,
} from '@tokenledger/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { cli } from './cli';
import { startSystem, type RunningSystem } from './system';

interface Entry {
  logId: string;
  index: number;
  leaf: string;
  leafHash: string;
  chainHash: string;
  record: {
    kind: string;
    offset: number;
    event?: { type: string; subject: string; actor: string; id: string };
    reason?: string;
  };
}

describe('ledger: tokens issued, used and revoked appear in the verifiable logs', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  const prefix = freshTopicPrefix();
  const url = (path: string): string => `${system.apps.ledger.url}${path}`;
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${system.rootToken}` });
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(url(path), { headers: auth() });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

  async function verifiers(): Promise<NoteVerifier[]> {
    const { keys } = await get<{ keys: Array<{ verifierKey: string }> }>('/v1/ledger/keys');
    return keys.flatMap((k) => {
      const parsed = parseVerifierKey(k.verifierKey);
      return parsed.ok ? [parsed.verifier] : [];
    });
  }

  async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers(),
      TOPIC_PREFIX: prefix,
      CHECKPOINT_INTERVAL_MS: '200',
    });
    await eventually(
      async () =>
        (await fetch(url('/v1/whoami'), { headers: auth() })).status === 200 ? true : undefined,
      20_000,
      'root token known',
    );
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  }, 60_000);

  it("puts a token's events in its timeline, each with an inclusion proof against a signed checkpoint", async () => {
    const issued = (await (
      await fetch(`${system.apps.issuance.url}/v1/tokens`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: JSON.stringify({
          owner: { type: 'service', id: 'audit' },
          name: 'audited',
          scopes: ['audit:read'],
          ttlSeconds: 600,
        }),
      })
    ).json()) as { token: string; tokenId: string };
    const form = {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: issued.token }).toString(),
    };
    await eventually(
      async () =>
        (
          (await (await fetch(`${system.apps.revocation.url}/v1/introspect`, form)).json()) as {
            active: boolean;
          }
        ).active
          ? true
          : undefined,
      10_000,
      'active',
    );
    await fetch(`${system.apps.revocation.url}/v1/tokens/${issued.tokenId}/revoke`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: '{}',
    });
    await fetch(`${system.apps.revocation.url}/v1/introspect`, form);

    const timeline = await eventually(
      async () => {
        const t = await get<{ entries: Entry[] }>(`/v1/ledger/tokens/${issued.tokenId}/timeline`);
        const types = t.entries.map((e) => e.record.event?.type);
        return types.includes('tokenledger.token.revoked.v1') &&
          types.filter((x) => x === 'tokenledger.token.used.v1').length >= 2
          ? t
          : undefined;
      },
      15_000,
      'issued, used and revoked in the timeline',
    );
    const types = timeline.entries.map((e) => e.record.event?.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'tokenledger.token.issued.v1',
        'tokenledger.token.used.v1',
        'tokenledger.token.revoked.v1',
      ]),
    );
    expect(JSON.stringify(timeline)).not.toContain(issued.token.slice(9));

    const keys = await verifiers();
    expect(keys.length).toBeGreaterThan(0);
    for (const entry of timeline.entries) {
      expect(leafHash(b64(entry.leaf)).equals(b64(entry.leafHash))).toBe(true);
      const cp = await eventually(
        async () => {
          const res = await fetch(url(`/v1/ledger/logs/${entry.logId}/checkpoint`), {
            headers: auth(),
          });
          if (res.status !== 200) return undefined;
          const opened = openCheckpoint(await res.text(), keys);
          if (!opened.ok) throw new Error(opened.error.message);
          return opened.checkpoint.size > entry.index ? opened.checkpoint : undefined;
        },
        15_000,
        `a checkpoint covering ${entry.logId}#${entry.index}`,
      );
      expect(cp.origin).toBe(`tokenledger.local/ledger/${entry.logId}`);
      const proof = await get<{ hashes: string[]; rootHash: string; leafHash: string }>(
        `/v1/ledger/logs/${entry.logId}/proofs/inclusion?index=${entry.index}&treeSize=${cp.size}`,
      );
      expect(b64(proof.rootHash).equals(Buffer.from(cp.rootHash))).toBe(true);
      expect(
        verifyInclusion(
          b64(entry.leafHash),
          entry.index,
          cp.size,
          proof.hashes.map(b64),
          cp.rootHash,
        ).ok,
      ).toBe(true);
      // A proof for another leaf must not verify.
      expect(
        verifyInclusion(
          leafHash(Buffer.from('forged')),
          entry.index,
          cp.size,
          proof.hashes.map(b64),
          cp.rootHash,
        ).ok,
      ).toBe(false);
    }

    // The same entries as one evidence bundle, checked offline by the CLI with the pinned log key.
    const evidence = await eventually(
      async () => {
        const res = await fetch(url(`/v1/ledger/tokens/${issued.tokenId}/evidence`), {
          headers: auth(),
        });
        const text = await res.text();
        const types = text
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => (JSON.parse(l) as { type?: string }).type);
        const count = types.filter((t) => t === 'log-entry').length;
        const logs = types.filter((t) => t === 'log').length;
        // Every event of the timeline, once a checkpoint covers it (later events, e.g. a finding
        // in another log, may add more).
        return res.status === 200 && count >= timeline.entries.length
          ? { text, count, logs }
          : undefined;
      },
      15_000,
      'evidence covering the whole timeline',
    );
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tl-evidence-')), 'token.ndjson');
    fs.writeFileSync(file, evidence.text);
    const { keys: published } = await get<{ keys: Array<{ verifierKey: string }> }>(
      '/v1/ledger/keys',
    );
    const checked = cli(['verify', file, '--log-key', published[0]?.verifierKey ?? '']);
    expect([checked.status, checked.stdout]).toEqual([
      0,
      expect.stringContaining(
        `OK token ${issued.tokenId}: ${evidence.count} entries in ${evidence.logs} log(s)`,
      ),
    ]);
    const malformed = await fetch(url('/v1/ledger/tokens/not-a-uuid/evidence'), {
      headers: auth(),
    });
    expect(malformed.status).toBe(400);
    const unknown = await fetch(url(`/v1/ledger/tokens/${uuidv7()}/evidence`), { headers: auth() });
    expect([unknown.status, ((await unknown.json()) as { code: string }).code]).toEqual([
      404,
      'no_evidence',
    ]);
    expect((await fetch(url(`/v1/ledger/tokens/${issued.tokenId}/evidence`))).status).toBe(401);
  });

  it('every record of an audited partition is one leaf, in offset order; consistency proofs link checkpoints', async () => {
    const { logs } = await get<{
      logs: Array<{
        logId: string;
        topic: string;
        partition: number;
        size: number;
        rootHash: string;
      }>;
    }>('/v1/ledger/logs');
    const lifecycle = logs.filter((l) => l.topic === topicName(TOPICS.lifecycle, prefix));
    expect(lifecycle.length).toBeGreaterThan(0);
    const admin = testKafka().admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topicName(TOPICS.lifecycle, prefix));
    await admin.disconnect();
    for (const log of lifecycle) {
      const high = Number(offsets.find((o) => o.partition === log.partition)?.high ?? 0);
      const final = await eventually(
        async () => {
          const l = (await get<{ logs: typeof logs }>('/v1/ledger/logs')).logs.find(
            (x) => x.logId === log.logId,
          );
          return l && l.size >= high ? l : undefined;
        },
        10_000,
        `${log.logId} to catch up`,
      );
      expect(final.size).toBe(high);
      const { entries } = await get<{ entries: Entry[] }>(
        `/v1/ledger/logs/${log.logId}/entries?from=0&limit=1000`,
      );
      expect(entries.map((e) => e.record.offset)).toEqual(entries.map((_, i) => i));
      expect(entries.map((e) => e.index)).toEqual(entries.map((_, i) => i));
      if (final.size >= 2) {
        const proof = await get<{ hashes: string[] }>(
          `/v1/ledger/logs/${log.logId}/proofs/consistency?from=1&to=${final.size}`,
        );
        const first = await get<{ rootHash: string }>(
          `/v1/ledger/logs/${log.logId}/proofs/inclusion?index=0&treeSize=1`,
        );
        expect(
          verifyConsistency(
            1,
            final.size,
            proof.hashes.map(b64),
            b64(first.rootHash),
            b64(final.rootHash),
          ).ok,
        ).toBe(true);
      }
    }
  });

  it('poison records become rejected leaves and dead letters; the log goes on', async () => {
    const topic = topicName(TOPICS.usage, prefix);
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [{ key: 'poison', value: Buffer.from('not json at all') }],
    });
    await producer.disconnect();
    const rejected = await eventually(
      async () => {
        for (const log of (
          await get<{ logs: Array<{ logId: string; topic: string; size: number }> }>(
            '/v1/ledger/logs',
          )
        ).logs.filter((l) => l.topic === topic)) {
          const { entries } = await get<{ entries: Entry[] }>(
            `/v1/ledger/logs/${log.logId}/entries?from=0&limit=1000`,
          );
          const hit = entries.find((e) => e.record.kind === 'rejected');
          if (hit) return hit;
        }
        return undefined;
      },
      10_000,
      'a rejected leaf',
    );
    expect(rejected.record.reason).toMatch(/^not-json/);
    const dead = await readTopic(
      topicName(TOPICS.dlq, prefix),
      (r) => r.some((x) => x.headers['tl-source-topic'] === topic),
      10_000,
    );
    expect(dead.find((x) => x.headers['tl-source-topic'] === topic)?.value?.toString()).toBe(
      'not json at all',
    );
  });

  it('replays a range: the target topic gets the original bytes, with replay headers; ops.audit records who did it', async () => {
    const { logs } = await get<{
      logs: Array<{ logId: string; topic: string; partition: number; size: number }>;
    }>('/v1/ledger/logs');
    const source = logs
      .filter((l) => l.topic === topicName(TOPICS.lifecycle, prefix) && l.size >= 2)
      .sort((a, b) => b.size - a.size)[0];
    if (!source) throw new Error('no lifecycle log with 2 entries');
    const targetTopic = `${prefix}replay.lifecycle`;
    const post = (body: unknown): Promise<Response> =>
      fetch(url('/v1/replays'), {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(
      (await post({ logId: source.logId, targetTopic: topicName(TOPICS.usage, prefix) })).status,
    ).toBe(400);
    const started = await post({
      logId: source.logId,
      fromIndex: 0,
      toIndex: source.size,
      targetTopic,
    });
    expect(started.status).toBe(202);
    const { replayId, total } = (await started.json()) as { replayId: string; total: number };
    expect(total).toBeGreaterThan(0);
    const final = await eventually(
      async () => {
        const st = await get<{ status: string; done: number }>(`/v1/replays/${replayId}`);
        return st.status !== 'running' ? st : undefined;
      },
      15_000,
      'the replay to finish',
    );
    expect(final).toMatchObject({ status: 'completed', done: total });

    const replayed = await readTopic(targetTopic, (r) => r.length >= total, 15_000);
    const originals = await readTopic(
      source.topic,
      (r) => r.filter((x) => x.partition === source.partition).length >= source.size,
      15_000,
    );
    const byOffset = new Map(
      originals
        .filter((r) => r.partition === source.partition)
        .map((r) => [Number(r.offset), r.value]),
    );
    expect(replayed).toHaveLength(total);
    const verifier = new EventVerifier(system.signing.signers);
    for (const r of replayed) {
      expect(r.headers['tl-replay-id']).toBe(replayId);
      expect(r.headers['tl-source-log']).toBe(source.logId);
      const original = byOffset.get(Number(r.headers['tl-source-index']));
      expect(original && r.value?.equals(original)).toBe(true);
      // The original signature too: a replayed event still verifies as its producer's.
      const decoded = decodeEvent(r.value ?? Buffer.alloc(0));
      expect(
        decoded.ok && verifier.verify(decoded.value as unknown as Record<string, unknown>).ok,
      ).toBe(true);
    }
    const audit = await readTopic(
      topicName(TOPICS.opsAudit, prefix),
      (rs) => rs.some((x) => x.value?.includes('replay-finished') && x.value.includes(replayId)),
      15_000,
    );
    const types = audit
      .map((x) => decodeEvent(x.value ?? Buffer.alloc(0)))
      .flatMap((d) =>
        d.ok && d.event.subject === replayId ? [`${d.event.type} ${d.event.actor}`] : [],
      );
    expect(types).toEqual([
      expect.stringMatching(/^tokenledger\.ops\.replay-started\.v1 operator:/),
      expect.stringMatching(/^tokenledger\.ops\.replay-finished\.v1 operator:/),
    ]);
  });

  it('exports a bundle that the CLI verifies offline, and a doctored bundle that it refuses', async () => {
    const witnessName = system.witness!.verifierKey.split('+')[0] ?? '';
    const { logs } = await get<{ logs: Array<{ logId: string; size: number }> }>('/v1/ledger/logs');
    const log = logs.filter((l) => l.size >= 2).sort((a, b) => b.size - a.size)[0];
    if (!log) throw new Error('no log to export');
    const { keys } = await get<{ keys: Array<{ verifierKey: string }> }>('/v1/ledger/keys');
    const bundle = await eventually(
      async () => {
        const res = await fetch(url(`/v1/ledger/export?logId=${log.logId}&from=0&to=${log.size}`), {
          headers: auth(),
        });
        const text = await res.text();
        // The whole log, under a checkpoint the system's witness has cosigned.
        return res.status === 200 &&
          text.split('\n').filter((l) => l.includes('"entry"')).length === log.size &&
          text.includes(`— ${witnessName} `)
          ? text
          : undefined;
      },
      15_000,
      'an export covering the whole log',
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-bundle-'));
    const file = path.join(dir, 'bundle.ndjson');
    fs.writeFileSync(file, bundle);
    // Trust pinned by the user: the log key and the witness key, quorum 1.
    const logKey = keys[0]?.verifierKey ?? '';
    const ok = cli([
      'verify',
      file,
      '--log-key',
      logKey,
      '--witness-key',
      system.witness!.verifierKey,
      '--quorum',
      '1',
    ]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`OK ${log.logId}: entries [0, ${log.size})`);

    const lines = bundle.split('\n');
    const at = lines.findIndex((l) => l.includes('"index":1,'));
    const entry = JSON.parse(lines[at] as string) as { leaf: string };
    const bytes = Buffer.from(entry.leaf, 'base64');
    bytes.writeUInt8(bytes.readUInt8(10) ^ 1, 10);
    lines[at] = JSON.stringify({ ...entry, leaf: bytes.toString('base64') });
    fs.writeFileSync(file, lines.join('\n'));
    const bad = cli(['verify', file, '--log-key', logKey]);
    expect(bad.status).toBe(1);
    // Changed bytes, chain hashes left as exported: named at the entry where the chain breaks.
    expect(bad.stdout).toMatch(
      /^FAILED at entry 1: chain-mismatch: entry 1: chain hash does not follow/,
    );
    // A mistyped flag is a usage error, not a silent fall-back to the keys in the bundle.
    expect(cli(['verify', file, '--kye', logKey]).status).toBe(2);
    // And without a pinned key nothing is verified: the keys in the bundle are never trusted.
    const unpinned = cli(['verify', file]);
    expect(unpinned.status).toBe(2);
  });

  it('serves every log as C2SP tiles; `tiles export` writes the same bytes, which an independent client verifies', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-tiles-'));
    const ledgerUrl = system.apps.ledger.url;
    const exportLogs = (...logIds: string[]) => {
      const run = cli(
        ['tiles', 'export', dir, '--url', ledgerUrl, ...logIds.flatMap((l) => ['--log', l])],
        system.rootToken,
      );
      expect(run.out).toMatch(/checkpoint of size \d+/);
      expect(run.status).toBe(0);
    };
    const fromFiles = (logId: string) =>
      readTiledLog((p) => {
        const file = path.join(dir, logId, p);
        return Promise.resolve(fs.existsSync(file) ? fs.readFileSync(file) : undefined);
      });
    const overHttp = (logId: string) =>
      readTiledLog(async (p) => {
        const res = await fetch(url(`/v1/ledger/tiles/${logId}/${p}`), { headers: auth() });
        if (res.status === 404) return undefined;
        if (res.status !== 200) throw new Error(`${p}: HTTP ${res.status}`);
        return Buffer.from(await res.arrayBuffer());
      });
    exportLogs();
    const { logs } = await get<{ logs: Array<{ logId: string; checkpointSize: number | null }> }>(
      '/v1/ledger/logs',
    );
    const signed = logs.filter((l) => l.checkpointSize !== null).map((l) => l.logId);
    expect(signed.length).toBeGreaterThan(0);
    expect(fs.readdirSync(dir).sort()).toEqual(expect.arrayContaining(signed.sort()));
    const logVerifiers = await verifiers();
    for (const logId of signed) {
      // A log may grow between the export and the reads: export it again until both show the
      // same checkpoint, then every file must be what the route serves.
      const [files, http] = await eventually(
        async (): Promise<[TiledLog, TiledLog] | undefined> => {
          const pair: [TiledLog, TiledLog] = [await fromFiles(logId), await overHttp(logId)];
          if (pair[0].checkpoint === pair[1].checkpoint) return pair;
          exportLogs(logId);
          return undefined;
        },
        15_000,
        `the export of ${logId} at the served checkpoint`,
      );
      const opened = openCheckpoint(files.checkpoint, logVerifiers);
      expect([logId, opened.ok && opened.checkpoint.size]).toEqual([logId, files.size]);
      expect([logId, files.resources.size]).toEqual([logId, http.resources.size]);
      for (const [p, bytes] of http.resources)
        expect([logId, p, files.resources.get(p)?.equals(bytes)]).toEqual([logId, p, true]);
    }
  });

  it('ledger tables refuse UPDATE and DELETE; superuser tampering is caught by /v1/ledger/verify naming the first bad index', async () => {
    type Verification = { ok: boolean; error?: { code: string; index: number; message: string } };
    const verify = async (logId: string): Promise<Verification> => {
      const res = await fetch(url('/v1/ledger/verify'), {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: JSON.stringify({ logId }),
      });
      const body = (await res.json()) as { logs: Verification[] };
      return body.logs[0] as never;
    };
    // Six uses of one token: six records on one usage partition (key = tokenId), in two rounds
    // with a checkpoint signed in between, so the log has a signed size below its full size.
    const issued = (await (
      await fetch(`${system.apps.issuance.url}/v1/tokens`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: JSON.stringify({
          owner: { type: 'service', id: 'tamper' },
          name: 'tamper',
          scopes: ['t:x'],
          ttlSeconds: 600,
        }),
      })
    ).json()) as { token: string; tokenId: string };
    const use = async (times: number): Promise<void> => {
      for (let i = 0; i < times; i += 1) {
        await fetch(`${system.apps.revocation.url}/v1/introspect`, {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: issued.token }).toString(),
        });
      }
    };
    const usageLog = async (uses: number): Promise<string | undefined> => {
      const { entries } = await get<{ entries: Entry[] }>(
        `/v1/ledger/tokens/${issued.tokenId}/timeline`,
      );
      const used = entries.filter((e) => e.record.event?.type === 'tokenledger.token.used.v1');
      return used.length >= uses ? used[0]?.logId : undefined;
    };
    // A use is attributed to the token (and lands in its timeline) once the revocation app has
    // projected the issuance; until then the token is unknown there.
    await eventually(
      async () => {
        const res = await fetch(`${system.apps.revocation.url}/v1/introspect`, {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: issued.token }).toString(),
        });
        return ((await res.json()) as { active: boolean }).active ? true : undefined;
      },
      20_000,
      'the tamper token to be active at the revocation app',
    );
    await use(3);
    const logId = await eventually(
      () => usageLog(3),
      10_000,
      'the first three uses in a usage log',
    );
    // The log may still grow when first seen (the usage events arrive in more than one flush):
    // wait until it holds still, at a size with a checkpoint, for longer than a flush and a
    // checkpoint interval.
    const settledSize = async (): Promise<number | undefined> => {
      const head = (
        await get<{ logs: Array<{ logId: string; size: number }> }>('/v1/ledger/logs')
      ).logs.find((l) => l.logId === logId);
      const [cp] = await sql<{ n: string }>(
        'SELECT max(size) AS n FROM ledger.checkpoints WHERE log_id = $1',
        [logId],
      );
      return head && cp?.n === String(head.size) ? head.size : undefined;
    };
    const settled = (): Promise<number> =>
      eventually(
        async () => {
          const first = await settledSize();
          if (first === undefined) return undefined;
          await new Promise((r) => setTimeout(r, 1500));
          return (await settledSize()) === first ? first : undefined;
        },
        20_000,
        'the log to hold still with a checkpoint at its full size',
      );
    const firstRound = await settled();
    await use(3);
    await eventually(() => usageLog(6), 10_000, 'all six uses recorded');
    const size = await settled();
    expect(size).toBeGreaterThan(firstRound);
    expect(size).toBeGreaterThanOrEqual(4);
    await eventually(
      async () => ((await verify(logId)).ok ? true : undefined),
      15_000,
      'a clean verification with a checkpoint at full size',
    );
    await expect(
      sql(`UPDATE ledger.leaves SET leaf = leaf WHERE log_id = $1 AND idx = 1`, [logId]),
    ).rejects.toThrow(/append-only/);
    await expect(
      sql(`DELETE FROM ledger.leaves WHERE log_id = $1 AND idx = 1`, [logId]),
    ).rejects.toThrow(/append-only/);

    type Row = {
      idx: string;
      leaf: Buffer;
      leaf_hash: Buffer;
      chain_hash: Buffer;
      subtrees: Buffer;
      kafka_offset: string;
      kind: string;
    };
    const original = await sql<Row>(
      'SELECT idx, leaf, leaf_hash, chain_hash, subtrees, kafka_offset, kind FROM ledger.leaves WHERE log_id = $1 ORDER BY idx',
      [logId],
    );
    const asSuperuser = async (fn: () => Promise<void>): Promise<void> => {
      await sql('ALTER TABLE ledger.leaves DISABLE TRIGGER USER');
      try {
        await fn();
      } finally {
        await sql('ALTER TABLE ledger.leaves ENABLE TRIGGER USER');
      }
    };
    const restore = (): Promise<void> =>
      asSuperuser(async () => {
        await sql('DELETE FROM ledger.leaves WHERE log_id = $1', [logId]);
        for (const r of original) {
          await sql(
            'INSERT INTO ledger.leaves (log_id, idx, kafka_offset, kind, leaf, leaf_hash, chain_hash, subtrees) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
            [logId, r.idx, r.kafka_offset, r.kind, r.leaf, r.leaf_hash, r.chain_hash, r.subtrees],
          );
        }
      });

    // 1. One byte of one leaf.
    await asSuperuser(async () => {
      await sql(
        `UPDATE ledger.leaves SET leaf = overlay(leaf placing '\\x20'::bytea from 3 for 1) WHERE log_id = $1 AND idx = 1`,
        [logId],
      );
    });
    expect(await verify(logId)).toMatchObject({
      ok: false,
      error: { code: 'leaf-hash-mismatch', index: 1 },
    });
    // The offline verifier, given an export made after the tampering, names the same entry.
    const exported = await (
      await fetch(url(`/v1/ledger/export?logId=${logId}&from=0&to=${size}`), { headers: auth() })
    ).text();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tl-tampered-')), 'bundle.ndjson');
    fs.writeFileSync(file, exported);
    const { keys } = await get<{ keys: Array<{ verifierKey: string }> }>('/v1/ledger/keys');
    const offline = cli(['verify', file, '--log-key', keys[0]?.verifierKey ?? '']);
    expect([offline.status, offline.stdout]).toEqual([
      1,
      expect.stringMatching(/^FAILED at entry 1: chain-mismatch: /),
    ]);
    await restore();
    expect((await verify(logId)).ok).toBe(true);

    // 2. A middle row deleted.
    await asSuperuser(async () => {
      await sql('DELETE FROM ledger.leaves WHERE log_id = $1 AND idx = 2', [logId]);
    });
    expect(await verify(logId)).toMatchObject({
      ok: false,
      error: { code: 'missing-leaf', index: 2, message: expect.stringContaining('missing') },
    });
    await restore();

    // 3. The tail deleted: caught against the checkpoint signed before.
    await asSuperuser(async () => {
      await sql('DELETE FROM ledger.leaves WHERE log_id = $1 AND idx >= $2', [logId, size - 2]);
    });
    expect(await verify(logId)).toMatchObject({
      ok: false,
      error: { code: 'truncated', index: size - 2 },
    });
    await restore();

    // 4. A suffix rewritten with recomputed leaf and chain hashes: the chain is self-consistent,
    //    but the roots no longer match the signed checkpoints. Signatures vouch for the leaves
    //    below the last checkpoint that still verifies and for none after it, so that checkpoint's
    //    size is the first index a verifier can prove bad. The rewrite starts at the first
    //    checkpointed size (it used to start at 1, where `firstBadIndex <= 1` also let the
    //    unprovable answer 0 pass whenever no checkpoint of size 1 had been signed).
    const signedSizes = (
      await sql<{ size: string }>(
        'SELECT size FROM ledger.checkpoints WHERE log_id = $1 ORDER BY size',
        [logId],
      )
    ).map((r) => Number(r.size));
    const from = signedSizes.find((s) => s >= 1 && s < size);
    if (from === undefined)
      throw new Error(`no checkpoint below the full size ${size}: ${JSON.stringify(signedSizes)}`);
    await asSuperuser(async () => {
      let chain: Buffer =
        from > 0 ? Buffer.from((original[from - 1] as Row).chain_hash) : Buffer.alloc(32);
      for (const r of original.slice(from)) {
        const leaf = Buffer.from(r.leaf);
        leaf.writeUInt8(leaf.readUInt8(leaf.length - 2) ^ 1, leaf.length - 2);
        const hash = leafHash(leaf);
        chain = chainNext(chain, hash);
        await sql(
          'UPDATE ledger.leaves SET leaf = $3, leaf_hash = $4, chain_hash = $5 WHERE log_id = $1 AND idx = $2',
          [logId, r.idx, leaf, hash, chain],
        );
      }
    });
    const rewritten = await verify(logId);
    expect([signedSizes, rewritten]).toEqual([
      signedSizes,
      {
        logId,
        ok: false,
        size,
        checkpointsChecked: signedSizes.filter((s) => s <= from).length,
        error: {
          code: 'checkpoint-root-mismatch',
          index: from,
          message: expect.stringMatching(/differs from the signed checkpoint/),
        },
        // The system's witness was asked too and vouches for a size of this log.
        witnessedSize: expect.any(Number),
        witnesses: [{ witness: 'witness.e2e.test/w1', status: 'ok', size: expect.any(Number) }],
      },
    ]);
    await restore();
    expect((await verify(logId)).ok).toBe(true);
  });
});
