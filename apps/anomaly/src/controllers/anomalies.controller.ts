import {
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '@tokenledger/auth';
import { openApiSchema, parseInput } from '@tokenledger/service-host';
import { DomainError } from '@tokenledger/errors';
import { z } from 'zod';
import { RULE_NAMES, ruleUpdateSchema, type RuleConfig, type RuleName } from '../domain/rules';
import type { AnomalyView } from '../repositories/anomaly.repository';
import type { RotationOwnerRow } from '../domain/rotation';
import { toCsv, type SprawlRow } from '../domain/sprawl';
import { AnomalyService } from '../services/anomaly.service';
import { RebuildService } from '../services/rebuild.service';
import { SprawlService } from '../services/sprawl.service';

const listQuery = z.strictObject({
  tokenId: z.uuid().optional(),
  rule: z.enum(RULE_NAMES).optional(),
  severity: z.enum(['low', 'medium', 'high', 'critical']).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().max(256).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const usageEvent = z.strictObject({
  tokenId: z.uuid(),
  service: z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'expected 1-63 characters of [A-Za-z0-9._-]'),
  operation: z.string().min(1).max(256),
  ip: z.union([z.ipv4(), z.ipv6()]),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, 'expected an ISO 3166-1 alpha-2 code')
    .optional(),
  userAgent: z.string().max(512).optional(),
  scopesRequested: z.array(z.string().min(1).max(128)).max(100),
  outcome: z.enum(['accepted', 'rejected']),
  rejection: z
    .enum(['revoked', 'expired', 'unknown', 'insufficient-scope', 'dpop-invalid'])
    .optional(),
  dpopJkt: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/)
    .optional(),
  at: z.iso.datetime({ offset: true }).optional(),
});
export const usageBatchSchema = z.strictObject({ events: z.array(usageEvent).min(1).max(1000) });

@ApiTags('anomalies')
@ApiBearerAuth()
@Controller('v1')
export class AnomaliesController {
  constructor(
    private readonly anomalies: AnomalyService,
    private readonly sprawlService: SprawlService,
    private readonly rebuilder: RebuildService,
  ) {}

  @Get('anomalies')
  @RequireScopes('anomalies:read')
  async list(
    @Query() query: unknown,
  ): Promise<{ anomalies: AnomalyView[]; cursor: string | null }> {
    const q = parseInput(listQuery, query, 'query');
    return this.anomalies.list(q);
  }

  @Get('anomalies/:id')
  @RequireScopes('anomalies:read')
  async get(@Param('id') id: string): Promise<AnomalyView> {
    const found = await this.anomalies.get(parseInput(z.uuid(), id, 'id'));
    if (!found) throw new NotFoundException(`no anomaly ${id}`);
    return found;
  }

  @Get('anomaly-rules')
  @RequireScopes('anomalies:read')
  async rules(): Promise<{ rules: RuleConfig[] }> {
    return { rules: await this.anomalies.rules() };
  }

  @Put('anomaly-rules/:rule')
  @RequireScopes('policies:write')
  @ApiBody({ schema: openApiSchema(ruleUpdateSchema) })
  @ApiOperation({
    summary: 'Change a rule (enabled, severity, action, params); recorded in ops.audit.',
  })
  async updateRule(
    @Param('rule') rule: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<RuleConfig> {
    const name: RuleName = parseInput(z.enum(RULE_NAMES), rule, 'rule');
    const update = parseInput(ruleUpdateSchema, body);
    try {
      return await this.anomalies.updateRule(name, update, principal);
    } catch (error) {
      if (error instanceof z.ZodError)
        throw new DomainError(
          'invalid_params',
          `invalid params for ${name}: ${error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      throw error;
    }
  }

  @Get('reports/sprawl')
  @RequireScopes('anomalies:read')
  @ApiOperation({
    summary:
      'Token sprawl: owner, age, last use, never used, past the maximum age, unrotated (format=json|csv); JSON also lists, per owner, the tokens due and overdue under the rotation policy.',
  })
  async sprawl(
    @Query() query: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ tokens: SprawlRow[]; rotation: RotationOwnerRow[] } | string> {
    const { format } = parseInput(
      z.strictObject({ format: z.enum(['json', 'csv']).default('json') }),
      query,
      'query',
    );
    const rows = await this.sprawlService.report();
    if (format === 'json')
      return { tokens: rows, rotation: await this.sprawlService.rotationReport() };
    void reply.header('content-type', 'text/csv; charset=utf-8');
    return toCsv(rows);
  }

  @Post('admin/rebuild')
  @HttpCode(200)
  @RequireScopes('admin')
  @ApiOperation({
    summary:
      'Drop and rebuild detector state, findings and inventory from the topics (no events re-emitted).',
  })
  rebuild(
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ replayId: string; events: number; findings: number }> {
    return this.rebuilder.rebuild(principal);
  }

  @Post('usage')
  @HttpCode(202)
  @RequireScopes('usage:report')
  @ApiBody({ schema: openApiSchema(usageBatchSchema) })
  @ApiOperation({
    summary: 'Usage intake for services that do not speak Kafka: published as token.used events.',
  })
  async usage(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ accepted: number }> {
    const { events } = parseInput(usageBatchSchema, body);
    return { accepted: await this.anomalies.reportUsage(events, principal) };
  }
}
