// C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature) `cosignature/v1`: Ed25519 cosignatures
// of checkpoints, as note signature lines whose key ID uses signature type 0x04 and whose signature
// is `u64 timestamp || ed25519_signature[64]`.
import { createHash } from 'node:crypto';
import { decodeBase64 } from './base64';
import { fail } from './result';
import {
  SIGNATURE_PREFIX,
  isValidKeyName,
  signerFromSeed,
  splitVerifierKey,
  verifierFromPublicKey,
  type VerifierKeyErrorCode,
} from './note';

/** Signature type byte of Ed25519 `cosignature/v1` key IDs and vkeys. */
export const COSIGNATURE_ED25519_TYPE = 0x04;
/** The domain-separation header line of the signed message. */
export const COSIGNATURE_V1_HEADER = 'cosignature/v1\n';
/** Largest timestamp the spec allows: 2^63 - 1 (this code also needs it to be a safe integer). */
const MAX_TIMESTAMP = 2n ** 63n - 1n;
const TIMESTAMPED_SIGNATURE_SIZE = 8 + 64;

export interface Cosigner {
  readonly name: string;
  /** SHA-256(name || 0x0A || 0x04 || publicKey)[:4], big-endian. */
  readonly keyHash: number;
  readonly publicKey: Buffer;
  /** `<name>+<hex key ID>+<base64(0x04 || publicKey)>`: what log clients configure. */
  readonly verifierKey: string;
  /**
   * The signature line `— <name> <base64>\n` cosigning `checkpointBody` (the note text, ending in
   * "\n", without signature lines) as of `timestamp` (POSIX seconds).
   */
  cosign(checkpointBody: string, timestamp: number): string;
}

export interface CosignatureVerifier {
  readonly name: string;
  readonly keyHash: number;
  readonly publicKey: Buffer;
  /** Plain Ed25519 verification of `signature` over `message`. */
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** A signature line split into its parts; says nothing about validity. */
export interface ParsedCosignature {
  readonly name: string;
  readonly keyHash: number;
  readonly timestamp: number;
  readonly signature: Buffer;
}

export type CosignatureErrorCode =
  | 'malformed-cosignature'
  | 'timestamp-out-of-range'
  | 'key-mismatch'
  | 'bad-signature'
  | 'future-timestamp';

export type CosignatureError = {
  readonly code: CosignatureErrorCode;
  readonly message: string;
};

export type ParseCosignatureResult =
  | { readonly ok: true; readonly cosignature: ParsedCosignature }
  | { readonly ok: false; readonly error: CosignatureError };

export type VerifyCosignatureResult =
  | { readonly ok: true; readonly cosignature: ParsedCosignature }
  | { readonly ok: false; readonly error: CosignatureError };

export type ParseCosignerKeyResult =
  | { readonly ok: true; readonly verifier: CosignatureVerifier }
  | {
      readonly ok: false;
      readonly error: { readonly code: VerifierKeyErrorCode; readonly message: string };
    };

export interface OpenedCosignatures {
  /** Cosignatures by a configured key that verify, at most one per key. */
  readonly verified: readonly ParsedCosignature[];
  /** Lines by keys that are not configured (ignored, as tlog-witness requires of clients). */
  readonly unverified: readonly { readonly name: string; readonly keyHash: number }[];
}

export type OpenCosignaturesResult =
  | { readonly ok: true; readonly cosignatures: OpenedCosignatures }
  | {
      readonly ok: false;
      /** 1-based line of the first bad signature line. */
      readonly error: CosignatureError & { readonly line: number };
    };

/** Thrown by the signing side for a bad name, seed, key, body or timestamp. */
export class CosignatureArgumentError extends TypeError {
  override readonly name = 'CosignatureArgumentError';
  readonly code = 'invalid-argument';
  readonly retryable = false;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function isTimestamp(t: number): boolean {
  return Number.isSafeInteger(t) && t >= 0;
}

/** key ID = SHA-256(name || 0x0A || 0x04 || publicKey)[:4], big-endian uint32. */
export function cosignerKeyHash(name: string, publicKey: Uint8Array): number {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, COSIGNATURE_ED25519_TYPE]))
    .update(publicKey)
    .digest()
    .readUInt32BE(0);
}

/**
 * The signed message: `cosignature/v1\ntime <timestamp>\n` followed by the whole checkpoint body
 * (which MUST end in "\n" and carry no signature lines).
 */
