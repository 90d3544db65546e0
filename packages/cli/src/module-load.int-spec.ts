import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CHAIN_SEED,
  chainHashes,
  formatBundleLine,
  formatCheckpoint,
  inclusionProof,
  leafHash,
  rootHash,
  signNote,
  signerFromSeed,
  verifierKey,
  type BundleLine,
} from '@tokenledger/ledger-core';

// The built command, run as a user runs it (the test needs `npm run build` first, as turbo's
// test task does through ^build and build).
const main = path.join(__dirname, '..', 'dist', 'main.js');
const FORBIDDEN = ['/node_modules/@nestjs/', '/node_modules/typeorm/', '/node_modules/kafkajs/'];

// The bundle here is a version 1 bundle (a proof in each entry): old exports still verify.
describe('tokenledger verify (a fresh process)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-cli-'));
  const bundleFile = path.join(dir, 'bundle.ndjson');
  const preload = path.join(dir, 'record-modules.js');
  const signer = signerFromSeed('example.test/ledger', Buffer.alloc(32, 5));
  const key = verifierKey(signer.name, signer.publicKey);

  beforeAll(() => {
    if (!fs.existsSync(main)) throw new Error(`${main} is missing: build the cli first`);
    const leaves = Array.from({ length: 5 }, (_, i) => Buffer.from(`{"v":1,"i":${i}}`));
    const hashes = leaves.map(leafHash);
    const chain = chainHashes(hashes);
    const origin = 'example.test/ledger/t-0';
    const lines: BundleLine[] = [
      {
        type: 'bundle',
        version: 1,
        logId: 't-0',
        origin,
        from: 0,
        to: 5,
        treeSize: 5,
        chainStart: CHAIN_SEED,
        prefix: [],
        suffix: [],
      },
      { type: 'keys', keys: [{ name: signer.name, verifierKey: key, active: true }] },
      {
        type: 'checkpoint',
        size: 5,
        note: signNote(formatCheckpoint({ origin, size: 5, rootHash: rootHash(hashes) }), signer),
      },
      ...leaves.map((leaf, i): BundleLine => ({
        type: 'entry',
        index: i,
        leaf,
        chainHash: chain[i] as Buffer,
        proof: inclusionProof(i, 5, hashes),
      })),
    ];
    fs.writeFileSync(bundleFile, lines.map(formatBundleLine).join(''));
    // On exit, the preload writes every module the CommonJS loader has loaded.
    fs.writeFileSync(
      preload,
      "const fs = require('node:fs');\nprocess.on('exit', () => fs.writeFileSync(process.env.TL_MODULES_OUT, JSON.stringify(Object.keys(require.cache))));\n",
    );
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (args: string[]) => {
    const out = path.join(dir, `modules-${Math.random().toString(36).slice(2)}.json`);
    const result = spawnSync(process.execPath, ['--require', preload, main, ...args], {
      encoding: 'utf8',
      env: { ...process.env, TL_MODULES_OUT: out },
    });
    return { ...result, modules: JSON.parse(fs.readFileSync(out, 'utf8')) as string[] };
  };

  it('loads no NestJS, TypeORM or kafkajs module', () => {
    const result = run([
      'verify',
      bundleFile,
      '--log-key',
      key,
      '--origin-prefix',
      'example.test/ledger',
    ]);
    expect([result.status, result.stdout]).toEqual([
      0,
      expect.stringMatching(/^OK t-0: entries \[0, 5\)/),
    ]);
    // The recording works: ledger-core itself is in the list.
    expect(
      result.modules.some((m) => m.includes(`${path.sep}ledger-core${path.sep}dist${path.sep}`)),
    ).toBe(true);
    expect(result.modules.filter((m) => FORBIDDEN.some((f) => m.includes(f)))).toEqual([]);
  });

  it('refuses an unknown flag instead of ignoring it (a mistyped --log-key is never silently dropped)', () => {
    const result = run(['verify', bundleFile, '--log-kye', key]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("Unknown option '--log-kye'");
    expect(result.stdout).toBe('');
  });

  it('prints the code, the entry index and the message of the first failure', () => {
    const lines = fs.readFileSync(bundleFile, 'utf8').split('\n');
    const entry = JSON.parse(lines[5] as string) as { chainHash: string };
    lines[5] = JSON.stringify({ ...entry, chainHash: Buffer.alloc(32, 1).toString('base64') });
    const doctored = path.join(dir, 'doctored.ndjson');
    fs.writeFileSync(doctored, lines.join('\n'));
    const result = run([
      'verify',
      doctored,
      '--log-key',
      key,
      '--origin-prefix',
      'example.test/ledger',
    ]);
    expect([result.status, result.stdout]).toEqual([
      1,
      'FAILED at entry 2: chain-mismatch: entry 2: chain hash does not follow from the previous entries\n',
    ]);
  });
});
