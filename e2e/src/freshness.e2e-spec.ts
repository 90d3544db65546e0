import { createHash } from 'node:crypto';
import { eventually, freshDatabase, freshTopicPrefix, kafkaBrokers } from '@tokenledger/testing';
import type { TestDatabase } from '@tokenledger/testing';
import { generateToken } from '@tokenledger/token-core';
import { freePort, spawnApp, startSystem, type RunningSystem, untilReady } from './system';

interface Issued {
  token: string;
  tokenId: string;
}

/**
 * Read-your-writes through the real apps (docs/design/freshness.md): a token is active at every
 * revocation instance from the moment its issuance response is sent, the very first one after the
 * system is ready included; a revocation bites at once at the instance that took it, and at the
 * others within STATUS_CACHE_MS (waited for here, measured nowhere: timings are for bench/).
 */
describe('freshness: read-your-writes from the first token after ready', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  const prefix = freshTopicPrefix();
  const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
  const revocationUrl = (): string => system.apps.revocation.url;

  const issue = async (operator: string, scopes = ['x:read']): Promise<Issued> => {
    const res = await fetch(`${system.apps.issuance.url}/v1/tokens`, {
      method: 'POST',
      headers: { ...bearer(operator), 'content-type': 'application/json' },
      body: JSON.stringify({
        owner: { type: 'service', id: 'fresh' },
        name: 'fresh',
        scopes,
        ttlSeconds: 600,
      }),
    });
    if (res.status !== 201) throw new Error(`issue: ${res.status} ${await res.text()}`);
    return (await res.json()) as Issued;
  };

  const introspect = async (
    token: string,
    base = revocationUrl(),
  ): Promise<{ active: boolean }> => {
    const res = await fetch(`${base}/v1/introspect`, {
      method: 'POST',
      headers: {
        ...bearer(system.rootToken),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }).toString(),
    });
    if (res.status !== 200) throw new Error(`introspect: ${res.status} ${await res.text()}`);
    return (await res.json()) as { active: boolean };
  };

  const revoke = async (tokenId: string, base = revocationUrl()): Promise<number> =>
    (
      await fetch(`${base}/v1/tokens/${tokenId}/revoke`, {
        method: 'POST',
        headers: { ...bearer(system.rootToken), 'content-type': 'application/json' },
        body: '{}',
      })
    ).status;

  beforeAll(async () => {
    db = await freshDatabase();
    // startSystem returns as soon as every app's /health/ready is 200, as `npm start` prints ready.
    system = await startSystem(
      { DATABASE_URL: db.url, KAFKA_BROKERS: kafkaBrokers(), TOPIC_PREFIX: prefix },
      { witness: false },
    );
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  }, 60_000);

  // The first test of the file: nothing has touched the system since it became ready.
  it('the first token issued after ready is active at the first introspection, as is the root token', async () => {
    const first = await issue(system.rootToken);
    expect(await introspect(first.token)).toMatchObject({ active: true });
  });

  it('every token of a burst is active at its first introspection, sent as soon as its issuance answered', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const seen: boolean[] = [];
        for (let i = 0; i < 10; i++) {
          const t = await issue(system.rootToken);
          seen.push((await introspect(t.token)).active);
        }
        return seen;
      }),
    );
    expect(answers.flat()).toHaveLength(80);
    expect(answers.flat().filter((active) => !active)).toHaveLength(0);
  });

  it('an operator token works at once at another app (issuance asks revocation)', async () => {
    const operator = await issue(system.rootToken, ['tokens:issue', 'x:read']);
    await expect(issue(operator.token)).resolves.toMatchObject({ tokenId: expect.any(String) });
  });

  it('revoke, then introspect at the same instance: inactive at once, also for a token issued a moment ago', async () => {
    const t = await issue(system.rootToken);
    expect(await revoke(t.tokenId)).toBe(200);
    expect(await introspect(t.token)).toEqual({ active: false });

    const u = await issue(system.rootToken);
    expect(await introspect(u.token)).toMatchObject({ active: true });
    expect(await revoke(u.tokenId)).toBe(200);
    expect(await introspect(u.token)).toEqual({ active: false });

    // RFC 7009, by the token itself, right after issuance.
    const v = await issue(system.rootToken);
    const res = await fetch(`${revocationUrl()}/v1/revoke`, {
      method: 'POST',
      headers: {
        ...bearer(system.rootToken),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: v.token }).toString(),
    });
    expect(res.status).toBe(200);
    expect(await introspect(v.token)).toEqual({ active: false });
  });

  it('unknown well-formed tokens are inactive, and a miss does not make a token issued after it inactive', async () => {
    const unknown = generateToken();
    expect(await introspect(unknown)).toEqual({ active: false });
    expect(await introspect(unknown)).toEqual({ active: false }); // from the negative cache
    const after = await issue(system.rootToken);
    expect(await introspect(after.token)).toMatchObject({ active: true });

    // Random tokens and fresh tokens at the same time: every miss stays a miss, every fresh token
    // is active at its first introspection.
    const [randoms, fresh] = await Promise.all([
      Promise.all(Array.from({ length: 200 }, () => introspect(generateToken()))),
      Promise.all(
        Array.from({ length: 4 }, async () => {
          const seen: boolean[] = [];
          for (let i = 0; i < 5; i++) {
            const t = await issue(system.rootToken);
            seen.push((await introspect(t.token)).active);
          }
          return seen;
        }),
      ),
    ]);
    expect(randoms.filter((a) => a.active)).toHaveLength(0);
    expect(fresh.flat().filter((active) => !active)).toHaveLength(0);

    // Neither the unknown token nor its hash is written anywhere in the apps' output.
    const digest = createHash('sha256').update(unknown);
    const forms = [
      unknown,
      unknown.slice(13),
      digest.copy().digest('base64'),
      digest.digest('hex'),
    ];
    for (const app of Object.values(system.apps)) {
      const output = app.output.join('');
      for (const form of forms) expect(output).not.toContain(form);
    }
  });

  it('a second revocation instance: a fresh token is active there at once; a revocation at the first reaches it', async () => {
    const port = await freePort();
    const second = spawnApp('revocation', { ...system.env, PORT: String(port) });
    const secondUrl = `http://127.0.0.1:${port}`;
    try {
      await untilReady(secondUrl, 'the second instance ready');
      const t = await issue(system.rootToken);
      expect(await introspect(t.token, secondUrl)).toMatchObject({ active: true });
      expect(await introspect(t.token)).toMatchObject({ active: true });
      expect(await revoke(t.tokenId)).toBe(200);
      expect(await introspect(t.token)).toEqual({ active: false });
      await eventually(
        async () => ((await introspect(t.token, secondUrl)).active === false ? true : undefined),
        10_000,
        'the revocation seen by the second instance',
      );
      // And the other way round, for a token neither instance has projected yet.
      const u = await issue(system.rootToken);
      expect(await revoke(u.tokenId, secondUrl)).toBe(200);
      expect(await introspect(u.token, secondUrl)).toEqual({ active: false });
      await eventually(
        async () => ((await introspect(u.token)).active === false ? true : undefined),
        10_000,
        'the revocation seen by the first instance',
      );
    } finally {
      await new Promise<void>((resolve) => {
        if (second.process.exitCode !== null) return resolve();
        second.process.once('exit', () => resolve());
        second.process.kill('SIGTERM');
      });
    }
  });
});
