import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import {
  COSIGNATURE_ED25519_TYPE,
  CosignatureArgumentError,
  cosignatureVerifier,
  cosignedMessage,
  cosignerFromSeed,
  cosignerKeyHash,
  cosignerVerifierKey,
  openCosignatures,
  parseCosignatureLine,
  parseCosignerVerifierKey,
  verifyCosignature,
} from './cosignature';
import { keyHash, signNote, signerFromSeed } from './note';

// The example checkpoint and cosigned message of c2sp.org/tlog-cosignature ("Ed25519 signed message").
const SPEC_BODY =
  'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const SPEC_TIME = 1679315147;
const SPEC_MESSAGE = `cosignature/v1\ntime 1679315147\n${SPEC_BODY}`;
// The witness line of the spec's cosigned-checkpoint example (its public key is not published).
const SPEC_LINE =
  '— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==';

const seed = Buffer.alloc(32, 0x42);
const cosigner = cosignerFromSeed('witness.test/w1', seed);
const verifier = cosignatureVerifier(cosigner.name, cosigner.publicKey);
const code = (r: { ok: boolean; error?: { code: string } }): string =>
  r.ok ? 'ok' : (r.error?.code ?? '?');

describe('cosignature/v1: the spec examples (c2sp.org/tlog-cosignature)', () => {
  it('builds the signed message byte for byte', () => {
    expect(cosignedMessage(SPEC_BODY, SPEC_TIME).toString('utf8')).toBe(SPEC_MESSAGE);
  });

  it("parses the example witness line: key ID, and the example message's timestamp", () => {
    const parsed = parseCosignatureLine(SPEC_LINE);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.cosignature.name).toBe('witness.example.com/w1');
    expect(parsed.cosignature.keyHash.toString(16)).toBe('8d66cf3f');
    expect(parsed.cosignature.timestamp).toBe(SPEC_TIME);
    expect(parsed.cosignature.signature).toHaveLength(64);
  });
});

describe('cosignature/v1: against an independent Ed25519 (tweetnacl)', () => {
  // Everything below is built without this module: tweetnacl signs, the line is assembled by hand.
  const pair = nacl.sign.keyPair.fromSeed(seed);
  const publicKey = Buffer.from(pair.publicKey);
  const time = 1_700_000_000;
  const message = Buffer.from(`cosignature/v1\ntime ${time}\n${SPEC_BODY}`, 'utf8');
  const independentSignature = Buffer.from(nacl.sign.detached(message, pair.secretKey));
  const id = createHash('sha256')
    .update(Buffer.concat([Buffer.from('witness.test/w1\n', 'utf8'), Buffer.from([4]), publicKey]))
    .digest()
    .subarray(0, 4);
  const timeBytes = Buffer.from(time.toString(16).padStart(16, '0'), 'hex');
  const independentLine = `— witness.test/w1 ${Buffer.concat([id, timeBytes, independentSignature]).toString('base64')}\n`;

  it('derives the same public key and the 0x04 key ID', () => {
    expect(cosigner.publicKey.equals(publicKey)).toBe(true);
    expect(cosigner.keyHash).toBe(id.readUInt32BE(0));
    expect(cosigner.verifierKey).toBe(
      `witness.test/w1+${id.toString('hex')}+${Buffer.concat([Buffer.from([4]), publicKey]).toString('base64')}`,
    );
  });

  it('produces the identical line (Ed25519 is deterministic)', () => {
    expect(cosigner.cosign(SPEC_BODY, time)).toBe(independentLine);
  });

  it('verifies the independent line, and tweetnacl verifies ours', () => {
    expect(code(verifyCosignature(SPEC_BODY, independentLine, verifier))).toBe('ok');
    const ours = parseCosignatureLine(cosigner.cosign(SPEC_BODY, time));
    if (!ours.ok) throw new Error(ours.error.message);
    expect(nacl.sign.detached.verify(message, ours.cosignature.signature, pair.publicKey)).toBe(
      true,
    );
  });
});

describe('cosignature/v1: key IDs and verifier keys', () => {
  it('uses type 0x04, not the note type 0x01', () => {
    expect(COSIGNATURE_ED25519_TYPE).toBe(4);
    expect(cosignerKeyHash(cosigner.name, cosigner.publicKey)).not.toBe(
      keyHash(cosigner.name, cosigner.publicKey),
    );
  });

  it('round-trips the vkey', () => {
    const parsed = parseCosignerVerifierKey(cosigner.verifierKey);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.verifier.name).toBe(cosigner.name);
    expect(parsed.verifier.keyHash).toBe(cosigner.keyHash);
    expect(parsed.verifier.publicKey.equals(cosigner.publicKey)).toBe(true);
  });

  it('rejects a note (0x01) vkey, a wrong key hash and garbage, saying which', () => {
    const typed = Buffer.concat([Buffer.from([1]), cosigner.publicKey]).toString('base64');
    const hash = cosigner.verifierKey.split('+')[1] ?? '';
    expect(code(parseCosignerVerifierKey(`${cosigner.name}+${hash}+${typed}`))).toBe(
      'unknown-algorithm',
    );
    expect(
      code(parseCosignerVerifierKey(cosigner.verifierKey.replace(`+${hash}+`, '+00000000+'))),
    ).toBe('key-hash-mismatch');
    expect(code(parseCosignerVerifierKey('no-separators'))).toBe('malformed-key');
    expect(code(parseCosignerVerifierKey(`${cosigner.name}+${hash}+AAAA`))).toBe(
      'unknown-algorithm',
    );
    const short = Buffer.from([4, 1, 2]).toString('base64');
    expect(code(parseCosignerVerifierKey(`${cosigner.name}+${hash}+${short}`))).toBe(
      'malformed-key',
    );
  });

  it('refuses bad arguments on the signing side', () => {
    expect(() => cosignerFromSeed('bad name', seed)).toThrow(CosignatureArgumentError);
    expect(() => cosignerFromSeed('ok', Buffer.alloc(31))).toThrow(CosignatureArgumentError);
    expect(() => cosigner.cosign('no newline', 1)).toThrow(CosignatureArgumentError);
    expect(() => cosigner.cosign(SPEC_BODY, -1)).toThrow(CosignatureArgumentError);
    expect(() => cosigner.cosign(SPEC_BODY, 1.5)).toThrow(CosignatureArgumentError);
  });
});

