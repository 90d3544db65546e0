import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TOPICS, buildEvent, encodeEvent, topicName, uuidv7 } from '@tokenledger/contracts';
import { openCheckpoint, signerFromSeed, verifierFromPublicKey } from '@tokenledger/ledger-core';
import { HttpErrorFilter } from '@tokenledger/service-host';
import { migrateSchema } from '@tokenledger/sql';
import {
  APP_ROLES,
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTiledLog,
  type TestDatabase,
  type TiledLog,
} from '@tokenledger/testing';
import { generateToken } from '@tokenledger/token-core';
import { AppModule } from '../app.module';
import { ledgerConfigSchema } from '../config';
import { migrations } from '../migrations';
import { grants } from '../migrations/grants';
import { AppenderService } from '../services/appender.service';
import { CheckpointerService } from '../services/checkpointer.service';

// /v1/ledger/tiles over HTTP: the whole ledger app (real PostgreSQL and Kafka) on a free port.
// Operator tokens are checked by a stand-in revocation app that knows two tokens; everything
// else is the app as it runs. An independent C2SP client (testing/tiles-reader) reads the tiles.

const ORIGIN = 'tiles.int.test/ledger';
const seed = Buffer.alloc(32, 0x42);
const logVerifier = verifierFromPublicKey(ORIGIN, signerFromSeed(ORIGIN, seed).publicKey);
const DOMAIN_STATUS = {
  log_not_found: 404,
  no_checkpoint: 404,
  bad_tile_path: 400,
  tile_not_found: 404,
  ledger_inconsistent: 500,
};

/** The revocation app's internal authenticate route, for two known tokens. */
function fakeRevocation(tokens: Map<string, string[]>): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const { token } = JSON.parse(body) as { token: string };
      const scopes = tokens.get(token);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify(
          scopes
            ? { ok: true, principal: { tokenId: uuidv7(), scopes, actor: 'operator:test' } }
            : { ok: false, reason: 'unknown' },
        ),
      );
    });
  });
}

