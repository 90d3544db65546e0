import {
  MAX_SIGNATURES,
  NoteArgumentError,
  openNote,
  parseVerifierKey,
  signerFromSeed,
  signNote,
  verifierFromPublicKey,
  verifierKey,
  type NoteVerifier,
  type OpenNoteResult,
} from './note';
import { signedNoteVector as v } from './test-support/vectors';

const seed = Buffer.from(v.ed25519SeedHex, 'hex');
const signer = signerFromSeed(v.keyName, seed);
const verifier = verifierFromPublicKey(v.keyName, signer.publicKey);
const other = signerFromSeed('other.test/log', Buffer.alloc(32, 7));
const code = (r: OpenNoteResult): string => (r.ok ? 'ok' : r.error.code);

describe('signed notes: the independent vector (Go sumdb/note)', () => {
  it('derives the public key, key hash and verifier key', () => {
    expect(signer.publicKey.toString('hex')).toBe(v.publicKeyHex);
    expect(signer.keyHash.toString(16).padStart(8, '0')).toBe(v.keyHashHex);
    expect(verifierKey(v.keyName, signer.publicKey)).toBe(v.verifierKey);
  });

  it('reproduces the signed note byte for byte', () => {
    const note = signNote(v.checkpointBody, signer);
    expect(note).toBe(v.signedNote);
    expect(Buffer.from(note, 'utf8').equals(Buffer.from(v.signedNote, 'utf8'))).toBe(true);
  });

  it('opens the vector with the parsed verifier key', () => {
    const parsed = parseVerifierKey(v.verifierKey);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.verifier.name).toBe(v.keyName);
    expect(parsed.verifier.publicKey.toString('hex')).toBe(v.publicKeyHex);
    const opened = openNote(v.signedNote, [parsed.verifier]);
    expect(opened).toMatchObject({ ok: true, note: { text: v.checkpointBody, unverified: [] } });
    expect(opened.ok && opened.note.verified.map((s) => s.name)).toEqual([v.keyName]);
    expect(code(openNote(Buffer.from(v.signedNote, 'utf8'), [verifier]))).toBe('ok');
  });
});

describe('signed notes: tampering', () => {
  const lines = v.signedNote.split('\n');
  const withLine = (i: number, line: string): string =>
    lines.map((l, j) => (j === i ? line : l)).join('\n');

  it('rejects a changed size line', () => {
    expect(code(openNote(withLine(1, '9'), [verifier]))).toBe('bad-signature');
  });

  it('rejects a changed root', () => {
    const root = Buffer.from(lines[2] as string, 'base64');
    root[0] = (root[0] ?? 0) ^ 1;
    expect(code(openNote(withLine(2, root.toString('base64')), [verifier]))).toBe('bad-signature');
  });

  it('rejects a changed signature', () => {
    const sigLine = lines[4] as string;
    const [, name, b64] = sigLine.split(' ') as [string, string, string];
    const raw = Buffer.from(b64, 'base64');
    raw[10] = (raw[10] ?? 0) ^ 1;
    expect(
      code(openNote(withLine(4, `\u2014 ${name} ${raw.toString('base64')}`), [verifier])),
    ).toBe('bad-signature');
  });

  it('reports an unknown key when no verifier matches (other key, other name)', () => {
    const wrongKey = verifierFromPublicKey(v.keyName, other.publicKey);
    expect(code(openNote(v.signedNote, [wrongKey]))).toBe('unknown-key');
    expect(
      code(openNote(v.signedNote, [verifierFromPublicKey('someone.else', signer.publicKey)])),
    ).toBe('unknown-key');
    expect(code(openNote(v.signedNote, []))).toBe('unknown-key');
  });

  it('rejects a signature by a known name and key ID that does not verify', () => {
    const impostor: NoteVerifier = {
      name: v.keyName,
      keyHash: signer.keyHash,
      verify: () => false,
    };
    expect(code(openNote(v.signedNote, [impostor]))).toBe('bad-signature');
  });

  it.each([
    ['no blank line', v.checkpointBody],
    ['a hyphen instead of the em dash', v.signedNote.replace('\u2014', '-')],
    ['no signature lines', `${v.checkpointBody}\n`],
    ['no final newline', v.signedNote.slice(0, -1)],
    ['a control character', v.signedNote.replace('example', 'exa\tmple')],
    ['bad base64', v.signedNote.replace('8MFX', '8M!X')],
    ['a signature too short to hold a key ID', `${v.checkpointBody}\n\u2014 ${v.keyName} AAAA\n`],
    ['a key name with a plus', v.signedNote.replace(`\u2014 ${v.keyName}`, `\u2014 a+b`)],
  ])('rejects a note with %s as malformed', (_what, note) => {
    expect(code(openNote(note, [verifier]))).toBe('malformed');
  });

  it('rejects invalid UTF-8 and too many signatures as malformed', () => {
    expect(code(openNote(Buffer.from([0x61, 0x0a, 0x0a, 0xff, 0x0a]), [verifier]))).toBe(
      'malformed',
    );
    const line = v.signedNote.slice(v.checkpointBody.length + 1);
    expect(
      code(openNote(v.checkpointBody + '\n' + line.repeat(MAX_SIGNATURES + 1), [verifier])),
    ).toBe('malformed');
    expect(code(openNote(v.checkpointBody + '\n' + line.repeat(MAX_SIGNATURES), [verifier]))).toBe(
      'ok',
    );
    const dup = openNote(v.checkpointBody + '\n' + line.repeat(2), [verifier]);
    expect(dup.ok && dup.note.verified).toHaveLength(1);
  });
});

