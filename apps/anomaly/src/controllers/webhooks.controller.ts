import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '@tokenledger/auth';
import { openApiSchema, parseInput } from '@tokenledger/service-host';
import { z } from 'zod';
import { RULE_NAMES } from '../domain/rules';
import { SECRET_PATTERN, WEBHOOK_EVENT_TYPES } from '../domain/webhooks';
import type { DeliveryView, WebhookView } from '../repositories/webhook.repository';
import { WebhookService } from '../services/webhook.service';

export const createWebhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  /** Optional: a `whsec_` secret of your own; otherwise one is generated. */
  secret: z
    .string()
    .regex(SECRET_PATTERN, 'expected whsec_ followed by base64 of 24 to 64 bytes')
    .optional(),
  format: z.enum(['standard', 'slack']).default('standard'),
  filter: z
    .strictObject({
      eventTypes: z.array(z.enum(WEBHOOK_EVENT_TYPES)).max(50).default([]),
      rules: z.array(z.enum(RULE_NAMES)).max(50).default([]),
      severities: z
        .array(z.enum(['low', 'medium', 'high', 'critical']))
        .max(4)
        .default([]),
      owners: z
        .array(z.string().regex(/^[a-z]+:.{1,256}$/, 'expected an owner type:id'))
        .max(100)
        .default([]),
    })
    .default({ eventTypes: [], rules: [], severities: [], owners: [] }),
  description: z.string().min(1).max(256).optional(),
});

const deliveriesQuery = z.strictObject({
  status: z.enum(['pending', 'delivered', 'dead-lettered', 'cancelled']).optional(),
  cursor: z.string().max(256).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhookService) {}

  @Post()
  @HttpCode(201)
  @RequireScopes('webhooks:write')
  @ApiBody({ schema: openApiSchema(createWebhookSchema) })
  @ApiOperation({
    summary:
      'Subscribe a URL to events (filter by event types, rules, severities, owners). The secret is returned in this answer only.',
  })
  create(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<WebhookView & { secret: string }> {
    const input = parseInput(createWebhookSchema, body);
    return this.webhooks.create(
      {
        url: input.url,
        format: input.format,
        filter: input.filter,
        ...(input.secret ? { secret: input.secret } : {}),
        ...(input.description ? { description: input.description } : {}),
      },
      principal,
    );
  }

  @Get()
  @RequireScopes('webhooks:read')
  async list(): Promise<{ webhooks: WebhookView[] }> {
    return { webhooks: await this.webhooks.list() };
  }

  @Get(':id')
  @RequireScopes('webhooks:read')
  get(@Param('id') id: string): Promise<WebhookView> {
    return this.webhooks.get(parseInput(z.uuid(), id, 'id'));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScopes('webhooks:write')
  @ApiOperation({ summary: 'Unsubscribe; pending deliveries are cancelled, the record stays.' })
  async delete(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<void> {
    await this.webhooks.delete(parseInput(z.uuid(), id, 'id'), principal);
  }

  @Get(':id/deliveries')
  @RequireScopes('webhooks:read')
  @ApiOperation({
    summary: 'Deliveries with every attempt; status dead-lettered once the retry window is over.',
  })
  deliveries(
    @Param('id') id: string,
    @Query() query: unknown,
  ): Promise<{ deliveries: DeliveryView[]; cursor: string | null }> {
    const webhookId = parseInput(z.uuid(), id, 'id');
    const q = parseInput(deliveriesQuery, query, 'query');
    return this.webhooks.deliveries(webhookId, {
      limit: q.limit,
      ...(q.status ? { status: q.status } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
  }
}
