import {
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  type SchemaObject,
} from '@nestjs/swagger';
import { RequireScopes } from '@tokenledger/auth';
import { decodeCursor, encodeCursor, parseInput } from '@tokenledger/service-host';
import { DomainError } from '@tokenledger/errors';
import { isLogId, parseLeaf } from '@tokenledger/ledger-core';
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { LedgerRepository, type LeafRow } from '../repositories/ledger.repository';
import { CheckpointerService } from '../services/checkpointer.service';
import { BundleService } from '../services/bundle.service';
import { ProofService } from '../services/proof.service';
import { SigningGuard } from '../services/signing-guard.service';
import { WitnessingService } from '../services/witnessing.service';
import { VerifierService, type VerifyAnswer } from '../services/verifier.service';

const b64 = (b: Buffer): string => b.toString('base64');
const int = (max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(0).max(max);
const logIdParam = z.string().refine(isLogId, 'expected <topic>-<partition>');

function entryView(row: LeafRow): Record<string, unknown> {
  const parsed = parseLeaf(row.leaf);
  return {
    logId: row.logId,
    index: row.index,
    leaf: b64(row.leaf),
    leafHash: b64(row.leafHash),
    chainHash: b64(row.chainHash),
    // null when the stored bytes are not a leaf (tampered): /v1/ledger/verify says where.
    record: parsed.ok ? parsed.leaf : null,
  };
}

/** OpenAPI schema of the `/v1/ledger/verify` answer (VerifyAnswer). */
const VERIFY_ANSWER_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['ok', 'logs', 'unreachableWitnesses'],
  properties: {
    ok: { type: 'boolean', description: 'every log verified' },
    unreachableWitnesses: {
      type: 'array',
      items: { type: 'string' },
      description: 'witnesses that could not be asked, or answered something invalid, for some log',
    },
    logs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['logId', 'ok', 'size', 'checkpointsChecked', 'witnesses'],
        properties: {
          logId: { type: 'string' },
          ok: { type: 'boolean' },
          size: { type: 'integer', description: 'the stored head size' },
          checkpointsChecked: { type: 'integer' },
          witnessedSize: {
            type: 'integer',
            description: 'largest checkpoint a configured witness cosigned (verified)',
          },
          error: {
            type: 'object',
            required: ['code', 'index', 'message'],
            properties: {
              code: {
                type: 'string',
                enum: [
                  'missing-leaf',
                  'leaf-hash-mismatch',
                  'chain-mismatch',
                  'bad-hash-length',
                  'checkpoint-failed',
                  'checkpoint-root-mismatch',
                  'truncated',
                  'head-root-mismatch',
                  'witnessed-root-mismatch',
                ],
              },
              index: {
                type: 'integer',
                description: 'first index the stored log cannot vouch for',
              },
              message: { type: 'string' },
            },
          },
          witnesses: {
            type: 'array',
            items: {
              type: 'object',
              required: ['witness', 'status'],
              properties: {
                witness: { type: 'string' },
                status: { type: 'string', enum: ['ok', 'none', 'unreachable', 'invalid'] },
                size: { type: 'integer' },
                message: { type: 'string' },
              },
            },
          },
        },
      },
    },
  },
};

