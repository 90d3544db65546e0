import 'reflect-metadata';
import { exitOnBootError, loadConfig, runService } from '@tokenledger/service-host';
import { AppModule } from './app.module';
import { ledgerConfigSchema } from './config';

async function main(): Promise<void> {
  const config = loadConfig('ledger', ledgerConfigSchema);
  await runService({
    name: 'ledger',
    description: 'The verifiable audit ledger: hash-chained Merkle logs per partition, signed checkpoints, proofs and exports.',
    config,
    appModule: AppModule.forRoot(config),
  });
}

main().catch(exitOnBootError);
