import 'reflect-metadata';
import { serviceMain } from '@tokenledger/service-host';
import { AppModule } from './app.module';
import { issuanceConfigSchema, type IssuanceConfig } from './config';

serviceMain<IssuanceConfig>({
  name: 'issuance',
  description: 'Issues API tokens (only their HMAC is stored), applies issuance policy, rotates tokens.',
  configSchema: issuanceConfigSchema,
  appModule: (config) => AppModule.forRoot(config),
});
