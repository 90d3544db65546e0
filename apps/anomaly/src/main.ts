import 'reflect-metadata';
import { serviceMain } from '@tokenledger/service-host';
import { AppModule } from './app.module';
import { migrations } from './migrations';
import { grants } from './migrations/grants';
import { anomalyConfigSchema, type AnomalyConfig } from './config';

serviceMain<AnomalyConfig>({
  name: 'anomaly',
  description:
    'Watches token usage and lifecycle events, raises findings and requests revocation where policy says so.',
  configSchema: anomalyConfigSchema,
  database: { migrations, grants },
  appModule: (config) => AppModule.forRoot(config),
  domainStatus: { bad_usage: 400, bad_cursor: 400, invalid_params: 400, webhook_not_found: 404 },
});
