import { ConfigError, loadWitnessConfig } from './config';
import { TestLog } from './test-support/log';

const log = new TestLog('example.test/log', 1);
const good = {
  WITNESS_NAME: 'witness.test/w1',
  WITNESS_STATE_DIR: '/var/lib/witness',
  WITNESS_LOGS: JSON.stringify([{ origin: 'example.test/log', keys: [log.verifierKey] }]),
};

const problems = (env: NodeJS.ProcessEnv): readonly string[] => {
  try {
    loadWitnessConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('loadWitnessConfig', () => {
  it('parses the environment with defaults', () => {
    const c = loadWitnessConfig(good);
    expect(c).toMatchObject({
      name: 'witness.test/w1',
      host: '127.0.0.1',
      port: 7380,
      stateDir: '/var/lib/witness',
      seedFile: '/var/lib/witness/witness.seed',
      bodyLimit: 65536,
    });
    expect(c.logs.map((l) => [l.origin, l.verifiers.map((v) => v.name)])).toEqual([
      ['example.test/log', ['example.test/log']],
    ]);
  });

  it('names every problem at once', () => {
    expect(
      problems({
        WITNESS_NAME: 'bad name',
        WITNESS_PORT: '70000',
        WITNESS_LOGS: JSON.stringify([{ origin: 'a', keys: [] }]),
      }),
    ).toEqual([
      'WITNESS_NAME: must be a key name (no spaces, no "+")',
      expect.stringMatching(/^WITNESS_PORT: /),
      expect.stringMatching(/^WITNESS_STATE_DIR: /),
      'WITNESS_LOGS[0].keys: needs at least one verifier key',
    ]);
  });

  it('names a bad or duplicated log key', () => {
    const logs = [
      { origin: 'example.test/log', keys: [log.verifierKey, 'nope'] },
      { origin: 'example.test/log', keys: [log.verifierKey] },
    ];
    expect(problems({ ...good, WITNESS_LOGS: JSON.stringify(logs) })).toEqual([
      expect.stringMatching(/^WITNESS_LOGS\[0\]\.keys\[1\]: malformed-key: /),
      'WITNESS_LOGS[1].origin: example.test/log is configured twice',
    ]);
    expect(problems({ ...good, WITNESS_LOGS: '[' })).toContain(
      'WITNESS_LOGS: must be a JSON array of {"origin" or "originPrefix", "keys"}',
    );
  });

  it('takes an origin prefix (every origin <prefix><name> is a log), ending in "/"', () => {
    const c = loadWitnessConfig({
      ...good,
      WITNESS_LOGS: JSON.stringify([
        { origin: 'example.test/log', keys: [log.verifierKey] },
        { originPrefix: 'example.test/ledger/', keys: [log.verifierKey] },
      ]),
    });
    expect(c.logs.map((l) => [l.origin, l.prefix ?? false])).toEqual([
      ['example.test/log', false],
      ['example.test/ledger/', true],
    ]);
    const bad = [
      { originPrefix: 'example.test/ledger', keys: [log.verifierKey] },
      { origin: 'example.test/a', originPrefix: 'example.test/b/', keys: [log.verifierKey] },
      { keys: [log.verifierKey] },
      { originPrefix: 'example.test/ledger/', keys: [log.verifierKey] },
      { originPrefix: 'example.test/ledger/', keys: [log.verifierKey] },
    ];
    expect(problems({ ...good, WITNESS_LOGS: JSON.stringify(bad) })).toEqual([
      'WITNESS_LOGS[0].originPrefix: must end with "/"',
      'WITNESS_LOGS[1]: needs exactly one of "origin" and "originPrefix"',
      'WITNESS_LOGS[2]: needs exactly one of "origin" and "originPrefix"',
    ]);
    expect(problems({ ...good, WITNESS_LOGS: JSON.stringify(bad.slice(3)) })).toEqual([
      'WITNESS_LOGS[1].originPrefix: example.test/ledger/ is configured twice',
    ]);
  });

  it('never echoes the seed', () => {
    const secret = 'c2VjcmV0LXNlZWQtdmFsdWU=';
    const found = problems({ ...good, WITNESS_SEED: secret, WITNESS_NAME: '' });
    expect(found.length).toBeGreaterThan(0);
    expect(found.join('\n')).not.toContain(secret);
  });
});
