// pairWitnessWithLedger on a real file system: keys made once, pins that follow the keys.
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cosignerFromSeed, signerFromSeed, verifierKey } from '@tokenledger/ledger-core';
import { loadWitnessConfig } from './config';
import { pairWitnessWithLedger, type PairOptions } from './pair';

let dir: string;
let options: PairOptions;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'witness-pair-'));
  options = {
    ledgerOrigin: 'ledger.test/ledger',
    ledgerKeyFile: join(dir, 'ledger', 'ledger-signing-key'),
    ledgerWitnessesFile: join(dir, 'ledger', 'witnesses'),
    witnessName: 'witness.test/w1',
    witnessSeedFile: join(dir, 'witness', 'witness.seed'),
    witnessConfigFile: join(dir, 'witness', 'witness.json'),
    witnessUrl: 'http://witness.test:4005/',
  };
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const seedOf = async (file: string): Promise<Buffer> =>
  Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');

describe('pairWitnessWithLedger', () => {
  it('makes both keys 0600 and pins the verifier key of each in the file the other reads', async () => {
    const pairing = await pairWitnessWithLedger(options);
    expect(pairing.created).toEqual(['ledger', 'witness']);
    for (const file of [
      options.ledgerKeyFile,
      options.witnessSeedFile,
      options.ledgerWitnessesFile,
      options.witnessConfigFile,
    ])
      expect([file, (await stat(file)).mode & 0o777]).toEqual([file, 0o600]);
    const ledgerSeed = await seedOf(options.ledgerKeyFile);
    const ledgerKey = verifierKey(
      'ledger.test/ledger',
      signerFromSeed('ledger.test/ledger', ledgerSeed).publicKey,
    );
    const witnessKey = cosignerFromSeed(
      'witness.test/w1',
      await seedOf(options.witnessSeedFile),
    ).verifierKey;
    expect(pairing).toMatchObject({
      ledgerVerifierKey: ledgerKey,
      witnessVerifierKey: witnessKey,
    });
    expect(await readFile(options.ledgerWitnessesFile, 'utf8')).toBe(
      `${witnessKey}@http://witness.test:4005/\n`,
    );
    // The witness's own configuration parser accepts the file and sees the ledger's logs.
    const config = loadWitnessConfig({
      WITNESS_CONFIG: options.witnessConfigFile,
      WITNESS_STATE_DIR: join(dir, 'witness'),
    });
    expect(config).toMatchObject({
      name: 'witness.test/w1',
      logs: [{ origin: 'ledger.test/ledger/', prefix: true }],
    });
    expect(config.logs[0]?.verifiers.map((v) => v.name)).toEqual(['ledger.test/ledger']);
  });

  it('never overwrites a key: a second run keeps both and writes the same pins', async () => {
    const first = await pairWitnessWithLedger(options);
    const pins = await readFile(options.ledgerWitnessesFile, 'utf8');
    const second = await pairWitnessWithLedger(options);
    expect(second).toEqual({ ...first, created: [] });
    expect(await readFile(options.ledgerWitnessesFile, 'utf8')).toBe(pins);
  });

  it('uses a ledger key that exists (made by an earlier ledger) and refuses one others may read', async () => {
    await mkdir(join(dir, 'ledger'));
    const seed = Buffer.alloc(32, 7);
    await writeFile(options.ledgerKeyFile, `${seed.toString('base64')}\n`, { mode: 0o600 });
    const pairing = await pairWitnessWithLedger(options);
    expect(pairing.created).toEqual(['witness']);
    expect(pairing.ledgerVerifierKey).toBe(
      verifierKey('ledger.test/ledger', signerFromSeed('ledger.test/ledger', seed).publicKey),
    );
    await chmod(options.witnessSeedFile, 0o644);
    await expect(pairWitnessWithLedger(options)).rejects.toThrow(/lets others read the key/);
  });
});
