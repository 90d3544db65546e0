import {
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, OwnerScoped, RequireScopes, type Principal } from '@tokenledger/auth';
import { ownerReach } from '@tokenledger/token-core';
import { openApiSchema, parseInput } from '@tokenledger/service-host';
import { IssuanceService, type IssuedToken } from '../services/issuance.service';
import type { TokenView } from '../repositories/tokens.repository';
import { issueTokenSchema, listQuerySchema, rotateSchema, tokenIdParam } from './schemas';

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('v1/tokens')
export class TokensController {
  constructor(private readonly issuance: IssuanceService) {}

  @Post()
  @HttpCode(201)
  @RequireScopes('tokens:issue')
  @ApiOperation({
    summary:
      'Issue a token. The plaintext is in this response only; it is never stored or shown again.',
  })
  @ApiBody({ schema: openApiSchema(issueTokenSchema) })
  @OwnerScoped()
  issue(@Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<IssuedToken> {
    return this.issuance.issueAdmitted(parseInput(issueTokenSchema, body), principal);
  }

  @Get()
  @RequireScopes('tokens:read')
  @OwnerScoped()
  @ApiOperation({
    summary: 'List token metadata (never secrets or hashes), ordered by tokenId, paged by cursor.',
  })
  async list(
    @Query() query: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ tokens: TokenView[]; cursor: string | null }> {
    const q = parseInput(listQuerySchema, query, 'query');
    const [key = '', ...rest] = q.label?.split('=') ?? [];
    const tokens = await this.issuance.list(
      {
        limit: q.limit,
        ...(q.ownerId ? { ownerId: q.ownerId } : {}),
        ...(q.label ? { label: { key, value: rest.join('=') } } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.cursor ? { after: q.cursor } : {}),
      },
      ownerReach(principal.scopes, 'tokens:read'),
    );
    const last = tokens.length === q.limit ? tokens[tokens.length - 1] : undefined;
    return { tokens, cursor: last?.tokenId ?? null };
  }

  @Get(':tokenId')
  @RequireScopes('tokens:read')
  @OwnerScoped()
  async get(
    @Param('tokenId') tokenId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TokenView> {
    const token = await this.issuance.get(
      parseInput(tokenIdParam, tokenId, 'tokenId'),
      ownerReach(principal.scopes, 'tokens:read'),
    );
    if (!token) throw new NotFoundException(`no token ${tokenId}`);
    return token;
  }

  @Post(':tokenId/rotate')
  @HttpCode(201)
  @RequireScopes('tokens:issue')
  @OwnerScoped()
  @ApiOperation({
    summary:
      'Issue a replacement; the old token stays active for graceSeconds, then is revoked (reason rotated).',
  })
  @ApiBody({ schema: openApiSchema(rotateSchema) })
  rotate(
    @Param('tokenId') tokenId: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<IssuedToken & { rotatedFrom: string; graceEndsAt: string }> {
    const { graceSeconds } = parseInput(rotateSchema, body ?? {});
    return this.issuance.rotate(
      parseInput(tokenIdParam, tokenId, 'tokenId'),
      graceSeconds,
      principal,
    );
  }
}
