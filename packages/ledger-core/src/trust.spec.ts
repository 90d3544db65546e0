import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { formatCheckpoint } from './checkpoint';
import { cosignerFromSeed, type Cosigner } from './cosignature';
import { signNote, signerFromSeed, verifierKey } from './note';
import { rootHash } from './rfc6962';
import { signedNoteVector as v } from './test-support/vectors';
import {
  parseLogKeyEntry,
  parseTrustFile,
  trustPolicy,
  verifyTrustedCheckpoint,
  type TrustPolicy,
  type TrustPolicyInput,
} from './trust';

const PREFIX = 'example.test/ledger';
const LOG = 'tokens.lifecycle-0';
const ORIGIN = `${PREFIX}/${LOG}`;
const logSigner = signerFromSeed(PREFIX, Buffer.alloc(32, 1));
const logKey = verifierKey(logSigner.name, logSigner.publicKey);
const w1 = cosignerFromSeed('witness.test/w1', Buffer.alloc(32, 11));
const w2 = cosignerFromSeed('witness.test/w2', Buffer.alloc(32, 12));
const w3 = cosignerFromSeed('witness.test/w3', Buffer.alloc(32, 13));
const body = formatCheckpoint({
  origin: ORIGIN,
  size: 3,
  rootHash: rootHash([1, 2, 3].map((i) => Buffer.alloc(32, i))),
});
const T = 1_800_000_000;

const policy = (input: Partial<TrustPolicyInput> = {}): TrustPolicy => {
  const built = trustPolicy({ originPrefix: PREFIX, logKeys: [logKey], ...input });
  if (!built.ok) throw new Error(built.error.message);
  return built.policy;
};
const cosigned = (note: string, ...cosigs: Array<[Cosigner, number]>): string =>
  note + cosigs.map(([w, t]) => w.cosign(body, t)).join('');
const signed = signNote(body, logSigner);
const code = (r: { ok: boolean; error?: { code: string } }): string =>
  r.ok ? 'ok' : (r.error?.code ?? '?');

describe('verifyTrustedCheckpoint: log keys', () => {
  it('accepts a checkpoint signed by a pinned key, for the log it names', () => {
    const r = verifyTrustedCheckpoint(signed, policy(), LOG);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.trusted).toMatchObject({
      checkpoint: { origin: ORIGIN, size: 3 },
      logKeys: [logKey],
      cosignatures: [],
      witnessed: true,
    });
  });

  it('fails a re-signed forgery under the pinned name (key-mismatch), even beside a valid signature', () => {
    const forger = signerFromSeed(PREFIX, Buffer.alloc(32, 2));
    const forged = verifyTrustedCheckpoint(signNote(body, forger), policy(), LOG);
    expect(forged).toMatchObject({ ok: false, error: { code: 'key-mismatch' } });
    expect(forged.ok ? '' : forged.error.message).toContain(PREFIX);
    expect(code(verifyTrustedCheckpoint(signNote(body, logSigner, forger), policy(), LOG))).toBe(
      'key-mismatch',
    );
  });

  it('ignores signatures by other names, and fails when no pinned key signed', () => {
    const stranger = signerFromSeed('stranger.test/log', Buffer.alloc(32, 3));
    expect(code(verifyTrustedCheckpoint(signNote(body, stranger, logSigner), policy(), LOG))).toBe(
      'ok',
    );
    expect(code(verifyTrustedCheckpoint(signNote(body, stranger), policy(), LOG))).toBe(
      'unknown-log-key',
    );
  });

  it('fails a pinned signature that does not verify (the body was changed)', () => {
    const tampered = signed.replace('\n3\n', '\n4\n');
    expect(code(verifyTrustedCheckpoint(tampered, policy(), LOG))).toBe('bad-signature');
  });

  it('requires the origin to be exactly <prefix>/<logId>', () => {
    expect(verifyTrustedCheckpoint(signed, policy(), 'tokens.usage-0')).toMatchObject({
      ok: false,
      error: {
        code: 'origin-mismatch',
        message: expect.stringContaining(`${PREFIX}/tokens.usage-0`),
      },
    });
    expect(
      code(verifyTrustedCheckpoint(signed, policy({ originPrefix: 'example.test' }), LOG)),
    ).toBe('origin-mismatch');
  });

  it('refuses a malformed note and a body that is not a checkpoint', () => {
    expect(code(verifyTrustedCheckpoint('no signatures\n', policy(), LOG))).toBe('malformed-note');
    expect(code(verifyTrustedCheckpoint(signNote('just text\n', logSigner), policy(), LOG))).toBe(
      'malformed-checkpoint',
    );
  });
});

