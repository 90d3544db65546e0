import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { TOPICS } from '@tokenledger/contracts';
import { KafkaConnection } from '@tokenledger/messaging-nest';
import { MetricsService } from '@tokenledger/service-host';
import { DomainError } from '@tokenledger/errors';
import { PinoLogger } from 'nestjs-pino';
import { RevocationService } from '../services/revocation.service';

/**
 * Carries out `token.revoke-requested` commands (e.g. from anomaly rules) as `token.revoked`,
 * caused by the command (causationid) and in its correlation. Revoking is idempotent, so a
 * redelivered command changes nothing.
 */
@Injectable()
export class CommandsConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly kafka: KafkaConnection,
    private readonly revocation: RevocationService,
    private readonly metrics: MetricsService,
    private readonly logger: PinoLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.kafka.startConsumer({
      name: 'commands',
      topics: [TOPICS.commands],
      onLag: (topic, partition, lag) => this.metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
      handle: async (events) => {
        for (const { event } of events) {
          if (event.type !== 'tokenledger.token.revoke-requested.v1') continue;
          const meta = { actor: event.data.requester, correlationid: event.correlationid, causationid: event.id, requestId: event.id };
          try {
            if (event.data.tokenId) {
              await this.revocation.revoke(event.data.tokenId, event.data.reason, meta);
            } else if (event.data.selector) {
              const { ownerId, label, scope, issuedBefore } = event.data.selector;
              await this.revocation.revokeMatching(
                { ...(ownerId ? { ownerId } : {}), ...(label ? { label } : {}), ...(scope ? { scope } : {}), ...(issuedBefore ? { issuedBefore } : {}) },
                event.data.reason,
                false,
                meta,
              );
            }
          } catch (error) {
            if (!(error instanceof DomainError) || error.code !== 'token_not_found') throw error;
            this.logger.warn({ commandId: event.id }, 'revoke-requested for an unknown token; ignored');
          }
        }
      },
    });
  }
}
