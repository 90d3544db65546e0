// A naive reference of signing.ts, written without it: sorted-key JSON (enough for the ASCII
// strings and small integers of the test events) and tweetnacl's Ed25519. The vectors in
// signing-vectors.json were generated with it (see the comment in signing.spec.ts).
import nacl from 'tweetnacl';

export function naiveCanonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(naiveCanonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${naiveCanonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function naivePublicKey(seed: Uint8Array): Uint8Array {
  return nacl.sign.keyPair.fromSeed(seed).publicKey;
}

/** The signed record value: `sigkeyid` added, everything but `sig` signed, `sig` added. */
export function naiveSign(
  envelope: Record<string, unknown>,
  keyId: string,
  seed: Uint8Array,
): { input: string; sig: string; record: string } {
  const { sig: _drop, ...rest } = envelope;
  const unsigned = { ...rest, sigkeyid: keyId };
  const input = naiveCanonical(unsigned);
  const { secretKey } = nacl.sign.keyPair.fromSeed(seed);
  const sig = Buffer.from(nacl.sign.detached(Buffer.from(input, 'utf8'), secretKey)).toString(
    'base64url',
  );
  return { input, sig, record: naiveCanonical({ ...unsigned, sig }) };
}

export function naiveVerify(envelope: Record<string, unknown>, publicKey: Uint8Array): boolean {
  const { sig, ...rest } = envelope;
  if (typeof sig !== 'string') return false;
  return nacl.sign.detached.verify(
    Buffer.from(naiveCanonical(rest), 'utf8'),
    Buffer.from(sig, 'base64url'),
    publicKey,
  );
}

/** The fixed seed of the vectors: bytes 0x00..0x1f. */
export const VECTOR_SEED = Uint8Array.from({ length: 32 }, (_, i) => i);
