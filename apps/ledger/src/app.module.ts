import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceHostModule } from '@tokenledger/service-host';
import type { LedgerConfig } from './config';
import { IngestConsumer, IngestSettings } from './consumers/ingest.consumer';
import { LedgerController } from './controllers/ledger.controller';
import { ReplaysController } from './controllers/replays.controller';
import { PublicTilesController, TilesController } from './controllers/tiles.controller';
import { LedgerRepository } from './repositories/ledger.repository';
import { CosignatureRepository } from './repositories/cosignature.repository';
import { ReplayRepository } from './repositories/replay.repository';
import { SigningKeyRepository } from './repositories/signing-key.repository';
import { AppenderService } from './services/appender.service';
import { CheckpointerService } from './services/checkpointer.service';
import { LogAssignment } from './services/log-assignment';
import { ProofService } from './services/proof.service';
import { BundleService } from './services/bundle.service';
import { ReplayService } from './services/replay.service';
import { SigningGuard } from './services/signing-guard.service';
import { SigningKeyService } from './services/signing-key.service';
import { TilesService } from './services/tiles.service';
import { VerifierService } from './services/verifier.service';
import { WitnessingService } from './services/witnessing.service';

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
      controllers: [
        LedgerController,
        ReplaysController,
        IngestConsumer,
        config.LEDGER_TILES_PUBLIC ? PublicTilesController : TilesController,
      ],
      providers: [
        LedgerRepository,
        ReplayRepository,
        CosignatureRepository,
        SigningKeyRepository,
        AppenderService,
        ProofService,
        BundleService,
        SigningKeyService,
        SigningGuard,
        WitnessingService,
        CheckpointerService,
        VerifierService,
        ReplayService,
        TilesService,
        IngestSettings,
        LogAssignment,
      ],
    };
  }
}