describe('signed notes: several signers', () => {
  const note = signNote('hello\nworld\n', signer, other);

  it('puts one line per signer after a blank line', () => {
    expect(note.startsWith('hello\nworld\n\n\u2014 ')).toBe(true);
    expect(note.split('\n\u2014 ')).toHaveLength(3);
  });

  it('ignores signatures by unknown keys when a known one verifies', () => {
    const opened = openNote(note, [verifier]);
    expect(opened.ok && opened.note.verified.map((s) => s.name)).toEqual([v.keyName]);
    expect(opened.ok && opened.note.unverified.map((s) => s.name)).toEqual(['other.test/log']);
    const both = openNote(note, [verifier, verifierFromPublicKey(other.name, other.publicKey)]);
    expect(both.ok && both.note.verified).toHaveLength(2);
  });

  it('refuses to sign text that is not a valid note text', () => {
    expect(() => signNote('no newline', signer)).toThrow(NoteArgumentError);
    expect(() => signNote('', signer)).toThrow(NoteArgumentError);
    expect(() => signNote('bell\u0007\n', signer)).toThrow(NoteArgumentError);
    expect(() => signNote('text\n')).toThrow(NoteArgumentError);
    expect(() => signerFromSeed('bad name', seed)).toThrow(NoteArgumentError);
    expect(() => signerFromSeed('ok', Buffer.alloc(31))).toThrow(NoteArgumentError);
  });
});

describe('verifier keys', () => {
  it.each([
    ['a missing part', 'example.test+f0c157d9', 'malformed-key'],
    ['an uppercase hash', v.verifierKey.replace('f0c157d9', 'F0C157D9'), 'malformed-key'],
    ['a wrong key hash', v.verifierKey.replace('f0c157d9', 'f0c157da'), 'key-hash-mismatch'],
    [
      'a different name',
      v.verifierKey.replace(v.keyName, 'example.test/other'),
      'key-hash-mismatch',
    ],
    ['another algorithm', v.verifierKey.replace('+AS', '+Ai'), 'unknown-algorithm'],
    ['bad base64', `${v.verifierKey}=`, 'malformed-key'],
    ['a short key', `${v.keyName}+${v.keyHashHex}+AQID`, 'malformed-key'],
  ])('rejects a key with %s', (_what, key, expected) => {
    const r = parseVerifierKey(key);
    expect(r.ok ? 'ok' : r.error.code).toBe(expected);
  });
});
