import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cosignerFromSeed, signerFromSeed, verifierKey } from '@tokenledger/ledger-core';
import { buildBundle, type BundleSpec } from './test-support/bundle';

// `tokenledger verify` as a user runs it (the built dist/main.js): trust comes only from the
// flags or the trust file, never from the bundle.
const main = path.join(__dirname, '..', 'dist', 'main.js');
const PREFIX = 'tokenledger.local/ledger';
const LOG = 'tokens.lifecycle-0';
const signer = signerFromSeed(PREFIX, Buffer.alloc(32, 5));
const key = verifierKey(signer.name, signer.publicKey);
const forger = signerFromSeed(PREFIX, Buffer.alloc(32, 6));
const forgerKey = verifierKey(forger.name, forger.publicKey);
const w1 = cosignerFromSeed('witness.test/w1', Buffer.alloc(32, 31));
const w2 = cosignerFromSeed('witness.test/w2', Buffer.alloc(32, 32));
const w3 = cosignerFromSeed('witness.test/w3', Buffer.alloc(32, 33));

describe('tokenledger verify: pinned trust', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-verify-'));
  let n = 0;
  const file = (spec: Partial<BundleSpec>): string => {
    const f = path.join(dir, `b${(n += 1)}.ndjson`);
    fs.writeFileSync(f, buildBundle({ logId: LOG, prefix: PREFIX, size: 6, signer, ...spec }));
    return f;
  };
  const trustFile = (content: unknown): string => {
    const f = path.join(dir, `trust${(n += 1)}.json`);
    fs.writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
    return f;
  };
  const run = (args: string[]) =>
    spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  const witnessFlags = ['--witness-key', w1.verifierKey, '--witness-key', w2.verifierKey];

  beforeAll(() => {
    if (!fs.existsSync(main)) throw new Error(`${main} is missing: build the cli first`);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('passes a good bundle with the pinned key and a quorum of witness cosignatures, naming the log and the witnesses', () => {
    const good = file({ cosigners: [w1, w2] });
    const r = run(['verify', good, '--log-key', key, ...witnessFlags, '--quorum', '2']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `OK ${LOG}: entries [0, 6) are in the tree of size 6 signed for ${PREFIX}/${LOG}\n` +
        `   6 inclusion proofs and the chain verified; pinned key: ${key}\n` +
        `   witnessed: 2 pinned witness cosignature(s), quorum 2: ${w1.verifierKey}, ${w2.verifierKey}\n`,
    );
  });

  it('fails the same bundle when the quorum is not met (one cosignature of two; an unpinned witness does not count)', () => {
    const one = file({ cosigners: [w1, w3] });
    const r = run(['verify', one, '--log-key', key, ...witnessFlags, '--quorum', '2']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^FAILED at line 3: checkpoint-failed: checkpoint: quorum-not-met: 1 valid cosignature/,
    );
    // Quorum defaults to 1 when witnesses are pinned: an uncosigned bundle fails.
    const none = run(['verify', file({}), '--log-key', key, ...witnessFlags]);
    expect(none.status).toBe(1);
    expect(none.stdout).toContain('quorum-not-met');
  });

  it('fails a bundle re-signed with another key under the real key name, with the forger key listed in the bundle', () => {
    const forged = file({ signer: forger, listedKeys: [forgerKey] });
    const r = run(['verify', forged, '--log-key', key]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^FAILED at line 3: checkpoint-failed: checkpoint: key-mismatch: signed under the pinned key name tokenledger\.local\/ledger/,
    );
    // The forgery passes only for someone who pins the forger's key: the check is the pin.
    expect(run(['verify', forged, '--log-key', forgerKey]).status).toBe(0);
  });

  it('fails a bundle whose log id does not match the origin (header or checkpoint)', () => {
    const header = run(['verify', file({ origin: `${PREFIX}/tokens.usage-0` }), '--log-key', key]);
    expect(header.status).toBe(1);
    expect(header.stdout).toMatch(
      /^FAILED at line 1: origin-mismatch: the bundle says log tokens\.lifecycle-0 with origin tokenledger\.local\/ledger\/tokens\.usage-0/,
    );
    const signedFor = run([
      'verify',
      file({ checkpointOrigin: `${PREFIX}/tokens.usage-0` }),
      '--log-key',
      key,
    ]);
    expect(signedFor.status).toBe(1);
    expect(signedFor.stdout).toContain('checkpoint-failed: checkpoint: origin-mismatch');
    // Another prefix than the pinned one is a mismatch too.
    const other = run(['verify', file({ prefix: 'evil.test/ledger' }), '--log-key', key]);
    expect(other.status).toBe(1);
    expect(other.stdout).toContain('origin-mismatch');
  });

  it('without a pinned log key it exits 2 and says why, even though the bundle carries keys', () => {
    const r = run(['verify', file({})]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^tokenledger: no log key pinned: pass --log-key/);
    expect(r.stdout).toBe('');
  });

  it('takes the same pins from --trust, and refuses a bad trust file naming the field', () => {
    const good = file({ cosigners: [w2] });
    const trust = trustFile({
      version: 1,
      originPrefix: PREFIX,
      logKeys: [key],
      witnesses: [w1.verifierKey, w2.verifierKey],
      quorum: 1,
    });
    expect(run(['verify', good, '--trust', trust])).toMatchObject({ status: 0 });
    const strict = trustFile({ version: 1, originPrefix: PREFIX, logKeys: [key], quorum: 2 });
    const bad = run(['verify', good, '--trust', strict]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(
      `trust file ${strict}: quorum: is 2 but only 0 witness(es) are pinned`,
    );
    const unknown = run([
      'verify',
      good,
      '--trust',
      trustFile({ version: 1, originPrefix: PREFIX, logKeys: [key], keys: [] }),
    ]);
    expect([unknown.status, unknown.stderr]).toEqual([
      2,
      expect.stringContaining(': keys: unknown field'),
    ]);
    const mixed = run(['verify', good, '--trust', trust, '--log-key', key]);
    expect([mixed.status, mixed.stderr]).toEqual([
      2,
      expect.stringContaining('--trust excludes --log-key'),
    ]);
    expect(run(['verify', good, '--trust', path.join(dir, 'missing.json')]).status).toBe(2);
  });

  it('a retired pinned key verifies only with witness cosignatures dated before its retirement', () => {
    const at = '2027-01-15T00:00:00Z';
    const before = file({ cosigners: [w1], time: Date.parse(at) / 1000 - 60 });
    const after = file({ cosigners: [w1], time: Date.parse(at) / 1000 + 60 });
    const pins = ['--log-key', `${key};retired=${at}`, '--witness-key', w1.verifierKey];
    expect(run(['verify', before, ...pins]).status).toBe(0);
    const late = run(['verify', after, ...pins]);
    expect([late.status, late.stdout]).toEqual([1, expect.stringContaining('retired-key')]);
    const unwitnessed = run(['verify', before, '--log-key', `${key};retired=${at}`]);
    expect([unwitnessed.status, unwitnessed.stdout]).toEqual([
      1,
      expect.stringContaining('no witness is pinned'),
    ]);
  });
});
