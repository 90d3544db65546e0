import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import { PROBLEM_CONTENT_TYPE } from '@tokenledger/errors';
import { APPS, type ConsoleApp, type ConsoleConfig } from '../src/server/config';
import { createConsoleServer } from '../src/server/server';

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

/**
 * The console server's own errors (not the services' answers it forwards) are RFC 9457 problem
 * details, the shape every app answers and the console's web client reads.
 */
describe('console server errors', () => {
  let server: Server;
  let base = '';
  let staticDir = '';

  beforeAll(async () => {
    staticDir = mkdtempSync(path.join(tmpdir(), 'tl-console-')); // empty: not built
    const dead = await closedPort();
    const upstreams = Object.fromEntries(
      APPS.map((app) => [app, new URL(`http://127.0.0.1:${dead}`)]),
    ) as Record<ConsoleApp, URL>;
    const config: ConsoleConfig = {
      port: 0,
      host: '127.0.0.1',
      upstreams,
      trust: { logKeys: [], witnessKeys: [], witnessQuorum: 1 },
      staticDir,
    };
    server = createConsoleServer(config);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(staticDir, { recursive: true, force: true });
  });

  it.each([
    ['GET', '/api/nope/v1/tokens', 404, 'not_found', /no service nope/],
    ['GET', '/api/ledger/internal/keys', 404, 'not_found', /only \/v1\/ routes/],
    ['POST', '/index.html', 405, 'method_not_allowed', /GET only/],
    ['GET', '/', 503, 'not_built', /not built/],
    ['GET', '/api/ledger/v1/ledger/logs', 502, 'upstream_unavailable', /ledger service/],
  ])('%s %s: %i %s as problem details', async (method, route, status, code, detail) => {
    const res = await fetch(`${base}${route}`, { method });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'about:blank', status, code });
    expect(typeof body.title).toBe('string');
    expect(body.detail).toMatch(detail);
    expect(body).not.toHaveProperty('error');
  });
});
