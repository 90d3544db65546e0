import 'reflect-metadata';
import { exitOnBootError, loadConfig, runService } from '@tokenledger/service-host';
import { AppModule } from './app.module';
import { issuanceConfigSchema } from './config';

async function main(): Promise<void> {
  const config = loadConfig('issuance', issuanceConfigSchema);
  await runService({
    name: 'issuance',
    description: 'Issues API tokens (only their HMAC is stored), applies issuance policy, rotates tokens.',
    config,
    appModule: AppModule.forRoot(config),
  });
}

main().catch(exitOnBootError);
