import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceHostModule } from '@tokenledger/service-host';
import type { LedgerConfig } from './config';
import { migrations } from './migrations';

@Module({})
export class AppModule {
  static forRoot(config: LedgerConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ServiceHostModule.forRoot({
          name: 'ledger',
          config,
          migrations,
          auth: { internalSecret: config.TOKENLEDGER_INTERNAL_SECRET, authenticator: { revocationUrl: config.REVOCATION_URL } },
        }),
      ],
    };
  }
}
