import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceHostModule } from '@tokenledger/service-host';
import type { AnomalyConfig } from './config';
import { DetectorConsumer } from './consumers/detector.consumer';
import { AnomaliesController } from './controllers/anomalies.controller';
import { WebhooksController } from './controllers/webhooks.controller';
import { AnomalyRepository } from './repositories/anomaly.repository';
import { InventoryRepository } from './repositories/inventory.repository';
import { WebhookRepository } from './repositories/webhook.repository';
import { AnomalyService } from './services/anomaly.service';
import { DetectionService } from './services/detection.service';
import { RebuildService } from './services/rebuild.service';
import { SprawlService } from './services/sprawl.service';
import { WebhookDispatcher } from './services/webhook-dispatcher.service';
import { WebhookService } from './services/webhook.service';

@Module({})
export class AppModule {
  static forRoot(config: AnomalyConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ServiceHostModule.forRoot({
          name: 'anomaly',
          config,
          auth: {
            internalSecret: config.TOKENLEDGER_INTERNAL_SECRET,
            authenticator: { revocationUrl: config.REVOCATION_URL },
          },
        }),
      ],
      controllers: [AnomaliesController, WebhooksController, DetectorConsumer],
      providers: [
        AnomalyRepository,
        InventoryRepository,
        DetectionService,
        AnomalyService,
        SprawlService,
        RebuildService,
        WebhookRepository,
        WebhookService,
        WebhookDispatcher,
      ],
    };
  }
}
