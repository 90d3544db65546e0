import 'reflect-metadata';
import { exitOnBootError, loadConfig, runService } from '@tokenledger/service-host';
import { AppModule } from './app.module';
import { anomalyConfigSchema } from './config';

async function main(): Promise<void> {
  const config = loadConfig('anomaly', anomalyConfigSchema);
  await runService({
    name: 'anomaly',
    description: 'Watches token usage and lifecycle events, raises findings and requests revocation where policy says so.',
    config,
    appModule: AppModule.forRoot(config),
  });
}

main().catch(exitOnBootError);