export function cosignedMessage(checkpointBody: string, timestamp: number): Buffer {
  if (!isTimestamp(timestamp))
    throw new CosignatureArgumentError(`timestamp ${timestamp} is not a non-negative safe integer`);
  if (checkpointBody.length === 0 || !checkpointBody.endsWith('\n'))
    throw new CosignatureArgumentError('checkpoint body must be non-empty and end with a newline');
  return Buffer.from(`${COSIGNATURE_V1_HEADER}time ${timestamp}\n${checkpointBody}`, 'utf8');
}

/** The vkey `<name>+<hex key ID>+<base64(0x04 || publicKey)>`. */
export function cosignerVerifierKey(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name))
    throw new CosignatureArgumentError(`invalid key name ${JSON.stringify(name)}`);
  if (publicKey.length !== 32)
    throw new CosignatureArgumentError(
      `Ed25519 public key must be 32 bytes, got ${publicKey.length}`,
    );
  const typed = Buffer.concat([Buffer.from([COSIGNATURE_ED25519_TYPE]), publicKey]);
  return `${name}+${hex8(cosignerKeyHash(name, publicKey))}+${typed.toString('base64')}`;
}

/** A verifier for a cosigner's 32-byte Ed25519 public key. */
export function cosignatureVerifier(name: string, publicKey: Uint8Array): CosignatureVerifier {
  if (!isValidKeyName(name))
    throw new CosignatureArgumentError(`invalid key name ${JSON.stringify(name)}`);
  if (publicKey.length !== 32)
    throw new CosignatureArgumentError(
      `Ed25519 public key must be 32 bytes, got ${publicKey.length}`,
    );
  // The note verifier is plain Ed25519 over the message; only its key ID (type 0x01) differs.
  const ed25519 = verifierFromPublicKey(name, publicKey);
  return {
    name,
    keyHash: cosignerKeyHash(name, publicKey),
    publicKey: Buffer.from(publicKey),
    verify: (message, signature) => ed25519.verify(message, signature),
  };
}

/** An Ed25519 cosigner from a 32-byte seed (RFC 8032 private key). The seed is never exposed. */
export function cosignerFromSeed(name: string, seed: Uint8Array): Cosigner {
  if (!isValidKeyName(name))
    throw new CosignatureArgumentError(`invalid key name ${JSON.stringify(name)}`);
  if (seed.length !== 32)
    throw new CosignatureArgumentError(`Ed25519 seed must be 32 bytes, got ${seed.length}`);
  const ed25519 = signerFromSeed(name, seed);
  const keyHash = cosignerKeyHash(name, ed25519.publicKey);
  const id = Buffer.alloc(4);
  id.writeUInt32BE(keyHash, 0);
  return {
    name,
    keyHash,
    publicKey: ed25519.publicKey,
    verifierKey: cosignerVerifierKey(name, ed25519.publicKey),
    cosign(checkpointBody, timestamp) {
      const signature = ed25519.sign(cosignedMessage(checkpointBody, timestamp));
      const time = Buffer.alloc(8);
      time.writeBigUInt64BE(BigInt(timestamp), 0);
      const b64 = Buffer.concat([id, time, signature]).toString('base64');
      return `${SIGNATURE_PREFIX}${name} ${b64}\n`;
    },
  };
}

/** Parses `<name>+<hex key ID>+<base64(0x04 || publicKey)>`; never throws. */
export function parseCosignerVerifierKey(vkey: string): ParseCosignerKeyResult {
  const parts = splitVerifierKey(vkey, COSIGNATURE_ED25519_TYPE, 'an Ed25519 cosignature key');
  if (!parts.ok) return parts;
  const verifier = cosignatureVerifier(parts.name, parts.publicKey);
  if (hex8(verifier.keyHash) !== parts.hash)
    return fail(
      'key-hash-mismatch',
      `key hash ${parts.hash} does not match the key (${hex8(verifier.keyHash)})`,
    );
  return { ok: true, verifier };
}

interface SignatureLine {
  readonly name: string;
  readonly keyHash: number;
  readonly raw: Buffer;
}

/** `— <name> base64(keyID || signature)`: the parts any note signature line has. */
function splitSignatureLine(
  line: string,
):
  | { readonly ok: true; readonly line: SignatureLine }
  | { readonly ok: false; readonly error: CosignatureError } {
  const bad = (message: string) => ({
    ok: false as const,
    error: { code: 'malformed-cosignature' as const, message },
  });
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  if (!text.startsWith(SIGNATURE_PREFIX))
    return bad('signature line does not start with an em dash and a space');
  const rest = text.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) return bad('signature line has no space after the name');
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) return bad(`invalid key name ${JSON.stringify(name)}`);
  const raw = decodeBase64(rest.slice(space + 1));
  if (raw === undefined || raw.length < 5)
    return bad('signature line has no valid base64 key ID and signature');
  return { ok: true, line: { name, keyHash: raw.readUInt32BE(0), raw } };
}

