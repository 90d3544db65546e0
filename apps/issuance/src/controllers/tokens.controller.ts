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
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, OwnerScoped, RequireScopes, type Principal } from '@tokenledger/auth';
import { DomainError } from '@tokenledger/errors';
import { ownerReach } from '@tokenledger/token-core';
import { ApiRoute, decodeCursor, encodeCursor, parseInput } from '@tokenledger/service-host';
import { IssuanceService, type IssuedToken } from '../services/issuance.service';
import type { TokenSort, TokenView } from '../repositories/tokens.repository';
import {
  issueTokenSchema,
  issuedTokenSchema,
  listQuerySchema,
  rotateSchema,
  rotatedTokenSchema,
  tokenIdParam,
  tokenListSchema,
  tokenViewSchema,
} from './schemas';

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('v1/tokens')
export class TokensController {
  constructor(private readonly issuance: IssuanceService) {}

  @Post()
  @HttpCode(201)
  @RequireScopes('tokens:issue')
  @ApiRoute({
    summary:
      'Issue a token. The plaintext is in this response only; it is never stored or shown again.',
    body: issueTokenSchema,
    response: { status: 201, description: 'The token, shown once.', schema: issuedTokenSchema },
    errors: {
      409: 'A token with this secret exists (token_exists)',
      422: 'Refused by the issuance policy (policy_violation)',
      503: 'Too many issuances in flight (overloaded; Retry-After)',
    },
  })
  @OwnerScoped()
  issue(@Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<IssuedToken> {
    return this.issuance.issueAdmitted(parseInput(issueTokenSchema, body), principal);
  }

  @Get()
  @RequireScopes('tokens:read')
  @OwnerScoped()
  @ApiRoute({
    summary:
      'Search token metadata (never secrets or hashes): owner, label, status, scope, name, prefix, expiry, last use, creator; sorted, paged by cursor.',
    query: listQuerySchema,
    response: { description: 'One page of tokens.', schema: tokenListSchema },
    errors: { 400: 'Invalid query or cursor (bad_cursor)' },
  })
  async list(
    @Query() query: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ tokens: TokenView[]; cursor: string | null }> {
    const q = parseInput(listQuerySchema, query, 'query');
    const [key = '', ...rest] = q.label?.split('=') ?? [];
    const descending = q.sort.startsWith('-');
    const sort = q.sort.replace(/^-/, '') as TokenSort;
    // The cursor names its order: a cursor of one sort is refused under another.
    const after = q.cursor ? decodeCursor(q.cursor, ['string', 'string', 'string']) : undefined;
    if (after && after[0] !== q.sort)
      throw new DomainError('bad_cursor', `cursor was made for sort=${after[0]}, not ${q.sort}`);
    const rows = await this.issuance.list(
      {
        limit: q.limit,
        sort,
        descending,
        ...(q.ownerId ? { ownerId: q.ownerId } : {}),
        ...(q.ownerType ? { ownerType: q.ownerType } : {}),
        ...(q.label ? { label: { key, value: rest.join('=') } } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.scope ? { scope: q.scope } : {}),
        ...(q.name ? { name: q.name } : {}),
        ...(q.prefix ? { prefix: q.prefix } : {}),
        ...(q.expiresBefore ? { expiresBefore: q.expiresBefore } : {}),
        ...(q.lastUsedBefore ? { lastUsedBefore: q.lastUsedBefore } : {}),
        ...(q.lastUsedAfter ? { lastUsedAfter: q.lastUsedAfter } : {}),
        ...(q.createdBy ? { createdBy: q.createdBy } : {}),
        ...(q.neverUsed !== undefined ? { neverUsed: q.neverUsed } : {}),
        ...(q.rotated !== undefined ? { rotated: q.rotated } : {}),
        ...(q.issuedBefore ? { issuedBefore: q.issuedBefore } : {}),
        ...(after ? { after: { key: after[1], tokenId: after[2] } } : {}),
      },
      ownerReach(principal.scopes, 'tokens:read'),
    );
    const last = rows.length === q.limit ? rows[rows.length - 1] : undefined;
    return {
      tokens: rows.map(({ sortKey: _key, ...view }) => view),
      cursor: last ? encodeCursor([q.sort, last.sortKey, last.tokenId]) : null,
    };
  }

  @Get(':tokenId')
  @RequireScopes('tokens:read')
  @ApiRoute({
    summary: "A token's metadata (never its secret or hash).",
    params: { tokenId: tokenIdParam },
    response: { description: 'The token.', schema: tokenViewSchema },
    errors: { 404: 'No such token' },
  })
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
  @ApiRoute({
    summary:
      'Issue a replacement; the old token stays active for graceSeconds, then is revoked (reason rotated).',
    params: { tokenId: tokenIdParam },
    body: rotateSchema,
    response: {
      status: 201,
      description: 'The replacement, shown once.',
      schema: rotatedTokenSchema,
    },
    errors: {
      404: 'No such token',
      409: 'The token is not active, or was rotated already',
      422: 'Refused by the issuance policy (policy_violation)',
      503: 'Too many issuances in flight (overloaded; Retry-After)',
    },
  })
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
