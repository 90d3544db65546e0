import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { lstatSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  type TestDatabase,
} from '@tokenledger/testing';
import { startSystem, type RunningSystem } from './system';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
/** The SDK, the CLI and the internal packages they need, all published (README "Install ..."). */
const PACKED = [
  'canonical-json',
  'errors',
  'sql',
  'contracts',
  'token-core',
  'ledger-core',
  'messaging',
  'sdk',
  'cli',
];

interface PackResult {
  name: string;
  version: string;
  filename: string;
  files: Array<{ path: string }>;
}

/** The environment of a child npm or node: without the npm_* variables of the `npm test` above us. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** Bare specifiers required by the .js files under dir (literal `require("x")` calls, as tsc emits). */
function requiredPackages(dir: string): Set<string> {
  const found = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.js')) continue;
    const text = readFileSync(path.join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/require\(['"]([^'"./][^'"]*)['"]\)/g)) {
      const spec = m[1]!;
      const parts = spec.split('/');
      found.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return found;
}

describe('install: the packed SDK and CLI work outside the repository', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  let work: string;
  let app: string;
  let packed: PackResult[];
  const prefix = freshTopicPrefix();
  const admin = (): Record<string, string> => ({
    authorization: `Bearer ${system.rootToken}`,
    'content-type': 'application/json',
  });

  async function packAndInstall(): Promise<void> {
    work = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'tokenledger-pack-')));
    const tarballs = path.join(work, 'tarballs');
    app = path.join(work, 'app');
    mkdirSync(tarballs);
    mkdirSync(app);
    const { stdout } = await run(
      'npm',
      [
        'pack',
        '--json',
        '--pack-destination',
        tarballs,
        ...PACKED.flatMap((p) => ['-w', `packages/${p}`]),
      ],
      { cwd: ROOT, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 },
    );
    packed = JSON.parse(stdout) as PackResult[];
    writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'pack-check', version: '1.0.0', private: true }),
    );
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', ...packed.map((p) => path.join(tarballs, p.filename))],
      { cwd: app, env: cleanEnv(), maxBuffer: 16 * 1024 * 1024 },
    );
  }

  async function startAndWait(): Promise<void> {
    db = await freshDatabase();
    system = await startSystem(
      { DATABASE_URL: db.url, KAFKA_BROKERS: kafkaBrokers(), TOPIC_PREFIX: prefix },
      { witness: false },
    );
    await eventually(
      async () =>
        (await fetch(`${system.apps.revocation.url}/v1/whoami`, { headers: admin() })).status ===
        200
          ? true
          : undefined,
      20_000,
      'root token known',
    );
  }

  beforeAll(async () => {
    await Promise.all([packAndInstall(), startAndWait()]);
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
    await db?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('packs each package with dist, README, LICENSE and package.json only: no tests, source maps or build info', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(PACKED.map((p) => `@tokenledger/${p}`).sort());
    const license = readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
    for (const p of packed) {
      const files = p.files.map((f) => f.path);
      const extra = files.filter((f) => !/^dist\/.+\.(js|d\.ts)$/.test(f)).sort();
      expect({ name: p.name, extra }).toEqual({
        name: p.name,
        extra: ['LICENSE', 'README.md', 'package.json'],
      });
      expect(
        files.filter((f) => /[.-]spec\.|\/test-support\/|\.map$|\.tsbuildinfo$/.test(f)),
      ).toEqual([]);
      const installed = path.join(app, 'node_modules', p.name);
      expect(readFileSync(path.join(installed, 'LICENSE'), 'utf8')).toBe(license);
    }
  });

  it('installs real copies, each declaring every package its code requires', () => {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    for (const p of packed) {
      const dir = path.join(app, 'node_modules', p.name);
      // A copy from the tarball, not a link back into the workspace.
      expect(lstatSync(dir).isSymbolicLink()).toBe(false);
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        private?: boolean;
        engines?: { node?: string };
        dependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
      };
      expect(manifest.private).toBeUndefined();
      expect(manifest.engines?.node).toBe('>=20.19');
      const declared = new Set([
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}),
      ]);
      const undeclared = [...requiredPackages(path.join(dir, 'dist'))].filter(
        (m) => !builtins.has(m) && !declared.has(m),
      );
      expect({ name: p.name, undeclared }).toEqual({ name: p.name, undeclared: [] });
    }
  });

  it('runs the installed tokenledger --version: the package version, exit 0', async () => {
    const version = (
      JSON.parse(readFileSync(path.join(ROOT, 'packages/cli/package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    const bin = path.join(app, 'node_modules', '.bin', 'tokenledger');
    const { stdout } = await run(bin, ['--version'], { cwd: app, env: cleanEnv() });
    expect(stdout).toBe(`${version}\n`);
  });

  it('imports the installed SDK from the new directory and introspects live, revoked and unknown tokens', async () => {
    const issue = async (name: string): Promise<{ token: string; tokenId: string }> => {
      const res = await fetch(`${system.apps.issuance.url}/v1/tokens`, {
        method: 'POST',
        headers: admin(),
        body: JSON.stringify({
          owner: { type: 'service', id: 'pack-check' },
          name,
          scopes: ['billing:read'],
          ttlSeconds: 3600,
        }),
      });
      expect(res.status).toBe(201);
      return (await res.json()) as { token: string; tokenId: string };
    };
    const live = await issue('live');
    const revoked = await issue('revoked');
    const revoke = await fetch(
      `${system.apps.revocation.url}/v1/tokens/${revoked.tokenId}/revoke`,
      { method: 'POST', headers: admin(), body: '{}' },
    );
    expect(revoke.status).toBe(200);
    // The script below runs once: wait until the revocation app knows the live token.
    await eventually(
      async () => {
        const res = await fetch(`${system.apps.revocation.url}/v1/introspect`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${system.rootToken}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ token: live.token }).toString(),
        });
        return ((await res.json()) as { active: boolean }).active ? true : undefined;
      },
      15_000,
      'live token known',
    );

    const script = path.join(app, 'check.mjs');
    writeFileSync(
      script,
      [
        "import { createRequire } from 'node:module';",
        "import { TokenledgerClient } from '@tokenledger/sdk';",
        'const require = createRequire(import.meta.url);',
        'const env = process.env;',
        'const client = new TokenledgerClient({',
        "  revocationUrl: env.TL_URL, operatorToken: env.TL_OPERATOR, service: 'pack-check',",
        '});',
        'const out = {',
        "  resolved: require.resolve('@tokenledger/sdk'),",
        "  sameAsRequire: require('@tokenledger/sdk').TokenledgerClient === TokenledgerClient,",
        '  live: await client.introspect(env.TL_LIVE),',
        '  revoked: await client.introspect(env.TL_REVOKED),',
        '  unknown: await client.introspect(env.TL_UNKNOWN),',
        '};',
        'process.stdout.write(JSON.stringify(out));',
        '',
      ].join('\n'),
    );
    // Tokens in the environment, not the argument list (visible in process lists).
    const { stdout } = await run(process.execPath, [script], {
      cwd: app,
      env: cleanEnv({
        TL_URL: system.apps.revocation.url,
        TL_OPERATOR: system.rootToken,
        TL_LIVE: live.token,
        TL_REVOKED: revoked.token,
        TL_UNKNOWN: `tlk_live_${'0'.repeat(38)}`,
      }),
    });
    const out = JSON.parse(stdout) as {
      resolved: string;
      sameAsRequire: boolean;
      live: Record<string, unknown>;
      revoked: Record<string, unknown>;
      unknown: Record<string, unknown>;
    };
    expect(realpathSync(out.resolved).startsWith(path.join(app, 'node_modules') + path.sep)).toBe(
      true,
    );
    expect(out.resolved.startsWith(ROOT + path.sep)).toBe(false);
    expect(out.sameAsRequire).toBe(true);
    expect(out.live).toMatchObject({
      active: true,
      client_id: live.tokenId,
      scope: 'billing:read',
      sub: 'service:pack-check',
    });
    expect(out.revoked).toEqual({ active: false });
    expect(out.unknown).toEqual({ active: false });
  });
});
