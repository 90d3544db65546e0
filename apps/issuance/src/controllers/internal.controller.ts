import { Body, Controller, HttpCode, NotFoundException, Post, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { InternalSecretGuard, Public } from '@tokenledger/auth';
import { parseInput } from '@tokenledger/service-host';
import { isWellFormed } from '@tokenledger/token-core';
import { IssuanceService } from '../services/issuance.service';
import { resolveSchema } from './schemas';

/**
 * Service-to-service: the revocation app (the status authority) resolves a presented token to
 * its tokenId here, because only issuance holds the pepper and the hashes. Not a public API.
 */
@ApiExcludeController()
@Public()
@UseGuards(InternalSecretGuard)
@Controller('internal/v1/credentials')
export class InternalController {
  constructor(private readonly issuance: IssuanceService) {}

  @Post('resolve')
  @HttpCode(200)
  async resolve(@Body() body: unknown): Promise<{ tokenId: string }> {
    const { token } = parseInput(resolveSchema, body);
    const tokenId = isWellFormed(token) ? await this.issuance.resolve(token) : undefined;
    if (!tokenId) throw new NotFoundException('unknown token');
    return { tokenId };
  }
}
