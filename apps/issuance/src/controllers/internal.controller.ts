import {
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { InternalSecretGuard, Public } from '@tokenledger/auth';
import { parseInput } from '@tokenledger/service-host';
import { isWellFormed } from '@tokenledger/token-core';
import type { Credits, RateLimit } from '@tokenledger/contracts';
import type { IssuedLimits, TokenView } from '../repositories/tokens.repository';
import { IssuanceService } from '../services/issuance.service';
import { resolveSchema, tokenIdParam } from './schemas';

/**
 * What the status authority needs of a token it has not yet seen on tokens.lifecycle: the fields
 * of its `token.issued` event and issuance's view of its status. Never the secret or its hash.
 */
export interface CredentialRecord {
  tokenId: string;
  prefix: string;
  owner: { type: string; id: string };
  scopes: string[];
  labels: Record<string, string>;
  issuedAt: string;
  expiresAt: string;
  dpopJkt?: string;
  /** The limits it was issued with, so that its first use is already limited. */
  rateLimit?: RateLimit;
  credits?: Credits;
  status: TokenView['status'];
}

function recordOf(view: TokenView & IssuedLimits): CredentialRecord {
  return {
    tokenId: view.tokenId,
    prefix: view.prefix,
    owner: view.owner,
    scopes: view.scopes,
    labels: view.labels,
    issuedAt: view.issuedAt,
    expiresAt: view.expiresAt,
    ...(view.dpopJkt ? { dpopJkt: view.dpopJkt } : {}),
    ...(view.rateLimit ? { rateLimit: view.rateLimit } : {}),
    ...(view.credits ? { credits: view.credits } : {}),
    status: view.status,
  };
}

/**
 * Service-to-service: the revocation app (the status authority) resolves a presented token to
 * its tokenId here, because only issuance holds the pepper and the hashes, and reads a token it
 * has not yet seen on Kafka (read-your-writes, docs/design/freshness.md). Not a public API.
 *
 * A token row is committed before its issuance response is sent, so a token that a client can
 * present is always found here.
 */
@ApiExcludeController()
@Public()
@UseGuards(InternalSecretGuard)
@Controller('internal/v1/credentials')
export class InternalController {
  constructor(private readonly issuance: IssuanceService) {}

  @Post('resolve')
  @HttpCode(200)
  async resolve(@Body() body: unknown): Promise<{ tokenId: string; record: CredentialRecord }> {
    const { token } = parseInput(resolveSchema, body);
    const tokenId = isWellFormed(token) ? await this.issuance.resolve(token) : undefined;
    const view = tokenId ? await this.issuance.credentialRecord(tokenId) : undefined;
    if (!tokenId || !view) throw new NotFoundException('unknown token');
    return { tokenId, record: recordOf(view) };
  }

  @Get('tokens/:tokenId')
  async token(@Param('tokenId') tokenId: string): Promise<CredentialRecord> {
    const view = await this.issuance.credentialRecord(parseInput(tokenIdParam, tokenId, 'tokenId'));
    if (!view) throw new NotFoundException('unknown token');
    return recordOf(view);
  }
}
