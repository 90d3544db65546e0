import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceHostModule } from '@tokenledger/service-host';
import type { LedgerConfig } from './config';
import { IngestConsumer, IngestSettings } from './consumers/ingest.consumer';
import { LedgerController } from './controllers/ledger.controller';
import { ReplaysController } from './controllers/replays.controller';
import { LedgerRepository } from './repositories/ledger.repository';
import { ReplayRepository } from './repositories/replay.repository';
import { AppenderService } from './services/appender.service';
import { CheckpointerService } from './services/checkpointer.service';
import { ProofService } from './services/proof.service';
import { ReplayService } from './services/replay.service';
import { SigningKeyService } from './services/signing-key.service';
import { VerifierService } from './services/verifier.service';

@Module({})
export class AppModule {
  static forRoot(config: LedgerConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ServiceHostModule.forRoot({
          name: 'ledger',
          config,
          auth: {
            internalSecret: config.TOKENLEDGER_INTERNAL_SECRET,
            authenticator: { revocationUrl: config.REVOCATION_URL },
          },
        }),
      ],
      controllers: [LedgerController, ReplaysController, IngestConsumer],
      providers: [
        LedgerRepository,
        ReplayRepository,
        AppenderService,
        ProofService,
        SigningKeyService,
        CheckpointerService,
        VerifierService,
        ReplayService,
        IngestSettings,
      ],
    };
  }
}
