import 'reflect-metadata';
import { serviceMain } from '@tokenledger/service-host';
import { AppModule } from './app.module';
import { migrations } from './migrations';
import { grants } from './migrations/grants';
import { ledgerConfigSchema, type LedgerConfig } from './config';

serviceMain<LedgerConfig>({
  name: 'ledger',
  description:
    'The verifiable audit ledger: hash-chained Merkle logs per partition, signed checkpoints, proofs and exports.',
  configSchema: ledgerConfigSchema,
  database: { migrations, grants },
  appModule: (config) => AppModule.forRoot(config),
  domainStatus: {
    log_not_found: 404,
    no_checkpoint: 404,
    no_evidence: 404,
    bad_tree_size: 400,
    bad_index: 400,
    bad_range: 400,
    bad_cursor: 400,
    ledger_inconsistent: 500,
    bad_target: 400,
    bad_tile_path: 400,
    tile_not_found: 404,
  },
});
