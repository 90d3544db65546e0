import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceHostModule } from '@tokenledger/service-host';
import type { RevocationConfig } from './config';
import { migrations } from './migrations';

@Module({})
export class AppModule {
  static forRoot(config: RevocationConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ServiceHostModule.forRoot({ name: 'revocation', config, migrations })],
    };
  }
}
