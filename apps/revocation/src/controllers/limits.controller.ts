import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '@tokenledger/auth';
import { creditsSchema, rateLimitSchema } from '@tokenledger/contracts';
import { ApiRoute, parseInput } from '@tokenledger/service-host';
import { z } from 'zod';
import { LimitsService, type LimitsView } from '../services/limits.service';
import { tokenIdParam } from './schemas';

export const limitsUpdateSchema = z
  .strictObject({
    rateLimit: rateLimitSchema.nullable().optional(),
    credits: creditsSchema.nullable().optional(),
  })
  .refine((u) => u.rateLimit !== undefined || u.credits !== undefined, {
    message: 'expected rateLimit or credits (null removes one)',
  });

/** The answer of both routes (checked against real answers in e2e/src/openapi.e2e-spec.ts). */
export const limitsViewSchema = z.object({
  tokenId: z.uuid(),
  rateLimit: rateLimitSchema.nullable(),
  credits: creditsSchema.nullable(),
  changedAt: z.string().nullable(),
});

@ApiTags('limits')
@ApiBearerAuth()
@Controller('v1/tokens/:tokenId/limits')
export class LimitsController {
  constructor(private readonly limits: LimitsService) {}

  @Get()
  @RequireScopes('tokens:read')
  @ApiRoute({
    summary: "A token's rate limit and credits (remaining now).",
    params: { tokenId: tokenIdParam },
    response: { description: 'The limits (null: none).', schema: limitsViewSchema },
    errors: { 404: 'No such token (token_not_found)' },
  })
  get(@Param('tokenId') tokenId: string): Promise<LimitsView> {
    return this.limits.get(parseInput(tokenIdParam, tokenId, 'tokenId'));
  }

  @Put()
  @RequireScopes('policies:write')
  @ApiRoute({
    summary:
      'Set or reset rate limit and credits (null removes one); recorded as token.limits-changed.',
    params: { tokenId: tokenIdParam },
    body: limitsUpdateSchema,
    response: { description: 'The limits now.', schema: limitsViewSchema },
    errors: { 404: 'No such token (token_not_found)' },
  })
  put(
    @Param('tokenId') tokenId: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<LimitsView> {
    const id = parseInput(tokenIdParam, tokenId, 'tokenId');
    const update = parseInput(limitsUpdateSchema, body);
    return this.limits.put(
      id,
      {
        ...(update.rateLimit !== undefined ? { rateLimit: update.rateLimit } : {}),
        ...(update.credits !== undefined ? { credits: update.credits } : {}),
      },
      principal,
    );
  }
}
