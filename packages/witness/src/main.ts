#!/usr/bin/env node
// tokenledger-witness: runs a C2SP tlog-witness with the configuration from the environment.
import { ConfigError, loadWitnessConfig } from './config';
import { jsonLogger } from './log';
import { startWitness } from './start';

const log = jsonLogger();

async function main(): Promise<void> {
  const config = loadWitnessConfig();
  const witness = await startWitness(config, log);
  const stop = (signal: string): void => {
    log('info', 'stopping', { signal });
    witness.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    log('error', 'invalid configuration', { problems: err.problems });
  } else {
    log('error', 'witness failed to start', {
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
  }
  process.exit(1);
});
