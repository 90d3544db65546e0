import { createHash, createHmac } from 'node:crypto';
import { roleUrl, scramMatches, scramVerifier } from './roles';

describe('scramVerifier', () => {
  // RFC 7677 section 3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 rounds.
  // The exchange's client proof and server signature follow from StoredKey and ServerKey alone,
  // so they check the verifier PostgreSQL would store.
  const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
  const clientFirstBare = 'n=user,r=rOprNGfwEbeRWgbNEkqO';
  const serverFirst =
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
  const clientFinalBare = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
  const authMessage = `${clientFirstBare},${serverFirst},${clientFinalBare}`;

  it('matches the RFC 7677 example exchange (server signature and client proof)', () => {
    const verifier = scramVerifier('pencil', salt, 4096);
    const m = /^SCRAM-SHA-256\$4096:([^$]+)\$([^:]+):(.+)$/.exec(verifier);
    expect(m?.[1]).toBe('W22ZaJ0SNY7soEsUEjb6gQ==');
    const storedKey = Buffer.from(m?.[2] ?? '', 'base64');
    const serverKey = Buffer.from(m?.[3] ?? '', 'base64');
    const serverSignature = createHmac('sha256', serverKey).update(authMessage).digest('base64');
    expect(serverSignature).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    // ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage): recover ClientKey from the RFC's
    // proof and check that it hashes to StoredKey.
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    const clientSignature = createHmac('sha256', storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(proof.map((b, i) => b ^ (clientSignature[i] ?? 0)));
    expect(createHash('sha256').update(clientKey).digest().equals(storedKey)).toBe(true);
  });

  it('recognizes its own verifier and nothing else', () => {
    const stored = scramVerifier('correct horse');
    expect(scramMatches(stored, 'correct horse')).toBe(true);
    expect(scramMatches(stored, 'correct horsf')).toBe(false);
    expect(scramMatches('md5abc', 'correct horse')).toBe(false);
    expect(scramMatches(null, 'correct horse')).toBe(false);
    expect(scramVerifier('x')).not.toBe(scramVerifier('x')); // a fresh salt each time
  });
});

describe('roleUrl', () => {
  it('swaps the user and password, keeps host, port and database', () => {
    expect(
      roleUrl('postgres://postgres:pw@db:5432/tokenledger', 'tokenledger_ledger', 'p@ss'),
    ).toBe('postgres://tokenledger_ledger:p%40ss@db:5432/tokenledger');
    expect(roleUrl('postgres://postgres:pw@db:5432/tokenledger', 'tokenledger_owner')).toBe(
      'postgres://tokenledger_owner@db:5432/tokenledger',
    );
  });
});
