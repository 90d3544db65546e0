import 'reflect-metadata';
import { serviceMain } from '@tokenledger/service-host';
import { AppModule } from './app.module';
import { ledgerConfigSchema, type LedgerConfig } from './config';

serviceMain<LedgerConfig>({
  name: 'ledger',
  description: 'The verifiable audit ledger: hash-chained Merkle logs per partition, signed checkpoints, proofs and exports.',
  configSchema: ledgerConfigSchema,
  appModule: (config) => AppModule.forRoot(config),
});
