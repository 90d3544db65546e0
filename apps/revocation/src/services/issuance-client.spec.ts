import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateToken } from '@tokenledger/token-core';
import type { RevocationConfig } from '../config';
import { IssuanceClient } from './issuance-client';

/** A stand-in issuance that answers 404 to everything once released, counting what is in flight. */
async function issuanceApp() {
  const state = {
    inFlight: 0,
    maxInFlight: 0,
    bodies: [] as string[],
    release: [] as Array<() => void>,
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      state.bodies.push(body);
      state.inFlight += 1;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      state.release.push(() => {
        state.inFlight -= 1;
        res.statusCode = 404;
        res.end('{}');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state, server };
}

const until = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
};

describe('IssuanceClient', () => {
  let app: Awaited<ReturnType<typeof issuanceApp>>;
  beforeAll(async () => {
    app = await issuanceApp();
  });
  afterAll(() => new Promise<void>((resolve) => app.server.close(() => resolve())));

  it('keeps at most ISSUANCE_LOOKUP_CONCURRENCY lookups in flight and refuses beyond the queue', async () => {
    const client = new IssuanceClient({
      ISSUANCE_URL: app.url,
      TOKENLEDGER_INTERNAL_SECRET: 's',
      ISSUANCE_LOOKUP_CONCURRENCY: 2,
      ISSUANCE_LOOKUP_QUEUE: 3,
    } as RevocationConfig);
    const tokens = Array.from({ length: 6 }, () => generateToken());
    const lookups = tokens.map((t) =>
      client.resolve(t).then(
        (r) => r,
        (e: Error) => e,
      ),
    );
    await until(() => app.state.inFlight === 2);
    // 2 in flight + 3 waiting: the sixth is refused at once, without a request.
    await expect(lookups[5]).resolves.toMatchObject({ code: 'issuance_busy', retryable: true });
    while (app.state.release.length > 0 || app.state.bodies.length < 5) {
      await until(() => app.state.release.length > 0);
      expect(app.state.inFlight).toBeLessThanOrEqual(2);
      app.state.release.shift()?.();
    }
    expect((await Promise.all(lookups.slice(0, 5))).every((r) => r === undefined)).toBe(true);
    expect(app.state.maxInFlight).toBe(2);
    expect(app.state.bodies).toHaveLength(5);
  });

  it('an error names no token', async () => {
    const client = new IssuanceClient({
      ISSUANCE_URL: 'http://127.0.0.1:9', // nothing listens there
      TOKENLEDGER_INTERNAL_SECRET: 's',
      ISSUANCE_LOOKUP_CONCURRENCY: 1,
      ISSUANCE_LOOKUP_QUEUE: 1,
    } as RevocationConfig);
    const token = generateToken();
    const error = await client.resolve(token).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toMatchObject({ code: 'issuance_unavailable', retryable: true });
    expect(JSON.stringify({ message: error?.message, ...error })).not.toContain(token.slice(9));
  });
});