describe('cosignature/v1: verification says what failed', () => {
  const line = cosigner.cosign(SPEC_BODY, 1000);
  const raw = (): Buffer => Buffer.from(line.slice(line.lastIndexOf(' ') + 1, -1), 'base64');
  const withRaw = (b: Buffer): string => `— ${cosigner.name} ${b.toString('base64')}\n`;

  it('accepts the good line, with or without its newline', () => {
    expect(code(verifyCosignature(SPEC_BODY, line, verifier))).toBe('ok');
    expect(code(verifyCosignature(SPEC_BODY, line.slice(0, -1), verifier))).toBe('ok');
  });

  it('rejects another checkpoint body', () => {
    expect(code(verifyCosignature(SPEC_BODY.replace('20852163', '20852164'), line, verifier))).toBe(
      'bad-signature',
    );
  });

  it('rejects a changed timestamp', () => {
    const b = raw();
    b.writeBigUInt64BE(1001n, 4);
    expect(code(verifyCosignature(SPEC_BODY, withRaw(b), verifier))).toBe('bad-signature');
  });

  it('rejects another key, and a checkpoint signature made with the same key (type 0x01)', () => {
    const other = cosignatureVerifier(
      cosigner.name,
      cosignerFromSeed('x', Buffer.alloc(32, 1)).publicKey,
    );
    expect(code(verifyCosignature(SPEC_BODY, line, other))).toBe('key-mismatch');
    const noteLine =
      signNote(SPEC_BODY, signerFromSeed(cosigner.name, seed)).split('\n\n')[1] ?? '';
    expect(code(verifyCosignature(SPEC_BODY, noteLine, verifier))).not.toBe('ok');
  });

  it('rejects a timestamp beyond 2^63 - 1 and, when asked, one in the future', () => {
    const b = raw();
    b.writeBigUInt64BE(2n ** 63n, 4);
    expect(code(parseCosignatureLine(withRaw(b)))).toBe('timestamp-out-of-range');
    expect(code(verifyCosignature(SPEC_BODY, line, verifier, { notAfter: 999 }))).toBe(
      'future-timestamp',
    );
    expect(code(verifyCosignature(SPEC_BODY, line, verifier, { notAfter: 1000 }))).toBe('ok');
  });

  it('rejects malformed lines', () => {
    for (const bad of [
      '',
      `- ${cosigner.name} ${raw().toString('base64')}`,
      `— ${cosigner.name}`,
      `— ${cosigner.name} not*base64`,
      withRaw(raw().subarray(0, 70)),
      withRaw(Buffer.concat([raw(), Buffer.from([0])])),
    ]) {
      expect(code(parseCosignatureLine(bad))).toBe('malformed-cosignature');
    }
  });
});

describe('openCosignatures (reading a witness answer)', () => {
  const w2 = cosignerFromSeed('witness.test/w2', Buffer.alloc(32, 2));
  const logLine =
    signNote(SPEC_BODY, signerFromSeed('log.test', Buffer.alloc(32, 3))).split('\n\n')[1] ?? '';

  it('keeps the configured keys and sets the others aside, whatever their signature length', () => {
    const block = `${logLine}${w2.cosign(SPEC_BODY, 5)}${cosigner.cosign(SPEC_BODY, 6)}`;
    const opened = openCosignatures(SPEC_BODY, block, [verifier]);
    if (!opened.ok) throw new Error(opened.error.message);
    expect(opened.cosignatures.verified.map((c) => [c.name, c.timestamp])).toEqual([
      ['witness.test/w1', 6],
    ]);
    expect(opened.cosignatures.unverified.map((c) => c.name)).toEqual([
      'log.test',
      'witness.test/w2',
    ]);
  });

  it('fails the block on a bad line by a configured key, naming the line', () => {
    const block = `${w2.cosign(SPEC_BODY, 5)}${cosigner.cosign(SPEC_BODY.replace('2085', '3085'), 6)}`;
    const opened = openCosignatures(SPEC_BODY, block, [verifier]);
    expect(opened).toMatchObject({ ok: false, error: { code: 'bad-signature', line: 2 } });
  });

  it('fails an empty or unterminated block', () => {
    expect(code(openCosignatures(SPEC_BODY, '', [verifier]))).toBe('malformed-cosignature');
    expect(
      code(openCosignatures(SPEC_BODY, cosigner.cosign(SPEC_BODY, 1).slice(0, -1), [verifier])),
    ).toBe('malformed-cosignature');
  });

  it('reads a verifier key made with cosignerVerifierKey', () => {
    expect(cosignerVerifierKey(cosigner.name, cosigner.publicKey)).toBe(cosigner.verifierKey);
  });
});
