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
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import {
  CurrentPrincipal,
  OwnerScoped,
  RequireScopes,
  ownerReach,
  type Principal,
} from '@tokenledger/auth';
import { ApiRoute, BodyLimit, parseInput } from '@tokenledger/service-host';
import { DomainError } from '@tokenledger/errors';
import { z } from 'zod';
import { RULE_NAMES, ruleUpdateSchema, type RuleConfig, type RuleName } from '../domain/rules';
import type { AnomalyView } from '../repositories/anomaly.repository';
import type { RotationOwnerRow } from '../domain/rotation';
import { toCsv, type SprawlRow } from '../domain/sprawl';
import { AnomalyService } from '../services/anomaly.service';
import { RebuildService } from '../services/rebuild.service';
import { SprawlService } from '../services/sprawl.service';
import {
  acceptedSchema,
  anomalyListSchema,
  anomalySchema,
  rebuildSchema,
  ruleSchema,
  rulesSchema,
  sprawlSchema,
} from './responses';

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
  // No DPoP facts (dpopJkt, dpop-invalid): only introspection checks proofs (unknown keys are a 400).
  rejection: z.enum(['revoked', 'expired', 'unknown', 'insufficient-scope']).optional(),
  at: z.iso.datetime({ offset: true }).optional(),
});
/** The documented maximum of one `POST /v1/usage` batch. */
export const USAGE_BATCH_MAX_EVENTS = 1000;
/**
 * The body limit of `POST /v1/usage`: 1000 events of up to 1 KiB each on average (a typical
 * event is about 250 bytes; the global HTTP_BODY_LIMIT of 64 KiB held about 300 of them).
 */
export const USAGE_BODY_LIMIT = 1024 * 1024;
export const usageBatchSchema = z.strictObject({
  events: z.array(usageEvent).min(1).max(USAGE_BATCH_MAX_EVENTS),
});

const idParam = z.uuid();
const ruleParam = z.enum(RULE_NAMES);
const sprawlQuery = z.strictObject({ format: z.enum(['json', 'csv']).default('json') });

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
  @ApiRoute({
    summary: 'Anomalies found, newest first, paged by cursor.',
    query: listQuery,
    response: { description: 'One page of anomalies.', schema: anomalyListSchema },
    errors: { 400: 'Invalid query or cursor' },
  })
  @OwnerScoped()
  async list(
    @Query() query: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ anomalies: AnomalyView[]; cursor: string | null }> {
    const q = parseInput(listQuery, query, 'query');
    return this.anomalies.list(q, ownerReach(principal.scopes, 'anomalies:read'));
  }

  @Get('anomalies/:id')
  @RequireScopes('anomalies:read')
  @ApiRoute({
    summary: 'One anomaly.',
    params: { id: idParam },
    response: { description: 'The anomaly.', schema: anomalySchema },
    errors: { 404: 'No such anomaly' },
  })
  @OwnerScoped()
  async get(
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<AnomalyView> {
    const found = await this.anomalies.get(
      parseInput(idParam, id, 'id'),
      ownerReach(principal.scopes, 'anomalies:read'),
    );
    if (!found) throw new NotFoundException(`no anomaly ${id}`);
    return found;
  }

  @Get('anomaly-rules')
  @RequireScopes('anomalies:read')
  @ApiRoute({
    summary: 'The detection rules and their configuration.',
    response: { description: 'Every rule.', schema: rulesSchema },
  })
  async rules(): Promise<{ rules: RuleConfig[] }> {
    return { rules: await this.anomalies.rules() };
  }

  @Put('anomaly-rules/:rule')
  @RequireScopes('policies:write')
  @ApiRoute({
    summary: 'Change a rule (enabled, severity, action, params); recorded in ops.audit.',
    params: { rule: ruleParam },
    body: ruleUpdateSchema,
    response: { description: 'The rule as it now is.', schema: ruleSchema },
    errors: { 400: "Invalid body, or params that do not fit the rule's schema (invalid_params)" },
  })
  async updateRule(
    @Param('rule') rule: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<RuleConfig> {
    const name: RuleName = parseInput(ruleParam, rule, 'rule');
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
  @ApiRoute({
    summary:
      'Token sprawl: owner, age, last use, never used, past the maximum age, unrotated (format=json|csv); JSON also lists, per owner, the tokens due and overdue under the rotation policy.',
    query: sprawlQuery,
    response: { description: 'The report (format=json).', schema: sprawlSchema },
    otherResponses: [
      { status: 200, description: 'The report (format=csv).', contentType: 'text/csv' },
    ],
  })
  async sprawl(
    @Query() query: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ tokens: SprawlRow[]; rotation: RotationOwnerRow[] } | string> {
    const { format } = parseInput(sprawlQuery, query, 'query');
    const rows = await this.sprawlService.report();
    if (format === 'json')
      return { tokens: rows, rotation: await this.sprawlService.rotationReport() };
    void reply.header('content-type', 'text/csv; charset=utf-8');
    return toCsv(rows);
  }

  @Post('admin/rebuild')
  @HttpCode(200)
  @RequireScopes('admin')
  @ApiRoute({
    summary:
      'Drop and rebuild detector state, findings and inventory from the topics (no events re-emitted).',
    response: { description: 'What was replayed and found.', schema: rebuildSchema },
  })
  rebuild(
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ replayId: string; events: number; findings: number }> {
    return this.rebuilder.rebuild(principal);
  }

  @Post('usage')
  @BodyLimit(USAGE_BODY_LIMIT)
  @HttpCode(202)
  @RequireScopes('usage:report')
  @ApiRoute({
    summary:
      'Usage intake for services that do not speak Kafka: published as token.used events. At most 1000 events and 1 MiB per request.',
    body: usageBatchSchema,
    response: { status: 202, description: 'Published.', schema: acceptedSchema },
    errors: { 400: 'Invalid body (bad_usage)' },
  })
  async usage(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ accepted: number }> {
    const { events } = parseInput(usageBatchSchema, body);
    return { accepted: await this.anomalies.reportUsage(events, principal) };
  }
}
