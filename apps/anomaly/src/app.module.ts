import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceHostModule } from '@tokenledger/service-host';
import type { AnomalyConfig } from './config';
import { migrations } from './migrations';

@Module({})
export class AppModule {
  static forRoot(config: AnomalyConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ServiceHostModule.forRoot({
          name: 'anomaly',
          config,
          migrations,
          auth: { internalSecret: config.TOKENLEDGER_INTERNAL_SECRET, authenticator: { revocationUrl: config.REVOCATION_URL } },
        }),
      ],
    };
  }
}
