// `node packages/witness/dist/pair-main.js`: pairs a local witness with the ledger (see pair.ts),
// for a one-shot job (docker-compose's `witness-keys`). Reads LEDGER_ORIGIN (default as the
// ledger's), LEDGER_SIGNING_KEY_FILE, LEDGER_WITNESSES_FILE, WITNESS_NAME, WITNESS_SEED_FILE,
// WITNESS_CONFIG and WITNESS_URL; logs verifier keys and file names, never a seed.
import { jsonLogger } from './log';
import { pairWitnessWithLedger, type PairOptions } from './pair';

const log = jsonLogger();

const REQUIRED = {
  ledgerKeyFile: 'LEDGER_SIGNING_KEY_FILE',
  ledgerWitnessesFile: 'LEDGER_WITNESSES_FILE',
  witnessName: 'WITNESS_NAME',
  witnessSeedFile: 'WITNESS_SEED_FILE',
  witnessConfigFile: 'WITNESS_CONFIG',
  witnessUrl: 'WITNESS_URL',
} as const;

function optionsFrom(env: NodeJS.ProcessEnv): PairOptions {
  const missing = Object.values(REQUIRED).filter((v) => !env[v]);
  if (missing.length > 0) throw new Error(`not set: ${missing.join(', ')}`);
  const value = (key: keyof typeof REQUIRED): string => env[REQUIRED[key]] ?? '';
  if (!URL.canParse(value('witnessUrl')))
    throw new Error('WITNESS_URL: must be the http(s) URL the ledger submits to');
  return {
    ledgerOrigin: env.LEDGER_ORIGIN || 'tokenledger.local/ledger',
    ledgerKeyFile: value('ledgerKeyFile'),
    ledgerWitnessesFile: value('ledgerWitnessesFile'),
    witnessName: value('witnessName'),
    witnessSeedFile: value('witnessSeedFile'),
    witnessConfigFile: value('witnessConfigFile'),
    witnessUrl: value('witnessUrl'),
  };
}

Promise.resolve()
  .then(() => pairWitnessWithLedger(optionsFrom(process.env)))
  .then(
    (pairing) => {
      for (const made of pairing.created)
        log('info', `created ${made} key`, {
          file: process.env[made === 'ledger' ? 'LEDGER_SIGNING_KEY_FILE' : 'WITNESS_SEED_FILE'],
        });
      log('info', 'witness paired with ledger', {
        ledgerVerifierKey: pairing.ledgerVerifierKey,
        witnessVerifierKey: pairing.witnessVerifierKey,
      });
    },
    (err: unknown) => {
      log('error', 'pairing failed', {
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
      process.exit(1);
    },
  );
