import 'reflect-metadata';
import { exitOnBootError, loadConfig, runService } from '@tokenledger/service-host';
import { AppModule } from './app.module';
import { revocationConfigSchema } from './config';

async function main(): Promise<void> {
  const config = loadConfig('revocation', revocationConfigSchema);
  await runService({
    name: 'revocation',
    description: 'The token status authority: revocation (RFC 7009, bulk, leak reports) and introspection (RFC 7662).',
    config,
    appModule: AppModule.forRoot(config),
  });
}

main().catch(exitOnBootError);