describe('verifyTrustedCheckpoint: witnesses and quorum', () => {
  const two = policy({ witnesses: [w1.verifierKey, w2.verifierKey], quorum: 2 });

  it('accepts a quorum of distinct pinned witnesses and lists them', () => {
    const r = verifyTrustedCheckpoint(cosigned(signed, [w1, T], [w2, T + 1]), two, LOG);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.trusted.cosignatures).toEqual([
      { witness: w1.verifierKey, timestamp: T },
      { witness: w2.verifierKey, timestamp: T + 1 },
    ]);
    expect(r.trusted.witnessed).toBe(true);
  });

  it('fails below quorum: one witness, the same witness twice, an unpinned witness', () => {
    expect(code(verifyTrustedCheckpoint(cosigned(signed, [w1, T]), two, LOG))).toBe(
      'quorum-not-met',
    );
    expect(code(verifyTrustedCheckpoint(cosigned(signed, [w1, T], [w1, T + 5]), two, LOG))).toBe(
      'quorum-not-met',
    );
    expect(code(verifyTrustedCheckpoint(cosigned(signed, [w1, T], [w3, T]), two, LOG))).toBe(
      'quorum-not-met',
    );
  });

  it('without requireQuorum, reports witnessed: false instead of failing', () => {
    const r = verifyTrustedCheckpoint(cosigned(signed, [w1, T]), two, LOG, {
      requireQuorum: false,
    });
    expect(r).toMatchObject({ ok: true, trusted: { witnessed: false } });
  });

  it('fails a cosignature by a pinned witness that does not verify', () => {
    const line = w1.cosign(body, T);
    // Flip one bit of the signature (the last base64 digit before the padding).
    const broken = line.replace(/(.)==\n$/, (_m, c: string) => `${c === 'A' ? 'B' : 'A'}==\n`);
    expect(broken).not.toBe(line);
    expect(code(verifyTrustedCheckpoint(`${signed}${broken}`, two, LOG))).toBe('bad-cosignature');
  });

  it('a cosignature of another checkpoint does not count', () => {
    const other = formatCheckpoint({ origin: ORIGIN, size: 4, rootHash: Buffer.alloc(32, 9) });
    const note = `${signed}${w1.cosign(other, T)}${w2.cosign(body, T)}`;
    expect(code(verifyTrustedCheckpoint(note, two, LOG))).toBe('bad-cosignature');
  });
});

