import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateToken } from '@tokenledger/token-core';
import type { AuthenticationResult } from './authenticator';
import { RemoteAuthenticator } from './remote-authenticator';

/** A stand-in revocation app that answers every token as unknown and records which it was asked. */
async function revocationApp(): Promise<{
  url: string;
  asked: string[];
  proofs: Array<string | undefined>;
  server: Server;
}> {
  const asked: string[] = [];
  const proofs: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const question = JSON.parse(body) as { token: string; proof?: string };
      asked.push(question.token);
      proofs.push(question.proof);
      const answer: AuthenticationResult = { ok: false, reason: 'unknown' };
      res.setHeader('content-type', 'application/json').end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked,
    proofs,
    server,
  };
}

describe('RemoteAuthenticator cache', () => {
  let app: Awaited<ReturnType<typeof revocationApp>>;

  beforeAll(async () => {
    app = await revocationApp();
  });
  afterAll(() => new Promise<void>((resolve) => app.server.close(() => resolve())));
  beforeEach(() => {
    app.asked.splice(0);
    app.proofs.splice(0);
  });

  it('when full, forgets the least recently used answer, not all of them', async () => {
    const auth = new RemoteAuthenticator({
      revocationUrl: app.url,
      internalSecret: 's',
      cacheEntries: 2,
      cacheMs: 60_000,
      now: () => 0,
    });
    const [a, b, c] = [generateToken(), generateToken(), generateToken()] as [
      string,
      string,
      string,
    ];
    await auth.authenticate(a);
    await auth.authenticate(b);
    await auth.authenticate(a); // a is now the most recently used
    await auth.authenticate(c); // full: b goes
    expect(app.asked).toEqual([a, b, c]);
    await auth.authenticate(a);
    await auth.authenticate(c);
    expect(app.asked).toEqual([a, b, c]);
    await auth.authenticate(b);
    expect(app.asked).toEqual([a, b, c, b]);
  });

  it('asks again once cacheMs has passed on its clock', async () => {
    let now = 1_000;
    const auth = new RemoteAuthenticator({
      revocationUrl: app.url,
      internalSecret: 's',
      cacheMs: 250,
      now: () => now,
    });
    const token = generateToken();
    await auth.authenticate(token);
    now += 249;
    await auth.authenticate(token);
    expect(app.asked).toHaveLength(1);
    now += 1;
    await auth.authenticate(token);
    expect(app.asked).toHaveLength(2);
  });

  it('asks once for requests that miss at the same moment', async () => {
    const auth = new RemoteAuthenticator({ revocationUrl: app.url, internalSecret: 's' });
    const token = generateToken();
    const results = await Promise.all(Array.from({ length: 5 }, () => auth.authenticate(token)));
    expect(results).toEqual(Array.from({ length: 5 }, () => ({ ok: false, reason: 'unknown' })));
    expect(app.asked).toEqual([token]);
  });

  it('never answers a DPoP presentation from the cache: each proof is sent to the revocation app', async () => {
    const auth = new RemoteAuthenticator({
      revocationUrl: app.url,
      internalSecret: 's',
      cacheMs: 60_000,
      now: () => 0,
    });
    const token = generateToken();
    const dpop = (proof: string) =>
      ({ scheme: 'DPoP', proof, htm: 'GET', htu: 'http://x/v1/whoami' }) as const;
    await auth.authenticate(token);
    await auth.authenticate(token, dpop('p1'));
    await auth.authenticate(token, dpop('p2'));
    await auth.authenticate(token);
    expect(app.asked).toEqual([token, token, token]);
    expect(app.proofs).toEqual([undefined, 'p1', 'p2']);
  });
});
