// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys (signature type 0x01).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { decodeBase64 } from './base64';
import { fail, type Failure } from './result';

const ED25519_TYPE = 0x01;
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Em dash (U+2014) and a space: the start of every signature line. */
export const SIGNATURE_PREFIX = '\u2014 ';
/** Notes with more signature lines are rejected as malformed (as Go's note.Open does). */
export const MAX_SIGNATURES = 100;

export interface NoteSigner {
  readonly name: string;
  /** 32-bit key ID: first 4 bytes of SHA-256(name || 0x0A || 0x01 || publicKey), big-endian. */
  readonly keyHash: number;
  readonly publicKey: Buffer;
  sign(message: Uint8Array): Buffer;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyHash: number;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyHash: number;
  /** base64(keyHash || signature), as on the signature line. */
  readonly base64: string;
}

export interface OpenedNote {
  /** The signed text, ending in "\n". */
  readonly text: string;
  readonly verified: readonly NoteSignature[];
  /** Signatures by keys not among the verifiers (ignored, as the spec requires). */
  readonly unverified: readonly NoteSignature[];
}

export type NoteErrorCode = 'malformed' | 'unknown-key' | 'bad-signature';

export type OpenNoteResult =
  { readonly ok: true; readonly note: OpenedNote } | Failure<NoteErrorCode>;

export type VerifierKeyErrorCode = 'malformed-key' | 'unknown-algorithm' | 'key-hash-mismatch';

export type ParseVerifierKeyResult =
  | { readonly ok: true; readonly verifier: NoteVerifier & { readonly publicKey: Buffer } }
  | Failure<VerifierKeyErrorCode>;

/** Thrown by signing-side functions when called with a bad name, seed, key or text. */
export class NoteArgumentError extends TypeError {
  override readonly name = 'NoteArgumentError';
  readonly code = 'invalid-argument';
  readonly retryable = false;
}

/** Key names: non-empty, no Unicode space, no '+'. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s\u0085+]/u.test(name) && isWellFormed(name);
}

function isWellFormed(s: string): boolean {
  return !/\p{Surrogate}/u.test(s);
}

/** Well-formed UTF-8 text with no ASCII control characters other than newline. */
function isValidText(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return isWellFormed(s) && !/[\u0000-\u0009\u000b-\u001f\u007f]/.test(s);
}

/** key ID = SHA-256(name || 0x0A || 0x01 || publicKey)[:4], big-endian uint32. */
export function keyHash(name: string, publicKey: Uint8Array): number {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, ED25519_TYPE]))
    .update(publicKey)
    .digest()
    .readUInt32BE(0);
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]),
    format: 'der',
    type: 'spki',
  });
}

/** An Ed25519 signer from a 32-byte seed (RFC 8032 private key). */
export function signerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  if (!isValidKeyName(name))
    throw new NoteArgumentError(`invalid key name ${JSON.stringify(name)}`);
  if (seed.length !== 32)
    throw new NoteArgumentError(`Ed25519 seed must be 32 bytes, got ${seed.length}`);
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = Buffer.from(spki.subarray(spki.length - 32));
  return {
    name,
    keyHash: keyHash(name, publicKey),
    publicKey,
    sign: (message) => cryptoSign(null, message, privateKey),
  };
}

/** A verifier for an Ed25519 public key (32 bytes). */
export function verifierFromPublicKey(
  name: string,
  publicKey: Uint8Array,
): NoteVerifier & { readonly publicKey: Buffer } {
  if (!isValidKeyName(name))
    throw new NoteArgumentError(`invalid key name ${JSON.stringify(name)}`);
  if (publicKey.length !== 32)
    throw new NoteArgumentError(`Ed25519 public key must be 32 bytes, got ${publicKey.length}`);
  const key = publicKeyObject(publicKey);
  return {
    name,
    keyHash: keyHash(name, publicKey),
    publicKey: Buffer.from(publicKey),
    verify: (message, signature) => {
      if (signature.length !== 64) return false;
      try {
        return cryptoVerify(null, message, key, signature);
      } catch {
        return false;
      }
    },
  };
}

/** The published verifier key: `<name>+<hex key ID>+<base64(0x01 || publicKey)>`. */
export function verifierKey(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name))
    throw new NoteArgumentError(`invalid key name ${JSON.stringify(name)}`);
  if (publicKey.length !== 32)
    throw new NoteArgumentError(`Ed25519 public key must be 32 bytes, got ${publicKey.length}`);
  const typed = Buffer.concat([Buffer.from([ED25519_TYPE]), publicKey]);
  return `${name}+${hex8(keyHash(name, publicKey))}+${typed.toString('base64')}`;
}

export type SplitVerifierKeyResult =
  | { readonly ok: true; readonly name: string; readonly hash: string; readonly publicKey: Buffer }
  | Failure<VerifierKeyErrorCode>;

/**
 * The form of every `<name>+<hex key ID>+<base64(type || publicKey)>` verifier key: a valid key
 * name, 8 lowercase hex digits, standard base64 whose first byte is `type` (`typeName` names it
 * in the error) followed by a 32-byte Ed25519 public key. The caller checks the key ID, whose
 * derivation depends on the key type. Never throws.
 */