describe('verifyTrustedCheckpoint: retired log keys', () => {
  const retiredAt = T + 100;
  const retired = (input: Partial<TrustPolicyInput> = {}): TrustPolicy =>
    policy({ logKeys: [{ verifierKey: logKey, retired: retiredAt }], ...input });

  it('without witnesses a retired key is never enough', () => {
    expect(verifyTrustedCheckpoint(signed, retired(), LOG)).toMatchObject({
      ok: false,
      error: { code: 'retired-key', message: expect.stringContaining('no witness is pinned') },
    });
  });

  it('is accepted with a pinned witness cosignature dated before the retirement, not at or after it', () => {
    const p = retired({ witnesses: [w1.verifierKey] });
    expect(code(verifyTrustedCheckpoint(cosigned(signed, [w1, retiredAt - 1]), p, LOG))).toBe('ok');
    expect(code(verifyTrustedCheckpoint(cosigned(signed, [w1, retiredAt]), p, LOG))).toBe(
      'retired-key',
    );
    expect(code(verifyTrustedCheckpoint(signed, p, LOG, { requireQuorum: false }))).toBe(
      'retired-key',
    );
  });

  it('needs as many dated cosignatures as the quorum', () => {
    const p = retired({ witnesses: [w1.verifierKey, w2.verifierKey], quorum: 2 });
    expect(
      code(verifyTrustedCheckpoint(cosigned(signed, [w1, T], [w2, retiredAt + 1]), p, LOG)),
    ).toBe('retired-key');
    expect(code(verifyTrustedCheckpoint(cosigned(signed, [w1, T], [w2, T]), p, LOG))).toBe('ok');
  });

  it('an active key beside the retired one needs no dating', () => {
    const next = signerFromSeed(PREFIX, Buffer.alloc(32, 4));
    const p = policy({
      logKeys: [
        { verifierKey: logKey, retired: retiredAt },
        verifierKey(next.name, next.publicKey),
      ],
    });
    expect(code(verifyTrustedCheckpoint(signNote(body, next), p, LOG))).toBe('ok');
    expect(code(verifyTrustedCheckpoint(signed, p, LOG))).toBe('retired-key');
  });
});

describe('verifyTrustedCheckpoint: notes made by independent implementations', () => {
  // The log signature is Go's sumdb/note (the shared vector); the cosignature line is built by hand
  // with tweetnacl, an independent Ed25519: neither goes through this package's signing code.
  const seed = Buffer.alloc(32, 0x33);
  const pair = nacl.sign.keyPair.fromSeed(seed);
  const name = 'witness.independent/w';
  const id = createHash('sha256')
    .update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([4]), pair.publicKey]))
    .digest()
    .subarray(0, 4);
  const witnessKey = `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.from([4]), pair.publicKey]).toString('base64')}`;
  const time = 1_700_000_123;
  const message = Buffer.from(`cosignature/v1\ntime ${time}\n${v.checkpointBody}`);
  const sig = nacl.sign.detached(message, pair.secretKey);
  const timeBytes = Buffer.alloc(8);
  timeBytes.writeBigUInt64BE(BigInt(time));
  const line = `— ${name} ${Buffer.concat([id, timeBytes, sig]).toString('base64')}\n`;
  const vectorPolicy = (quorum: number): TrustPolicy => {
    const built = trustPolicy({
      originPrefix: 'example.test/tokenledger',
      logKeys: [v.verifierKey],
      witnesses: [witnessKey],
      quorum,
    });
    if (!built.ok) throw new Error(built.error.message);
    return built.policy;
  };

  it('accepts the Go-signed checkpoint with the tweetnacl cosignature as a quorum of one', () => {
    const r = verifyTrustedCheckpoint(
      `${v.signedNote}${line}`,
      vectorPolicy(1),
      'tokens.lifecycle-0',
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(r.trusted.cosignatures).toEqual([{ witness: witnessKey, timestamp: time }]);
    expect(r.trusted.logKeys).toEqual([v.verifierKey]);
  });

  it('and without the cosignature, the quorum is not met', () => {
    expect(code(verifyTrustedCheckpoint(v.signedNote, vectorPolicy(1), 'tokens.lifecycle-0'))).toBe(
      'quorum-not-met',
    );
  });

  it('our cosigner produces the same line for the same seed and time (deterministic Ed25519)', () => {
    expect(cosignerFromSeed(name, seed).cosign(v.checkpointBody, time)).toBe(line);
  });
});

