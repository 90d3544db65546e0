import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS } from '@tokenledger/contracts';
import type { ConsumedEvent } from '@tokenledger/messaging';
import type { BatchPatternExtras } from '@tokenledger/messaging-nest';
import { DomainError } from '@tokenledger/errors';
import { PinoLogger } from 'nestjs-pino';
import { RevocationService } from '../services/revocation.service';

/**
 * Carries out `token.revoke-requested` commands (e.g. from anomaly rules) as `token.revoked`,
 * caused by the command (causationid) and in its correlation. Revoking is idempotent, so a
 * redelivered command changes nothing.
 */
@Controller()
export class CommandsConsumer {
  constructor(
    private readonly revocation: RevocationService,
    private readonly logger: PinoLogger,
  ) {}

  @EventPattern(TOPICS.commands, { group: 'commands' } satisfies BatchPatternExtras)
  async handle(@Payload() events: ConsumedEvent[]): Promise<void> {
    for (const { event } of events) {
      if (event.type !== 'tokenledger.token.revoke-requested.v1') continue;
      const meta = {
        actor: event.data.requester,
        correlationid: event.correlationid,
        causationid: event.id,
        requestId: event.id,
      };
      try {
        if (event.data.tokenId) {
          await this.revocation.revoke(event.data.tokenId, event.data.reason, meta, 'system');
        } else if (event.data.selector) {
          const { ownerId, label, scope, issuedBefore } = event.data.selector;
          await this.revocation.revokeMatching(
            {
              ...(ownerId ? { ownerId } : {}),
              ...(label ? { label } : {}),
              ...(scope ? { scope } : {}),
              ...(issuedBefore ? { issuedBefore } : {}),
            },
            event.data.reason,
            false,
            meta,
            'system',
          );
        }
      } catch (error) {
        if (!(error instanceof DomainError) || error.code !== 'token_not_found') throw error;
        this.logger.warn({ commandId: event.id }, 'revoke-requested for an unknown token; ignored');
      }
    }
  }
}
