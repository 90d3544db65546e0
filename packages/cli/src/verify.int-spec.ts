import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cosignerFromSeed, signerFromSeed, verifierKey } from '@tokenledger/ledger-core';
import { buildBundle, buildEvidence, type BundleSpec } from './test-support/bundle';

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
        `   the tree recomputed over the 6 entries has the signed root, and the chain verified; pinned key: ${key}\n` +
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

  it("checks a token's evidence (detected from its first line) with the same pins, naming the log and index of a bad proof", () => {
    const TOKEN = '0190b7e2-0000-7000-8000-00000000abcd';
    const f = path.join(dir, 'evidence.ndjson');
    const text = buildEvidence({
      tokenId: TOKEN,
      prefix: PREFIX,
      sizes: [5, 2],
      signer,
      cosigners: [w1],
    });
    fs.writeFileSync(f, text);
    const r = run(['verify', f, '--log-key', key, '--witness-key', w1.verifierKey]);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe(
      `OK token ${TOKEN}: 4 entries in 2 log(s), each with its inclusion proof to the log's signed checkpoint\n` +
        `   tokens.lifecycle-0: 3 entries in the tree of size 5 signed for ${PREFIX}/tokens.lifecycle-0; pinned key: ${key}; witnessed: 1 pinned witness cosignature(s), quorum 1: ${w1.verifierKey}\n` +
        `   tokens.lifecycle-1: 1 entry in the tree of size 2 signed for ${PREFIX}/tokens.lifecycle-1; pinned key: ${key}; witnessed: 1 pinned witness cosignature(s), quorum 1: ${w1.verifierKey}\n`,
    );
    // The quorum applies to every log's checkpoint.
    const w2only = run(['verify', f, '--log-key', key, '--witness-key', w2.verifierKey]);
    expect([w2only.status, w2only.stdout]).toEqual([1, expect.stringContaining('quorum-not-met')]);
    const lines = text.split('\n');
    const entry = JSON.parse(lines[3] as string) as { proof: string[] };
    lines[3] = JSON.stringify({ ...entry, proof: entry.proof.reverse() });
    const bad = path.join(dir, 'evidence-bad.ndjson');
    fs.writeFileSync(bad, lines.join('\n'));
    expect(run(['verify', bad, '--log-key', key])).toMatchObject({
      status: 1,
      stdout: expect.stringMatching(
        /^FAILED at entry 2 of tokens\.lifecycle-0: inclusion-failed: entry 2 of tokens\.lifecycle-0 is not in the signed tree/,
      ),
    });
  });

  it('names the version of a bundle it cannot read, and reads the file as a stream across chunk boundaries', () => {
    const later = path.join(dir, 'v3.ndjson');
    fs.writeFileSync(later, '{"type":"bundle","version":3}\n');
    expect(run(['verify', later, '--log-key', key])).toMatchObject({
      status: 1,
      stdout:
        'FAILED at line 1: unsupported-version: line 1: bundle version 3 is not supported: this verifier reads versions 1 and 2\n',
    });
    // 3000 entries of ~1 KiB: several 1 MiB chunks, lines split between them.
    const big = file({ size: 3000, leafBytes: 1000 });
    expect(fs.statSync(big).size).toBeGreaterThan(3 * 2 ** 20);
    expect(run(['verify', big, '--log-key', key])).toMatchObject({
      status: 0,
      stdout: expect.stringContaining(
        'the tree recomputed over the 3000 entries has the signed root',
      ),
    });
  });
});