describe('trust file and flags: strict, every error names its field', () => {
  const file = (o: Record<string, unknown>): string =>
    JSON.stringify({ version: 1, originPrefix: PREFIX, logKeys: [logKey], ...o });
  const field = (text: string): string => {
    const r = parseTrustFile(text);
    return r.ok ? 'ok' : r.error.field;
  };

  it('parses a full file: keys (string or object with retired), witnesses, quorum', () => {
    const next = signerFromSeed(PREFIX, Buffer.alloc(32, 4));
    const r = parseTrustFile(
      file({
        logKeys: [
          { verifierKey: logKey, retired: '2027-01-15T00:00:00Z' },
          verifierKey(next.name, next.publicKey),
        ],
        witnesses: [w1.verifierKey, w2.verifierKey],
        quorum: 2,
      }),
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(r.policy.originPrefix).toBe(PREFIX);
    expect(r.policy.logKeys.map((k) => k.retiredAt)).toEqual([
      Date.parse('2027-01-15T00:00:00Z') / 1000,
      undefined,
    ]);
    expect(r.policy.witnesses.map((w) => w.verifierKey)).toEqual([w1.verifierKey, w2.verifierKey]);
    expect(r.policy.quorum).toBe(2);
  });

  it('defaults the quorum to 1 when witnesses are pinned, 0 when none', () => {
    const r = parseTrustFile(file({ witnesses: [w1.verifierKey, w2.verifierKey] }));
    expect(r.ok && r.policy.quorum).toBe(1);
    const none = parseTrustFile(file({}));
    expect(none.ok && none.policy.quorum).toBe(0);
  });

  it.each([
    ['not JSON', '{', '(file)'],
    ['an array', '[]', '(file)'],
    ['an unknown member', file({ keys: [] }), 'keys'],
    ['a wrong version', file({ version: 2 }), 'version'],
    ['no origin prefix', JSON.stringify({ version: 1, logKeys: [logKey] }), 'originPrefix'],
    ['a trailing slash in the prefix', file({ originPrefix: `${PREFIX}/` }), 'originPrefix'],
    ['no log key', file({ logKeys: [] }), 'logKeys'],
    ['a bad log key', file({ logKeys: [logKey, 'x+1+2'] }), 'logKeys[1]'],
    ['a witness key as log key', file({ logKeys: [w1.verifierKey] }), 'logKeys[0]'],
    [
      'an unknown key member',
      file({ logKeys: [{ verifierKey: logKey, until: 1 }] }),
      'logKeys[0].until',
    ],
    [
      'a bad retirement time',
      file({ logKeys: [{ verifierKey: logKey, retired: 'yesterday' }] }),
      'logKeys[0].retired',
    ],
    [
      'a time without zone',
      file({ logKeys: [{ verifierKey: logKey, retired: '2027-01-15T00:00:00' }] }),
      'logKeys[0].retired',
    ],
    ['a log key as witness', file({ witnesses: [logKey] }), 'witnesses[0]'],
    [
      'a witness pinned twice',
      file({ witnesses: [w1.verifierKey, w1.verifierKey] }),
      'witnesses[1]',
    ],
    ['a quorum above the witnesses', file({ witnesses: [w1.verifierKey], quorum: 2 }), 'quorum'],
    ['a fractional quorum', file({ witnesses: [w1.verifierKey], quorum: 0.5 }), 'quorum'],
  ])('refuses %s', (_name, text, expected) => {
    expect(field(text)).toBe(expected);
  });

  it('error messages start with the field', () => {
    const r = parseTrustFile(file({ logKeys: [] }));
    expect(r.ok ? '' : r.error.message).toMatch(/^logKeys: no log key pinned/);
  });

  it('parses <vkey>;retired=<time> entries (the --log-key and LEDGER_TRUSTED_KEYS form)', () => {
    expect(parseLogKeyEntry(`${logKey};retired=2027-01-15T00:00:00Z`)).toEqual({
      ok: true,
      key: { verifierKey: logKey, retired: '2027-01-15T00:00:00Z' },
    });
    expect(parseLogKeyEntry(logKey)).toEqual({ ok: true, key: { verifierKey: logKey } });
    expect(parseLogKeyEntry(`${logKey};until=x`)).toMatchObject({
      ok: false,
      error: { code: 'invalid-trust' },
    });
  });
});
