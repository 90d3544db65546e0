import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { OperatorAuthGuard, TokenAuthenticator } from '@tokenledger/auth';
import { ServiceHostModule } from '@tokenledger/service-host';
import type { RevocationConfig } from './config';
import { CommandsConsumer } from './consumers/commands.consumer';
import { LifecycleConsumer } from './consumers/lifecycle.consumer';
import { AdminController } from './controllers/admin.controller';
import { BaselineController } from './controllers/baseline.controller';
import { IntrospectionController } from './controllers/introspection.controller';
import { LimitsController } from './controllers/limits.controller';
import { RevocationController } from './controllers/revocation.controller';
import { DpopJtiRepository } from './repositories/dpop-jti.repository';
import { LimitsRepository } from './repositories/limits.repository';
import { StatusRepository } from './repositories/status.repository';
import { CredentialResolver } from './services/credential-resolver';
import { DpopReplayStore } from './services/dpop-replay-store';
import { IntrospectionService } from './services/introspection.service';
import { IssuanceClient } from './services/issuance-client';
import { LimitsService } from './services/limits.service';
import { LocalAuthenticator } from './services/local-authenticator';
import { RevocationService } from './services/revocation.service';
import { RebuildService } from './services/rebuild.service';
import { StatusCache } from './services/status-cache';
import { StatusProjection } from './services/status-projection';
import { StatusSource } from './services/status-source';
import { UsageReporter } from './services/usage-reporter';

@Module({})
export class AppModule {
  static forRoot(config: RevocationConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ServiceHostModule.forRoot({
          name: 'revocation',
          config,
          auth: { internalSecret: config.TOKENLEDGER_INTERNAL_SECRET, authenticator: 'local' },
          // Every introspection answer is a token.used event; the benchmark's baseline route
          // takes the same pipeline.
          quietRoutes: ['v1/introspect', 'v1/bench/baseline'],
        }),
      ],
      controllers: [
        RevocationController,
        IntrospectionController,
        LimitsController,
        AdminController,
        LifecycleConsumer,
        CommandsConsumer,
        ...(config.BENCH_BASELINE_ROUTE ? [BaselineController] : []),
      ],
      providers: [
        StatusRepository,
        DpopJtiRepository,
        LimitsRepository,
        LimitsService,
        IssuanceClient,
        StatusSource,
        StatusCache,
        CredentialResolver,
        DpopReplayStore,
        UsageReporter,
        IntrospectionService,
        RevocationService,
        LocalAuthenticator,
        StatusProjection,
        RebuildService,
        { provide: TokenAuthenticator, useExisting: LocalAuthenticator },
        { provide: APP_GUARD, useClass: OperatorAuthGuard },
      ],
    };
  }
}
