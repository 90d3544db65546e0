import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceHostModule } from '@tokenledger/service-host';
import type { IssuanceConfig } from './config';
import { migrations } from './migrations';

@Module({})
export class AppModule {
  static forRoot(config: IssuanceConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ServiceHostModule.forRoot({ name: 'issuance', config, migrations })],
    };
  }
}
