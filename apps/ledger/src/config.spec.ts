import { cosignerFromSeed, signerFromSeed, verifierKey } from '@tokenledger/ledger-core';
import { ConfigError, loadConfig } from '@tokenledger/service-host';
import { ledgerConfigSchema } from './config';

const env = { TOKENLEDGER_INTERNAL_SECRET: 'x'.repeat(32) };
const witness = cosignerFromSeed('witness.example', Buffer.alloc(32, 7));
const logSigner = signerFromSeed('tokenledger.local/ledger', Buffer.alloc(32, 9));
const logKey = verifierKey(logSigner.name, logSigner.publicKey);

describe('ledger config: witnesses, quorum, trusted keys', () => {
  it('defaults to no witnesses, quorum 0 and no extra trusted keys', () => {
    const config = loadConfig('ledger', ledgerConfigSchema, env);
    expect(config.LEDGER_WITNESSES).toEqual([]);
    expect(config.LEDGER_WITNESS_QUORUM).toBe(0);
    expect(config.LEDGER_TRUSTED_KEYS).toEqual([]);
  });

  it('parses <vkey>@<url> witnesses, with a default quorum of 1', () => {
    const config = loadConfig('ledger', ledgerConfigSchema, {
      ...env,
      LEDGER_WITNESSES: `${witness.verifierKey}@http://127.0.0.1:4005/`,
    });
    expect(config.LEDGER_WITNESSES).toHaveLength(1);
    expect(config.LEDGER_WITNESSES[0]?.url).toBe('http://127.0.0.1:4005/');
    expect(config.LEDGER_WITNESSES[0]?.verifier.name).toBe('witness.example');
    expect(config.LEDGER_WITNESS_QUORUM).toBe(1);
  });

  it('refuses a quorum larger than the witness list, a bad key and a missing URL', () => {
    const run = (extra: Record<string, string>) => () =>
      loadConfig('ledger', ledgerConfigSchema, { ...env, ...extra });
    expect(run({ LEDGER_WITNESS_QUORUM: '1' })).toThrow(/LEDGER_WITNESS_QUORUM: is 1 but/);
    expect(run({ LEDGER_WITNESSES: 'nope@http://x/' })).toThrow(/LEDGER_WITNESSES: entry 1/);
    expect(run({ LEDGER_WITNESSES: witness.verifierKey })).toThrow(ConfigError);
    // A log key is not a witness key (type 0x01, not 0x04).
    expect(run({ LEDGER_WITNESSES: `${logKey}@http://x/` })).toThrow(/LEDGER_WITNESSES/);
  });

  it('parses trusted keys, a retired one with its retirement time', () => {
    const config = loadConfig('ledger', ledgerConfigSchema, {
      ...env,
      LEDGER_TRUSTED_KEYS: `${logKey}, ${logKey};retired=2026-11-30T12:00:00Z`,
    });
    expect(config.LEDGER_TRUSTED_KEYS.map((k) => k.retiredAt)).toEqual([
      undefined,
      Date.parse('2026-11-30T12:00:00Z') / 1000,
    ]);
    expect(() =>
      loadConfig('ledger', ledgerConfigSchema, {
        ...env,
        LEDGER_TRUSTED_KEYS: `${logKey};retired=yesterday`,
      }),
    ).toThrow(/LEDGER_TRUSTED_KEYS: entry 1: unknown option/);
  });
});

describe('ledger config: LEDGER_TILES_PUBLIC', () => {
  it('defaults to tiles behind ledger:read, and reads true/false strictly', () => {
    expect(loadConfig('ledger', ledgerConfigSchema, env).LEDGER_TILES_PUBLIC).toBe(false);
    const tiles = (value: string) =>
      loadConfig('ledger', ledgerConfigSchema, { ...env, LEDGER_TILES_PUBLIC: value })
        .LEDGER_TILES_PUBLIC;
    expect(tiles('true')).toBe(true);
    expect(tiles('false')).toBe(false);
    expect(() => tiles('yes please')).toThrow(/LEDGER_TILES_PUBLIC/);
  });
});