export function splitVerifierKey(
  vkey: string,
  type: number,
  typeName: string,
): SplitVerifierKeyResult {
  const bad = fail<VerifierKeyErrorCode>;
  // The base64 key may itself contain '+': only the first two are separators.
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) return bad('malformed-key', 'verifier key must be name+hash+key');
  const name = vkey.slice(0, first);
  const hash = vkey.slice(first + 1, second);
  if (!isValidKeyName(name))
    return bad('malformed-key', `invalid key name ${JSON.stringify(name)}`);
  if (!/^[0-9a-f]{8}$/.test(hash))
    return bad('malformed-key', 'key hash must be 8 lowercase hex digits');
  const typed = decodeBase64(vkey.slice(second + 1));
  if (typed === undefined || typed.length < 1)
    return bad('malformed-key', 'key is not standard base64');
  if (typed[0] !== type)
    return bad(
      'unknown-algorithm',
      `signature type 0x${(typed[0] ?? 0).toString(16).padStart(2, '0')} is not ${typeName} (0x${type.toString(16).padStart(2, '0')})`,
    );
  if (typed.length !== 33)
    return bad('malformed-key', `Ed25519 public key must be 32 bytes, got ${typed.length - 1}`);
  return { ok: true, name, hash, publicKey: Buffer.from(typed.subarray(1)) };
}

/** Parses `<name>+<hex key ID>+<base64(0x01 || publicKey)>`; never throws. */
export function parseVerifierKey(vkey: string): ParseVerifierKeyResult {
  const parts = splitVerifierKey(vkey, ED25519_TYPE, 'Ed25519');
  if (!parts.ok) return parts;
  const verifier = verifierFromPublicKey(parts.name, parts.publicKey);
  if (hex8(verifier.keyHash) !== parts.hash) {
    return fail(
      'key-hash-mismatch',
      `key hash ${parts.hash} does not match the key (${hex8(verifier.keyHash)})`,
    );
  }
  return { ok: true, verifier };
}

/**
 * Signs `text` (MUST be non-empty and end in "\n") and returns text + "\n" + one signature line
 * per signer, in the order given.
 */
export function signNote(text: string, ...signers: readonly NoteSigner[]): string {
  if (text.length === 0 || !text.endsWith('\n'))
    throw new NoteArgumentError('note text must be non-empty and end with a newline');
  if (!isValidText(text))
    throw new NoteArgumentError(
      'note text must be UTF-8 without control characters other than newline',
    );
  if (signers.length === 0) throw new NoteArgumentError('at least one signer is required');
  const message = Buffer.from(text, 'utf8');
  const lines = signers.map((s) => {
    const hash = Buffer.alloc(4);
    hash.writeUInt32BE(s.keyHash >>> 0, 0);
    return `${SIGNATURE_PREFIX}${s.name} ${Buffer.concat([hash, s.sign(message)]).toString('base64')}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/**
 * Parses a signed note and verifies it. Signatures by unknown keys are ignored; a signature by a
 * known key (same name and key ID) that does not verify fails the whole note ('bad-signature');
 * a note with no verified signature fails with 'unknown-key'. Never throws.
 */
export function openNote(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
): OpenNoteResult {
  const bad = (code: NoteErrorCode, message: string): OpenNoteResult => ({
    ok: false,
    error: { code, message },
  });
  let msg: string;
  if (typeof note === 'string') {
    msg = note;
  } else {
    try {
      msg = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
    } catch {
      return bad('malformed', 'note is not valid UTF-8');
    }
  }
  if (!isValidText(msg))
    return bad('malformed', 'note contains control characters other than newline');
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) return bad('malformed', 'note has no blank line before the signatures');
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n'))
    return bad('malformed', 'signature block is empty or does not end with a newline');

  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES)
    return bad('malformed', `more than ${MAX_SIGNATURES} signatures`);
  const message = Buffer.from(text, 'utf8');
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const [i, line] of lines.entries()) {
    if (!line.startsWith(SIGNATURE_PREFIX))
      return bad('malformed', `signature line ${i + 1} does not start with an em dash and a space`);
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    const b64 = space < 0 ? '' : rest.slice(space + 1);
    if (!isValidKeyName(name))
      return bad('malformed', `signature line ${i + 1} has an invalid key name`);
    const raw = decodeBase64(b64);
    if (raw === undefined || raw.length < 5)
      return bad('malformed', `signature line ${i + 1} has no valid base64 key ID and signature`);
    const sig: NoteSignature = { name, keyHash: raw.readUInt32BE(0), base64: b64 };
    const id = `${name}+${hex8(sig.keyHash)}`;
    const verifier = verifiers.find((v) => v.name === name && v.keyHash >>> 0 === sig.keyHash);
    if (verifier === undefined) {
      unverified.push(sig);
      continue;
    }
    if (seen.has(id)) continue;
    seen.add(id);
    if (!verifier.verify(message, raw.subarray(4)))
      return bad('bad-signature', `signature by ${id} does not verify`);
    verified.push(sig);
  }
  if (verified.length === 0) {
    const by = unverified.map((s) => `${s.name}+${hex8(s.keyHash)}`).join(', ');
    return bad('unknown-key', `no signature by a known key (signed by: ${by})`);
  }
  return { ok: true, note: { text, verified, unverified } };
}
