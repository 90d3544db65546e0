import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Public, RequireScopes } from '@tokenledger/auth';
import { isLogId } from '@tokenledger/ledger-core';
import { ApiRoute, parseInput } from '@tokenledger/service-host';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { TilesService } from '../services/tiles.service';

const logIdParam = z.string().refine(isLogId, 'expected <topic>-<partition>');

/** Full tiles never change; partial tiles and the checkpoint do (docs/design/tiles.md). */
export const TILE_CACHE = {
  immutable: 'max-age=31536000, immutable',
  mutable: 'no-cache',
} as const;

/**
 * `/v1/ledger/tiles/{logId}/`: every log as C2SP tlog-tiles. Needs `ledger:read`;
 * {@link PublicTilesController} serves the same routes without a token (LEDGER_TILES_PUBLIC).
 * Headers are set only on success: an error is answered as JSON.
 */
@ApiTags('ledger')
@ApiBearerAuth()
@Controller('v1/ledger/tiles')
export class TilesController {
  /** `public` lets shared caches (a CDN) keep the tiles: only when they are public. */
  protected readonly visibility: 'public' | 'private' = 'private';

  constructor(private readonly tiles: TilesService) {}

  @Get(':logId/checkpoint')
  @RequireScopes('ledger:read')
  @ApiRoute({
    summary:
      'C2SP tlog-tiles checkpoint: the latest signed checkpoint with the witnesses’ cosignatures, as /v1/ledger/logs/{logId}/checkpoint.',
    params: { logId: logIdParam },
    response: { description: 'The signed note.', contentType: 'text/plain' },
    errors: { 404: 'No such log, or no checkpoint yet' },
  })
  async checkpoint(
    @Param('logId') logId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const note = await this.tiles.checkpoint(parseInput(logIdParam, logId, 'logId'));
    void reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('cache-control', `${this.visibility}, ${TILE_CACHE.mutable}`);
    return note;
  }

  @Get(':logId/tile/*')
  @RequireScopes('ledger:read')
  @ApiRoute({
    summary:
      'C2SP tlog-tiles hash tile tile/<L>/<N>[.p/<W>] or entry bundle tile/entries/<N>[.p/<W>] of the tree of the latest checkpoint. Full tiles are immutable.',
    params: { logId: logIdParam, '*': z.string() },
    response: { description: 'The tile.', contentType: 'application/octet-stream' },
    errors: { 404: 'No such log, or a tile beyond the tree (tile_not_found)' },
  })
  async tile(
    @Param('logId') logId: string,
    @Param('*') rest: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    const id = parseInput(logIdParam, logId, 'logId');
    const { bytes, immutable } = await this.tiles.tile(id, `tile/${rest ?? ''}`);
    void reply
      .header('content-type', 'application/octet-stream')
      .header(
        'cache-control',
        `${this.visibility}, ${immutable ? TILE_CACHE.immutable : TILE_CACHE.mutable}`,
      );
    return bytes;
  }
}

/** The same routes, open to anyone (LEDGER_TILES_PUBLIC=true), cacheable by shared caches. */
@Public()
@Controller('v1/ledger/tiles')
export class PublicTilesController extends TilesController {
  protected override readonly visibility = 'public';
}