describe('/v1/ledger/tiles (C2SP tlog-tiles; real PostgreSQL and Kafka, over HTTP)', () => {
  const prefix = freshTopicPrefix();
  const topic = topicName(TOPICS.lifecycle, prefix);
  const logId = `${topic}-0`;
  const emptyLogId = `${topic}-1`;
  const reader = generateToken();
  const issuer = generateToken();
  const revocation = fakeRevocation(
    new Map([
      [reader, ['ledger:read']],
      [issuer, ['tokens:issue']],
    ]),
  );
  let db: TestDatabase;
  let app: NestFastifyApplication | undefined;
  let url = '';
  let offset = 0;

  const boot = async (env: Record<string, string> = {}): Promise<void> => {
    await app?.close();
    const config = ledgerConfigSchema.parse({
      DATABASE_URL: db.appUrls.ledger,
      DATABASE_OWNER_URL: db.ownerUrl,
      KAFKA_BROKERS: kafkaBrokers(),
      TOPIC_PREFIX: prefix,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      LEDGER_ORIGIN: ORIGIN,
      LEDGER_SIGNING_KEY: seed.toString('base64'),
      // Signed when the test says so (signDue), not on a timer.
      CHECKPOINT_INTERVAL_MS: '3600000',
      TOKENLEDGER_INTERNAL_SECRET: 'x'.repeat(43),
      REVOCATION_URL: `http://127.0.0.1:${(revocation.address() as AddressInfo).port}`,
      ...env,
    });
    // As the app runs: the owner migrates and grants, the app connects as its login role. The HTTP
    // app is made as service-host's createService makes it, minus the OpenAPI pages (their static
    // assets do not load under jest) and the Kafka consumers (records are appended directly).
    await migrateSchema({
      ownerUrl: db.ownerUrl,
      schema: 'ledger',
      migrations,
      grants,
      loginRole: APP_ROLES.ledger,
    });
    app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot(config),
      new FastifyAdapter({ routerOptions: { ignoreTrailingSlash: true } }),
      { logger: false, abortOnError: false },
    );
    app.useGlobalFilters(new HttpErrorFilter({ domainStatus: DOMAIN_STATUS }));
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  };

  const append = async (n: number, partition = 0): Promise<void> => {
    for (let done = 0; done < n; done += 5000) {
      const records = Array.from({ length: Math.min(5000, n - done) }, () => {
        const event = buildEvent({
          type: 'tokenledger.token.expired.v1',
          source: '/tokenledger/test',
          actor: 'system',
          data: { tokenId: uuidv7(), expiredAt: '2026-12-01T00:00:00.000Z' },
        });
        return {
          offset: offset++,
          timestamp: 1_800_000_000_000 + offset,
          value: encodeEvent(event),
        };
      });
      await app!.get(AppenderService).append(topic, partition, records);
    }
  };
  // The first pass reads ledger.checkpoints, which a fresh prefix has just created: retried
  // while the broker elects its leader.
  const sign = () =>
    eventually(
      async () => {
        await app!.get(CheckpointerService).signDue();
        return true;
      },
      30_000,
      'a signing pass',
    );

  const get = (path: string, token: string | null = reader) =>
    fetch(`${url}/v1/ledger/tiles/${logId}/${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  const body = async (path: string): Promise<Buffer | undefined> => {
    const res = await get(path);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return Buffer.from(await res.arrayBuffer());
  };
  const errorOf = async (res: Response) => {
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await res.json()) as { status: number; code: string };
    expect(problem.status).toBe(res.status);
    return [res.status, problem.code];
  };

  let first: TiledLog;

  beforeAll(async () => {
    await new Promise<void>((resolve) => revocation.listen(0, '127.0.0.1', resolve));
    db = await freshDatabase();
    await boot();
    // Full and partial tiles at level 0, a partial one at level 1 (hashes of tree level 8). Levels
    // above use the same read at another offset; the ledger-core spec covers a level-2 tree.
    await append(1000);
    await sign();
    first = await readTiledLog(body);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => revocation.close(resolve));
    await db?.drop();
  });

  it('serves a tree the independent client verifies: every hash tile against the root, every bundle against the leaf hashes', async () => {
    expect(first.size).toBe(1000);
    expect(first.origin).toBe(`${ORIGIN}/${logId}`);
    expect([...first.resources.keys()].sort()).toEqual(
      [
        'checkpoint',
        'tile/0/000',
        'tile/0/001',
        'tile/0/002',
        'tile/0/003.p/232',
        'tile/1/000.p/3',
        'tile/entries/000',
        'tile/entries/001',
        'tile/entries/002',
        'tile/entries/003.p/232',
      ].sort(),
    );
    // The checkpoint is the log's, signed with its key, and what /v1/ledger/logs/{id}/checkpoint serves.
    const opened = openCheckpoint(first.checkpoint, [logVerifier], `${ORIGIN}/${logId}`);
    expect(opened.ok && opened.checkpoint.size).toBe(1000);
    const same = await fetch(`${url}/v1/ledger/logs/${logId}/checkpoint`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(await same.text()).toBe(first.checkpoint);
    // The entries are the stored leaves.
    const stored = (await (
      await fetch(`${url}/v1/ledger/logs/${logId}/entries?from=999&limit=1`, {
        headers: { authorization: `Bearer ${reader}` },
      })
    ).json()) as { entries: Array<{ leaf: string }> };
    expect(first.entries[999]?.toString('base64')).toBe(stored.entries[0]?.leaf);
  });

  it('marks full tiles immutable, partial tiles and the checkpoint short-lived, with the spec’s content types', async () => {
    const headers = async (path: string) => {
      const res = await get(path);
      expect([path, res.status]).toEqual([path, 200]);
      return [res.headers.get('content-type'), res.headers.get('cache-control')];
    };
    const immutable = 'private, max-age=31536000, immutable';
    expect(await headers('tile/0/000')).toEqual(['application/octet-stream', immutable]);
    expect(await headers('tile/entries/002')).toEqual(['application/octet-stream', immutable]);
    expect(await headers('tile/1/000.p/3')).toEqual([
      'application/octet-stream',
      'private, no-cache',
    ]);
    expect(await headers('tile/0/003.p/232')).toEqual([
      'application/octet-stream',
      'private, no-cache',
    ]);
    expect(await headers('tile/entries/003.p/232')).toEqual([
      'application/octet-stream',
      'private, no-cache',
    ]);
    expect(await headers('checkpoint')).toEqual(['text/plain; charset=utf-8', 'private, no-cache']);
  });

  it('answers bad paths with 400, tiles outside the tree with 404, never 500', async () => {
    for (const path of [
      'tile/0/1',
      'tile/0/x000/001',
      'tile/00/000',
      'tile/64/000',
      'tile/0/000.p/256',
      'tile/0/000.p/0',
      'tile/0/000.p/',
      'tile/entries/x001',
      'tile/0/abc',
    ])
      expect([path, ...(await errorOf(await get(path)))]).toEqual([path, 400, 'bad_tile_path']);
    for (const path of [
      'tile/0/004', // beyond the tree
      'tile/0/004.p/1',
      'tile/0/003', // not full yet
      'tile/0/003.p/233', // wider than the tree
      'tile/0/002.p/5', // its full tile exists
      'tile/1/000',
      'tile/1/000.p/4',
      'tile/2/000.p/1',
      'tile/entries/004.p/1',
      'tile/entries/003',
      'tile/0/x999/x999/x999/x999/x999/999', // beyond 2^53
    ])
      expect([path, ...(await errorOf(await get(path)))]).toEqual([path, 404, 'tile_not_found']);
    const other = (id: string, path: string) =>
      fetch(`${url}/v1/ledger/tiles/${id}/${path}`, {
        headers: { authorization: `Bearer ${reader}` },
      });
    expect(await errorOf(await other('nope', 'checkpoint'))).toEqual([400, 'bad_request']);
    expect(await errorOf(await other(`${topic}-9`, 'tile/0/000'))).toEqual([404, 'log_not_found']);
    // A log that exists but has no checkpoint yet.
    await append(3, 1);
    expect(await errorOf(await other(emptyLogId, 'checkpoint'))).toEqual([404, 'no_checkpoint']);
    expect(await errorOf(await other(emptyLogId, 'tile/0/000.p/3'))).toEqual([
      404,
      'no_checkpoint',
    ]);
  });

  it('needs a token with ledger:read (401 without, 403 with another scope)', async () => {
    for (const path of ['checkpoint', 'tile/0/000', 'tile/entries/003.p/232']) {
      expect([path, ...(await errorOf(await get(path, null)))]).toEqual([
        path,
        401,
        'unauthorized',
      ]);
      expect([path, ...(await errorOf(await get(path, issuer)))]).toEqual([path, 403, 'forbidden']);
      expect([path, ...(await errorOf(await get(path, generateToken())))]).toEqual([
        path,
        401,
        'unauthorized',
      ]);
    }
  });

  it('replaces partial tiles as the log grows, never changes them; full tiles never change', async () => {
    // 1000 -> 1100: level-0 tile 3 fills up (1024), level 1 goes from 3 to 4 wide.
    await append(100);
    await sign();
    const second = await readTiledLog(body);
    expect(second.size).toBe(1100);
    for (const [path, bytes] of first.resources) {
      if (path === 'checkpoint') continue;
      const partial = /^(.*)\.p\/(\d+)$/.exec(path);
      if (!partial) {
        // A full tile: the same bytes.
        expect([path, second.resources.get(path)?.equals(bytes)]).toEqual([path, true]);
        continue;
      }
      // A partial tile: its bytes start the same tile now, whether full or wider.
      const base = partial[1] as string;
      const now = [...second.resources].find(([p]) => p === base || p.startsWith(`${base}.p/`));
      expect([path, now?.[0] !== undefined]).toEqual([path, true]);
      expect([path, now?.[1].subarray(0, bytes.length).equals(bytes)]).toEqual([path, true]);
      // The old partial path: still served with the same bytes while that tile is partial,
      // 404 once it is full.
      const again = await get(path);
      if (now?.[0] === base) expect([path, again.status]).toEqual([path, 404]);
      else {
        expect([path, again.status]).toEqual([path, 200]);
        expect(Buffer.from(await again.arrayBuffer()).equals(bytes)).toBe(true);
      }
    }
    expect([...second.resources.keys()]).toEqual(
      expect.arrayContaining([
        'tile/0/003',
        'tile/0/004.p/76',
        'tile/1/000.p/4',
        'tile/entries/004.p/76',
      ]),
    );
    first = second;
  }, 120_000);

  it('serves the same bytes without a token when LEDGER_TILES_PUBLIC=true, cacheable by shared caches', async () => {
    await boot({ LEDGER_TILES_PUBLIC: 'true' });
    const open = await readTiledLog(async (path) => {
      const res = await get(path, null);
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.headers.get('cache-control')).toMatch(/^public, /);
      return Buffer.from(await res.arrayBuffer());
    });
    expect(open.resources.size).toBe(first.resources.size);
    for (const [path, bytes] of first.resources)
      expect([path, open.resources.get(path)?.equals(bytes)]).toEqual([path, true]);
    const full = await get('tile/0/000', null);
    expect(full.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    // Other ledger routes still need a token.
    const logs = await fetch(`${url}/v1/ledger/logs`);
    expect(logs.status).toBe(401);
  }, 120_000);
});
