import { Body, Controller, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Public, RequireScopes, type Principal } from '@tokenledger/auth';
import type { RevocationReason } from '@tokenledger/contracts';
import { openApiSchema, parseInput } from '@tokenledger/service-host';
import type { FastifyRequest } from 'fastify';
import { RevocationService, type LeakResult } from '../services/revocation.service';
import { LeakReportGuard, leakReporterOf } from './leak-report.guard';
import {
  bulkSchema,
  githubLeaksSchema,
  leaksSchema,
  revokeOneSchema,
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
  @ApiOperation({
    summary: 'Revoke one token by its tokenId (idempotent), with an optional comment for auditors.',
  })
  @ApiBody({ schema: openApiSchema(revokeOneSchema) })
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
    );
  }

  @Post('revoke')
  @HttpCode(200)
  @RequireScopes('tokens:revoke')
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiOperation({ summary: 'RFC 7009 token revocation: 200 whether or not the token was known.' })
  async revokePresented(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Record<string, never>> {
    const { token } = parseInput(rfc7009Schema, body);
    await this.revocation.revokePresented(token, { actor: principal.actor });
    return {};
  }

  @Post('revocations')
  @HttpCode(200)
  @RequireScopes('tokens:revoke')
  @ApiOperation({
    summary: 'Bulk revocation by selector (kill switch); dryRun counts without revoking.',
  })
  @ApiBody({ schema: openApiSchema(bulkSchema) })
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
    );
  }

  @Post('leaks')
  @HttpCode(200)
  @Public()
  @UseGuards(LeakReportGuard)
  @ApiHeader({ name: 'Github-Public-Key-Identifier', required: false })
  @ApiHeader({ name: 'Github-Public-Key-Signature', required: false })
  @ApiOperation({
    summary:
      'Leak reports in the GitHub secret-scanning partner format; live tokens are revoked (reason leaked). ' +
      'Either an operator token with leaks:report, or a GitHub partner delivery signed by a key of GITHUB_SECRET_SCANNING_KEYS.',
  })
  @ApiBody({ schema: openApiSchema(leaksSchema) })
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