const eventsQuery = z.strictObject({
  tokenId: z.string().min(1).max(128).optional(),
  type: z.string().min(1).max(128).optional(),
  actor: z.string().min(1).max(256).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().max(256).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const timelineQuery = z.strictObject({
  cursor: z.string().max(256).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

/** Where the page after `cursor` starts: the event-time sort key of the last row seen. */
function afterCursor(cursor: string): { time: string; logId: string; index: number } {
  const [time, logId, index] = decodeCursor(cursor, ['string', 'string', 'integer']);
  return { time, logId, index };
}

/** The cursor of the next page, or null when this page was the last (shorter than the limit). */
function nextCursor(rows: Array<LeafRow & { eventTime: string }>, limit: number): string | null {
  const last = rows.length === limit ? rows[rows.length - 1] : undefined;
  return last ? encodeCursor([last.eventTime, last.logId, last.index]) : null;
}

@ApiTags('ledger')
@ApiBearerAuth()
@Controller('v1/ledger')
export class LedgerController {
  constructor(
    private readonly repository: LedgerRepository,
    private readonly proofs: ProofService,
    private readonly checkpointer: CheckpointerService,
    private readonly verifier: VerifierService,
    private readonly witnessing: WitnessingService,
    private readonly guard: SigningGuard,
    private readonly bundles: BundleService,
  ) {}

  @Get('keys')
  @RequireScopes('ledger:read')
  @ApiOperation({
    summary:
      'Checkpoint verifier keys (C2SP name+hash+base64); earlier keys stay listed as inactive.',
  })
  async keys() {
    const keys = await this.repository.keys();
    return {
      keys: keys.map((k) => ({
        name: k.name,
        verifierKey: k.verifierKey,
        algorithm: 'ed25519',
        active: k.active,
        retiredAt: k.retiredAt?.toISOString() ?? null,
      })),
    };
  }

  @Get('logs')
  @RequireScopes('ledger:read')
  @ApiOperation({
    summary:
      'Every log with its head, its latest checkpoint size, the configured witnesses that cosigned it, and whether that meets LEDGER_WITNESS_QUORUM.',
  })
  async logs() {
    const heads = await this.repository.heads();
    const logs = [];
    for (const h of heads) {
      const cp = await this.repository.latestCheckpoint(h.logId);
      const cosigned = cp ? await this.witnessing.cosigned(cp) : undefined;
      logs.push({
        logId: h.logId,
        origin: this.checkpointer.origin(h.logId),
        topic: h.topic,
        partition: h.partition,
        size: h.size,
        rootHash: b64(h.rootHash),
        checkpointSize: cp?.size ?? null,
        cosigners: cosigned?.cosigners ?? 0,
        witnessed: cosigned?.witnessed ?? false,
        signingHalted: this.guard.isHalted(h.logId),
      });
    }
    return { logs };
  }

  @Get('logs/:logId/checkpoint')
  @RequireScopes('ledger:read')
  @ApiOperation({
    summary:
      'The latest signed checkpoint (C2SP signed note), with the cosignature lines collected from the configured witnesses appended.',
  })
  async checkpoint(
    @Param('logId') logId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const id = parseInput(logIdParam, logId, 'logId');
    const cp = await this.repository.latestCheckpoint(id);
    if (!cp) {
      if (!(await this.repository.head(id))) throw new DomainError('log_not_found', `no log ${id}`);
      throw new DomainError(
        'no_checkpoint',
        `log ${id} has no signed checkpoint yet (it is empty, or its first checkpoint is not signed yet)`,
      );
    }
    // Set here, not with @Header: an error must still be answered as JSON.
    void reply.header('content-type', 'text/plain; charset=utf-8');
    return (await this.witnessing.cosigned(cp)).note;
  }

  @Get('logs/:logId/entries/:index')
  @RequireScopes('ledger:read')
  async entry(@Param('logId') logId: string, @Param('index') index: string) {
    const [row] = await this.repository.leaves(
      parseInput(logIdParam, logId, 'logId'),
      parseInput(int(), index, 'index'),
      1,
    );
    if (!row || row.index !== Number(index))
      throw new NotFoundException(`no entry ${index} in ${logId}`);
    return entryView(row);
  }

  @Get('logs/:logId/entries')
  @RequireScopes('ledger:read')
  async entries(@Param('logId') logId: string, @Query() query: unknown) {
    const q = parseInput(
      z.strictObject({
        from: int().default(0),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      query,
      'query',
    );
    const rows = await this.repository.leaves(
      parseInput(logIdParam, logId, 'logId'),
      q.from,
      q.limit,
    );
    return { entries: rows.map(entryView) };
  }

  @Get('logs/:logId/proofs/inclusion')
  @RequireScopes('ledger:read')
  @ApiOperation({
    summary: 'RFC 9162 audit path (leaf to root) for any treeSize up to the current size.',
  })
  async inclusion(@Param('logId') logId: string, @Query() query: unknown) {
    const q = parseInput(
      z.strictObject({ index: int(), treeSize: int().optional() }),
      query,
      'query',
    );
    const p = await this.proofs.inclusion(
      parseInput(logIdParam, logId, 'logId'),
      q.index,
      q.treeSize,
    );
    return {
      logId: p.logId,
      index: p.index,
      treeSize: p.treeSize,
      leafHash: b64(p.leafHash),
      rootHash: b64(p.rootHash),
      hashes: p.hashes.map(b64),
    };
  }

  @Get('logs/:logId/proofs/consistency')
  @RequireScopes('ledger:read')
  async consistency(@Param('logId') logId: string, @Query() query: unknown) {
    const q = parseInput(z.strictObject({ from: int(), to: int().optional() }), query, 'query');
    const p = await this.proofs.consistency(parseInput(logIdParam, logId, 'logId'), q.from, q.to);
    return { logId: p.logId, from: p.from, to: p.to, hashes: p.hashes.map(b64) };
  }

  @Get('events')
  @RequireScopes('ledger:read')
  @ApiOperation({
    summary: 'Recorded events by token, type, actor and time, each with its logId and index.',
  })
  async events(@Query() query: unknown) {
    const q = parseInput(eventsQuery, query, 'query');
    const after = q.cursor ? afterCursor(q.cursor) : undefined;
    const rows = await this.repository.findEvents({
      limit: q.limit,
      ...(q.tokenId ? { subject: q.tokenId } : {}),
      ...(q.type ? { type: q.type } : {}),
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.since ? { since: q.since } : {}),
      ...(q.until ? { until: q.until } : {}),
      ...(after ? { after } : {}),
    });
    return { entries: rows.map(entryView), cursor: nextCursor(rows, q.limit) };
  }

  @Get('tokens/:tokenId/timeline')
  @RequireScopes('ledger:read')
  @ApiOperation({
    summary:
      'Every recorded event of one token, in event-time order, with logId and index; pages with a cursor (limit 1-10000, default 1000).',
  })
  async timeline(@Param('tokenId') tokenId: string, @Query() query: unknown) {
    const subject = parseInput(z.uuid(), tokenId, 'tokenId');
    const q = parseInput(timelineQuery, query, 'query');
    const after = q.cursor ? afterCursor(q.cursor) : undefined;
    const rows = await this.repository.findEvents({
      subject,
      limit: q.limit,
      ...(after ? { after } : {}),
    });
    return { tokenId, entries: rows.map(entryView), cursor: nextCursor(rows, q.limit) };
  }

  @Post('verify')
  @HttpCode(200)
  @RequireScopes('ledger:read')
  @ApiOperation({
    summary:
      "Recompute leaf hashes, chains and roots; check them against the stored checkpoints under the configured keys (LEDGER_TRUSTED_KEYS, never signing_keys) and against each witness's latest cosigned checkpoint.",
  })
  @ApiOkResponse({
    description: 'One report per log, verified one at a time.',
    schema: VERIFY_ANSWER_SCHEMA,
  })
  async verify(@Body() body: unknown): Promise<VerifyAnswer> {
    const { logId } = parseInput(z.strictObject({ logId: logIdParam.optional() }), body ?? {});
    return logId ? this.verifier.verifyOne(logId) : this.verifier.verifyAll();
  }

  @Get('export')
  @RequireScopes('ledger:export')
  @ApiOperation({
    summary:
      'NDJSON range bundle (version 2): a signed checkpoint, the compact ranges of the prefix [0, from) and the suffix [to, checkpoint size), and entries [from, to) without per-entry proofs; streamed.',
  })
  async export(@Query() query: unknown, @Res() reply: FastifyReply): Promise<void> {
    const q = parseInput(
      z.strictObject({ logId: logIdParam, from: int().default(0), to: int().optional() }),
      query,
      'query',
    );
    const lines = await this.bundles.range(q.logId, q.from, q.to);
    await reply.header('content-type', 'application/x-ndjson').send(Readable.from(lines));
  }

  @Get('tokens/:tokenId/evidence')
  @RequireScopes('ledger:read')
  @ApiOperation({
    summary:
      "NDJSON evidence of one token: every recorded event of it below its log's latest checkpoint, across logs, each with its inclusion proof, and those checkpoints (cosigned notes); streamed. 404 no_evidence when none is covered by a checkpoint yet.",
  })
  async evidence(@Param('tokenId') tokenId: string, @Res() reply: FastifyReply): Promise<void> {
    const lines = await this.bundles.tokenEvidence(parseInput(z.uuid(), tokenId, 'tokenId'));
    await reply.header('content-type', 'application/x-ndjson').send(Readable.from(lines));
  }
}