/** Splits one signature line (with or without its final "\n") into name, key ID, time, signature. */
export function parseCosignatureLine(line: string): ParseCosignatureResult {
  const split = splitSignatureLine(line);
  if (!split.ok) return split;
  const { name, keyHash, raw } = split.line;
  if (raw.length !== 4 + TIMESTAMPED_SIGNATURE_SIZE)
    return {
      ok: false,
      error: {
        code: 'malformed-cosignature',
        message: `signature must be 4 + 8 + 64 bytes for an Ed25519 cosignature, got ${raw.length}`,
      },
    };
  const time = raw.readBigUInt64BE(4);
  if (time > MAX_TIMESTAMP || time > BigInt(Number.MAX_SAFE_INTEGER))
    return {
      ok: false,
      error: { code: 'timestamp-out-of-range', message: `timestamp ${time} is out of range` },
    };
  return {
    ok: true,
    cosignature: { name, keyHash, timestamp: Number(time), signature: raw.subarray(12) },
  };
}

/**
 * Verifies one cosignature line over `checkpointBody` with `verifier`: the name and key ID MUST be
 * the verifier's. With `notAfter` (POSIX seconds), a later timestamp fails with 'future-timestamp'.
 * Never throws.
 */
export function verifyCosignature(
  checkpointBody: string,
  line: string,
  verifier: CosignatureVerifier,
  options: { readonly notAfter?: number } = {},
): VerifyCosignatureResult {
  const parsed = parseCosignatureLine(line);
  if (!parsed.ok) return parsed;
  const c = parsed.cosignature;
  const fail = (code: CosignatureErrorCode, message: string): VerifyCosignatureResult => ({
    ok: false,
    error: { code, message },
  });
  const id = `${c.name}+${hex8(c.keyHash)}`;
  if (c.name !== verifier.name || c.keyHash !== verifier.keyHash >>> 0)
    return fail(
      'key-mismatch',
      `signature by ${id}, expected ${verifier.name}+${hex8(verifier.keyHash)}`,
    );
  if (options.notAfter !== undefined && c.timestamp > options.notAfter)
    return fail('future-timestamp', `timestamp ${c.timestamp} is after ${options.notAfter}`);
  if (checkpointBody.length === 0 || !checkpointBody.endsWith('\n'))
    return fail(
      'malformed-cosignature',
      'checkpoint body must be non-empty and end with a newline',
    );
  if (!verifier.verify(cosignedMessage(checkpointBody, c.timestamp), c.signature))
    return fail('bad-signature', `cosignature by ${id} does not verify`);
  return { ok: true, cosignature: c };
}

/**
 * Reads a block of signature lines (e.g. a witness's add-checkpoint answer): lines by unknown keys
 * are kept aside, a line by a configured key that does not verify fails the whole block, a block
 * that is not lines of `— <name> <base64>` is malformed. Never throws.
 */
export function openCosignatures(
  checkpointBody: string,
  block: string,
  verifiers: readonly CosignatureVerifier[],
  options: { readonly notAfter?: number } = {},
): OpenCosignaturesResult {
  if (block.length === 0 || !block.endsWith('\n'))
    return {
      ok: false,
      error: {
        code: 'malformed-cosignature',
        message: 'signature block is empty or does not end with a newline',
        line: 1,
      },
    };
  const verified: ParsedCosignature[] = [];
  const unverified: { name: string; keyHash: number }[] = [];
  for (const [i, line] of block.slice(0, -1).split('\n').entries()) {
    const split = splitSignatureLine(line);
    if (!split.ok) return { ok: false, error: { ...split.error, line: i + 1 } };
    const { name, keyHash } = split.line;
    const verifier = verifiers.find((v) => v.name === name && v.keyHash >>> 0 === keyHash);
    if (verifier === undefined) {
      unverified.push({ name, keyHash });
      continue;
    }
    if (verified.some((v) => v.name === name && v.keyHash === keyHash)) continue;
    const checked = verifyCosignature(checkpointBody, line, verifier, options);
    if (!checked.ok) return { ok: false, error: { ...checked.error, line: i + 1 } };
    verified.push(checked.cosignature);
  }
  return { ok: true, cosignatures: { verified, unverified } };
}
