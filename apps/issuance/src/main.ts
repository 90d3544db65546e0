import 'reflect-metadata';
import { serviceMain } from '@tokenledger/service-host';
import { AppModule } from './app.module';
import { migrations } from './migrations';
import { grants } from './migrations/grants';
import { issuanceConfigSchema, type IssuanceConfig } from './config';

serviceMain<IssuanceConfig>({
  name: 'issuance',
  description:
    'Issues API tokens (only their HMAC is stored), applies issuance policy, rotates tokens.',
  configSchema: issuanceConfigSchema,
  database: { migrations, grants },
  appModule: (config) => AppModule.forRoot(config),
  domainStatus: {
    token_not_found: 404,
    owner_not_found: 404,
    token_inactive: 409,
    token_already_rotated: 409,
    policy_violation: 422,
    invalid_expiry: 400,
    bad_cursor: 400,
    token_exists: 409,
    overloaded: 503,
  },
});
