import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, OwnerScoped, RequireScopes, type Principal } from '@tokenledger/auth';
import type { RevocationReason } from '@tokenledger/contracts';
import { ApiRoute, parseInput } from '@tokenledger/service-host';
import type { FastifyRequest } from 'fastify';
import { RevocationService, type LeakResult } from '../services/revocation.service';
import {
  bulkResultSchema,
  bulkSchema,
  emptySchema,
  leakResultsSchema,
  leaksSchema,
  revokeOneSchema,
  revokedSchema,
  rfc7009Schema,
  tokenIdParam,
} from './schemas';

@ApiTags('revocation')
@ApiBearerAuth()
@Controller('v1')
export class RevocationController {
  constructor(private readonly revocation: RevocationService) {}

  @Post('tokens/:tokenId/revoke')
  @HttpCode(200)
  @RequireScopes('tokens:revoke')
  @OwnerScoped()
  @ApiRoute({
    summary: 'Revoke one token by its tokenId (idempotent).',
    params: { tokenId: tokenIdParam },
    body: revokeOneSchema,
    response: { description: 'Revoked, or inactive already.', schema: revokedSchema },
    errors: {
      403: 'The token holds scopes the caller lacks, or is root/admin (insufficient_scope)',
      404: 'No such token (token_not_found)',
      503: 'Issuance did not answer (issuance_busy, issuance_unavailable)',
    },
  })
  revoke(
    @Param('tokenId') tokenId: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Req() req: FastifyRequest,
  ) {
    const { reason } = parseInput(revokeOneSchema, body ?? {});
    return this.revocation.revoke(
      parseInput(tokenIdParam, tokenId, 'tokenId'),
      reason as RevocationReason,
      {
        actor: principal.actor,
        ...(req.id ? { requestId: req.id } : {}),
      },
      principal,
    );
  }

  @Post('revoke')
  @HttpCode(200)
  @RequireScopes('tokens:revoke')
  @OwnerScoped()
  @ApiRoute({
    summary: 'RFC 7009 token revocation: 200 whether or not the token was known.',
    form: rfc7009Schema,
    response: { description: 'Done (or nothing to do).', schema: emptySchema },
    errors: { 503: 'Issuance did not answer' },
    oauth: true,
  })
  async revokePresented(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Record<string, never>> {
    const { token } = parseInput(rfc7009Schema, body);
    await this.revocation.revokePresented(token, { actor: principal.actor }, principal);
    return {};
  }

  @Post('revocations')
  @HttpCode(200)
  @RequireScopes('tokens:revoke')
  @OwnerScoped()
  @ApiRoute({
    summary: 'Bulk revocation by selector (kill switch); dryRun counts without revoking.',
    body: bulkSchema,
    response: { description: 'What matched and what was revoked.', schema: bulkResultSchema },
  })
  bulk(@Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    const { selector, reason, dryRun } = parseInput(bulkSchema, body);
    const [key = '', ...rest] = selector.label?.split('=') ?? [];
    return this.revocation.revokeMatching(
      {
        ...(selector.ownerId ? { ownerId: selector.ownerId } : {}),
        ...(selector.label ? { label: { key, value: rest.join('=') } } : {}),
        ...(selector.scope ? { scope: selector.scope } : {}),
        ...(selector.issuedBefore ? { issuedBefore: selector.issuedBefore } : {}),
      },
      reason as RevocationReason,
      dryRun,
      { actor: principal.actor },
      principal,
    );
  }

  @Post('leaks')
  @HttpCode(200)
  @RequireScopes('leaks:report')
  @ApiRoute({
    summary:
      'Leak reports in the GitHub secret-scanning partner format; live tokens are revoked (reason leaked).',
    body: leaksSchema,
    response: { description: 'One result per reported secret.', schema: leakResultsSchema },
    errors: { 503: 'Issuance did not answer' },
  })
  async leaks(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ results: LeakResult[] }> {
    const items = parseInput(leaksSchema, body);
    return { results: await this.revocation.reportLeaks(items, { actor: principal.actor }) };
  }
}
