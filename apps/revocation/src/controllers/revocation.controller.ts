import { Body, Controller, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import {
  CurrentPrincipal,
  OwnerScoped,
  Public,
  RequireScopes,
  type Principal,
} from '@tokenledger/auth';
import type { RevocationReason } from '@tokenledger/contracts';
import { ApiRoute, parseInput } from '@tokenledger/service-host';
import type { FastifyRequest } from 'fastify';
import { RevocationService, type LeakResult } from '../services/revocation.service';
import { LeakReportGuard, leakReporterOf } from './leak-report.guard';
import {
  bulkResultSchema,
  bulkSchema,
  emptySchema,
  githubLeaksSchema,
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
    summary: 'Revoke one token by its tokenId (idempotent), with an optional comment for auditors.',
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
    const { reason, comment } = parseInput(revokeOneSchema, body ?? {});
    return this.revocation.revoke(
      parseInput(tokenIdParam, tokenId, 'tokenId'),
      reason as RevocationReason,
      {
        actor: principal.actor,
        ...(req.id ? { requestId: req.id } : {}),
        ...(comment ? { comment } : {}),
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
    const { selector, reason, dryRun, comment } = parseInput(bulkSchema, body);
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
      { actor: principal.actor, ...(comment ? { comment } : {}) },
      principal,
    );
  }

  @Post('leaks')
  @HttpCode(200)
  @Public()
  @UseGuards(LeakReportGuard)
  @ApiHeader({ name: 'Github-Public-Key-Identifier', required: false })
  @ApiHeader({ name: 'Github-Public-Key-Signature', required: false })
  @ApiRoute({
    summary:
      'Leak reports in the GitHub secret-scanning partner format; live tokens are revoked (reason leaked). ' +
      'Either an operator token with leaks:report, or a GitHub partner delivery signed by a key of GITHUB_SECRET_SCANNING_KEYS.',
    body: leaksSchema,
    response: { description: 'One result per reported secret.', schema: leakResultsSchema },
    errors: { 503: 'Issuance did not answer' },
  })
  async leaks(
    @Body() body: unknown,
    @Req() req: FastifyRequest,
  ): Promise<{ results: LeakResult[] }> {
    const reporter = leakReporterOf(req);
    if (reporter.kind === 'operator') {
      const items = parseInput(leaksSchema, body);
      return { results: await this.revocation.reportLeaks(items, { actor: reporter.actor }) };
    }
    // GitHub's own fields, as its partner program documents them; fields it may add are ignored.
    // The reporting source records where GitHub found it (github-content, github-commit, ...).
    const items = parseInput(githubLeaksSchema, body).map((item) => ({
      ...item,
      source: `github-${item.source ?? 'unknown'}`,
    }));
    return { results: await this.revocation.reportLeaks(items, { actor: reporter.actor }) };
  }
}
