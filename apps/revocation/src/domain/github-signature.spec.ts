import { generateKeyPairSync, sign } from 'node:crypto';
import { GithubSignatureVerifier } from './github-signature';

describe('GithubSignatureVerifier', () => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const verifier = new GithubSignatureVerifier([{ key_identifier: 'k1', key: pem }]);
  const body = Buffer.from(
    '[{"token":"x","type":"t","url":"https://github.com/a","source":"content"}]',
  );
  const signed = (data: Buffer, key = pair.privateKey): string =>
    sign('sha256', data, { key, dsaEncoding: 'der' }).toString('base64');

  it('accepts a DER signature over the raw body by a configured key', () => {
    expect(verifier.check(body, 'k1', signed(body))).toEqual({ ok: true, keyIdentifier: 'k1' });
  });

  it('refuses another body, another key, an unknown key id, missing headers, garbage', () => {
    const tampered = Buffer.from(body.toString().replace('content', 'commit'));
    expect(verifier.check(tampered, 'k1', signed(body))).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifier.check(body, 'k1', signed(body, other.privateKey))).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifier.check(body, 'k2', signed(body))).toEqual({ ok: false, reason: 'unknown-key' });
    expect(verifier.check(body, undefined, signed(body))).toEqual({
      ok: false,
      reason: 'missing-headers',
    });
    expect(verifier.check(body, 'k1', undefined)).toEqual({ ok: false, reason: 'missing-headers' });
    expect(verifier.check(body, 'k1', 'not base64!')).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifier.check(body, 'k1', Buffer.from('junk').toString('base64'))).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('with no keys configured nothing is accepted', () => {
    const none = new GithubSignatureVerifier([]);
    expect(none.configured).toBe(false);
    expect(none.check(body, 'k1', signed(body))).toEqual({ ok: false, reason: 'no-keys' });
  });

  it('refuses keys that are not ECDSA P-256 public keys at construction', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(
      () => new GithubSignatureVerifier([{ key_identifier: 'r', key: rsa.toString() }]),
    ).toThrow(/key r: expected an ECDSA P-256 key/);
    expect(() => new GithubSignatureVerifier([{ key_identifier: 'g', key: 'garbage' }])).toThrow(
      /key g: not a PEM public key/,
    );
  });
});
