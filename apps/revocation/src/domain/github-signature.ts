import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/** One of GitHub's secret-scanning public keys, as `GET /meta/public_keys/secret_scanning` lists them. */
export interface GithubPublicKey {
  key_identifier: string;
  /** SPKI PEM of an ECDSA P-256 key. */
  key: string;
}

export type GithubSignatureCheck =
  | { ok: true; keyIdentifier: string }
  | { ok: false; reason: 'no-keys' | 'missing-headers' | 'unknown-key' | 'bad-signature' };

/**
 * Checks GitHub secret-scanning partner deliveries: an ECDSA P-256 / SHA-256 signature, DER,
 * base64 in `Github-Public-Key-Signature`, over the raw request body, by the key named in
 * `Github-Public-Key-Identifier`. Only the configured keys are trusted (none fetched at run time).
 */
export class GithubSignatureVerifier {
  private readonly keys = new Map<string, KeyObject>();

  /** Throws naming the key when one is not an EC P-256 public key in PEM. */
  constructor(keys: readonly GithubPublicKey[]) {
    for (const { key_identifier: id, key } of keys) {
      let object: KeyObject;
      try {
        object = createPublicKey(key);
      } catch {
        throw new Error(`key ${id}: not a PEM public key`);
      }
      if (
        object.asymmetricKeyType !== 'ec' ||
        object.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
      )
        throw new Error(`key ${id}: expected an ECDSA P-256 key`);
      this.keys.set(id, object);
    }
  }

  get configured(): boolean {
    return this.keys.size > 0;
  }

  check(
    rawBody: Buffer,
    keyIdentifier: string | undefined,
    signature: string | undefined,
  ): GithubSignatureCheck {
    if (this.keys.size === 0) return { ok: false, reason: 'no-keys' };
    if (!keyIdentifier || !signature) return { ok: false, reason: 'missing-headers' };
    const key = this.keys.get(keyIdentifier);
    if (!key) return { ok: false, reason: 'unknown-key' };
    if (!/^[A-Za-z0-9+/]{1,400}={0,2}$/.test(signature))
      return { ok: false, reason: 'bad-signature' };
    let valid: boolean;
    try {
      valid = verify(
        'sha256',
        rawBody,
        { key, dsaEncoding: 'der' },
        Buffer.from(signature, 'base64'),
      );
    } catch {
      valid = false;
    }
    return valid ? { ok: true, keyIdentifier } : { ok: false, reason: 'bad-signature' };
  }
}
