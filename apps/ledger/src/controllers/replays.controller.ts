import { Body, Controller, Get, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes, type Principal } from '@tokenledger/auth';
import { ApiRoute, parseInput } from '@tokenledger/service-host';
import { z } from 'zod';
import { ReplayService, type ReplayStatus } from '../services/replay.service';
import { replayStatusSchema } from './responses';

const idParam = z.uuid();

const topic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a Kafka topic name');
export const replaySchema = z
  .strictObject({
    logId: z
      .string()
      .regex(/^[A-Za-z0-9._-]+-\d+$/, 'expected <topic>-<partition>')
      .optional(),
    topic: topic.optional(),
    fromIndex: z.int().min(0).optional(),
    toIndex: z.int().min(0).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    types: z.array(z.string().min(1).max(128)).min(1).max(50).optional(),
    targetTopic: topic,
    ratePerSecond: z.number().positive().max(1_000_000).optional(),
  })
  .refine((r) => (r.logId === undefined) !== (r.topic === undefined), {
    message: 'give exactly one of logId and topic',
    path: ['logId'],
  })
  .refine((r) => r.fromIndex === undefined || r.toIndex === undefined || r.fromIndex < r.toIndex, {
    message: 'fromIndex must be below toIndex',
    path: ['toIndex'],
  });

@ApiTags('replays')
@ApiBearerAuth()
@Controller('v1/replays')
export class ReplaysController {
  constructor(private readonly replays: ReplayService) {}

  @Post()
  @HttpCode(202)
  @RequireScopes('replay:run')
  @ApiRoute({
    summary:
      'Republish recorded events (original bytes) to a target topic; progress at GET /v1/replays/{id}.',
    body: replaySchema,
    response: { status: 202, description: 'Started.', schema: replayStatusSchema },
    errors: { 404: 'No such log' },
  })
  start(@Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<ReplayStatus> {
    return this.replays.start(parseInput(replaySchema, body), principal);
  }

  @Get(':id')
  @RequireScopes('replay:run')
  @ApiRoute({
    summary: "A replay's progress.",
    params: { id: idParam },
    response: { description: 'Its status.', schema: replayStatusSchema },
    errors: { 404: 'No such replay' },
  })
  async get(@Param('id') id: string): Promise<ReplayStatus> {
    const status = await this.replays.get(parseInput(idParam, id, 'id'));
    if (!status) throw new NotFoundException(`no replay ${id}`);
    return status;
  }
}
