import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceHostModule } from '@tokenledger/service-host';
import type { IssuanceConfig } from './config';
import { LifecycleConsumer } from './consumers/lifecycle.consumer';
import { LastUseFold, UsageConsumer } from './consumers/usage.consumer';
import { InternalController } from './controllers/internal.controller';
import { PoliciesController } from './controllers/policies.controller';
import { TokensController } from './controllers/tokens.controller';
import { PepperFingerprintRepository } from './repositories/pepper-fingerprint.repository';
import { TokensRepository } from './repositories/tokens.repository';
import { IssuanceService } from './services/issuance.service';
import { PepperCheckService } from './services/pepper-check.service';
import { RootTokenService } from './services/root-token.service';
import { SweeperService } from './services/sweeper.service';

@Module({})
export class AppModule {
  static forRoot(config: IssuanceConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ServiceHostModule.forRoot({
          name: 'issuance',
          config,
          auth: {
            internalSecret: config.TOKENLEDGER_INTERNAL_SECRET,
            authenticator: { revocationUrl: config.REVOCATION_URL },
          },
          // Every issuance is recorded as token.issued (or token.issuance-denied) with its actor;
          // the per-request logger was about 8% of the issuance's CPU (docs/design/issuance-performance.md).
          quietRoutes: [{ path: 'v1/tokens', method: 'POST' }],
        }),
      ],
      controllers: [
        TokensController,
        PoliciesController,
        InternalController,
        LifecycleConsumer,
        UsageConsumer,
      ],
      providers: [
        TokensRepository,
        PepperFingerprintRepository,
        PepperCheckService,
        IssuanceService,
        RootTokenService,
        SweeperService,
        LastUseFold,
      ],
    };
  }
}
