import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '@tokenledger/auth';
import { ApiRoute, parseInput } from '@tokenledger/service-host';
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

// Answers, for the OpenAPI document (checked against real answers in e2e/src/openapi.e2e-spec.ts).
const webhookViewSchema = z.object({
  id: z.uuid(),
  url: z.string(),
  format: z.enum(['standard', 'slack']),
  filter: z.object({}).catchall(z.unknown()),
  description: z.string().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
});
const deliveryViewSchema = z.object({
  id: z.uuid(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(['pending', 'delivered', 'dead-lettered', 'cancelled']),
  attempts: z.array(z.object({}).catchall(z.unknown())),
  createdAt: z.string(),
  nextAttemptAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
const idParam = z.uuid();

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhookService) {}

  @Post()
  @HttpCode(201)
  @RequireScopes('webhooks:write')
  @ApiRoute({
    summary:
      'Subscribe a URL to events (filter by event types, rules, severities, owners). The secret is returned in this answer only.',
    body: createWebhookSchema,
    response: {
      status: 201,
      description: 'The subscription, with its secret (shown once).',
      schema: webhookViewSchema.extend({ secret: z.string() }),
    },
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
  @ApiRoute({
    summary: 'Every subscription (never its secret).',
    response: {
      description: 'The subscriptions.',
      schema: z.object({ webhooks: z.array(webhookViewSchema) }),
    },
  })
  async list(): Promise<{ webhooks: WebhookView[] }> {
    return { webhooks: await this.webhooks.list() };
  }

  @Get(':id')
  @RequireScopes('webhooks:read')
  @ApiRoute({
    summary: 'One subscription (never its secret).',
    params: { id: idParam },
    response: { description: 'The subscription.', schema: webhookViewSchema },
    errors: { 404: 'No such webhook' },
  })
  get(@Param('id') id: string): Promise<WebhookView> {
    return this.webhooks.get(parseInput(z.uuid(), id, 'id'));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScopes('webhooks:write')
  @ApiRoute({
    summary: 'Unsubscribe; pending deliveries are cancelled, the record stays.',
    params: { id: idParam },
    response: { status: 204, description: 'Deleted.' },
    errors: { 404: 'No such webhook' },
  })
  async delete(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<void> {
    await this.webhooks.delete(parseInput(z.uuid(), id, 'id'), principal);
  }

  @Get(':id/deliveries')
  @RequireScopes('webhooks:read')
  @ApiRoute({
    summary: 'Deliveries with every attempt; status dead-lettered once the retry window is over.',
    params: { id: idParam },
    query: deliveriesQuery,
    response: {
      description: 'One page of deliveries.',
      schema: z.object({ deliveries: z.array(deliveryViewSchema), cursor: z.string().nullable() }),
    },
    errors: { 404: 'No such webhook' },
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
