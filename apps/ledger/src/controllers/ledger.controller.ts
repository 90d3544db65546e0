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
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '@tokenledger/auth';
import { ApiRoute, decodeCursor, encodeCursor, parseInput } from '@tokenledger/service-host';
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
import {
  consistencySchema,
  entriesSchema,
  entrySchema,
  eventsSchema,
  inclusionSchema,
  keysSchema,
  logsSchema,
  timelineSchema,
  verifyAnswerSchema,
} from './responses';

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

const entriesQuery = z.strictObject({
  from: int().default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const inclusionQuery = z.strictObject({ index: int(), treeSize: int().optional() });
const consistencyQuery = z.strictObject({ from: int(), to: int().optional() });
const verifyBody = z.strictObject({ logId: logIdParam.optional() });
const exportQuery = z.strictObject({
  logId: logIdParam,
  from: int().default(0),
  to: int().optional(),
});
const tokenIdParam = z.uuid();
const NDJSON = 'application/x-ndjson';

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
  @ApiRoute({
    summary:
      'Checkpoint verifier keys (C2SP name+hash+base64); earlier keys stay listed as inactive.',
    response: { description: 'Every key.', schema: keysSchema },
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
  @ApiRoute({
    summary:
      'Every log with its head, its latest checkpoint size, the configured witnesses that cosigned it, and whether that meets LEDGER_WITNESS_QUORUM.',
    response: { description: 'Every log.', schema: logsSchema },
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
  @ApiRoute({
    summary:
      'The latest signed checkpoint (C2SP signed note), with the cosignature lines collected from the configured witnesses appended.',
    params: { logId: logIdParam },
    response: { description: 'The signed note.', contentType: 'text/plain' },
    errors: { 404: 'No such log (log_not_found), or no checkpoint yet (no_checkpoint)' },
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
  @ApiRoute({
    summary: 'One entry: its leaf bytes, leaf and chain hashes, and the parsed record.',
    params: { logId: logIdParam, index: int() },
    response: { description: 'The entry.', schema: entrySchema },
    errors: { 404: 'No such entry' },
  })
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
  @ApiRoute({
    summary: 'Entries [from, from + limit) of a log, in index order.',
    params: { logId: logIdParam },
    query: entriesQuery,
    response: { description: 'The entries.', schema: entriesSchema },
  })
  async entries(@Param('logId') logId: string, @Query() query: unknown) {
    const q = parseInput(entriesQuery, query, 'query');
    const rows = await this.repository.leaves(
      parseInput(logIdParam, logId, 'logId'),
      q.from,
      q.limit,
    );
    return { entries: rows.map(entryView) };
  }

  @Get('logs/:logId/proofs/inclusion')
  @RequireScopes('ledger:read')
  @ApiRoute({
    summary: 'RFC 9162 audit path (leaf to root) for any treeSize up to the current size.',
    params: { logId: logIdParam },
    query: inclusionQuery,
    response: { description: 'The audit path.', schema: inclusionSchema },
    errors: { 404: 'No such log' },
  })
  async inclusion(@Param('logId') logId: string, @Query() query: unknown) {
    const q = parseInput(inclusionQuery, query, 'query');
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
  @ApiRoute({
    summary: 'RFC 9162 consistency proof between two tree sizes (to: the current size).',
    params: { logId: logIdParam },
    query: consistencyQuery,
    response: { description: 'The proof.', schema: consistencySchema },
    errors: { 404: 'No such log' },
  })
  async consistency(@Param('logId') logId: string, @Query() query: unknown) {
    const q = parseInput(consistencyQuery, query, 'query');
    const p = await this.proofs.consistency(parseInput(logIdParam, logId, 'logId'), q.from, q.to);
    return { logId: p.logId, from: p.from, to: p.to, hashes: p.hashes.map(b64) };
  }

  @Get('events')
  @RequireScopes('ledger:read')
  @ApiRoute({
    summary: 'Recorded events by token, type, actor and time, each with its logId and index.',
    query: eventsQuery,
    response: { description: 'One page of entries.', schema: eventsSchema },
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
  @ApiRoute({
    summary:
      'Every recorded event of one token, in event-time order, with logId and index; pages with a cursor (limit 1-10000, default 1000).',
    params: { tokenId: tokenIdParam },
    query: timelineQuery,
    response: { description: 'The timeline (one page).', schema: timelineSchema },
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
  @ApiRoute({
    summary:
      "Recompute leaf hashes, chains and roots; check them against the stored checkpoints under the configured keys (LEDGER_TRUSTED_KEYS, never signing_keys) and against each witness's latest cosigned checkpoint.",
    body: verifyBody,
    response: {
      description: 'One report per log, verified one at a time.',
      schema: verifyAnswerSchema,
    },
    errors: { 404: 'No such log' },
  })
  async verify(@Body() body: unknown): Promise<VerifyAnswer> {
    const { logId } = parseInput(verifyBody, body ?? {});
    return logId ? this.verifier.verifyOne(logId) : this.verifier.verifyAll();
  }

  @Get('export')
  @RequireScopes('ledger:export')
  @ApiRoute({
    summary:
      'NDJSON range bundle (version 2): a signed checkpoint, the compact ranges of the prefix [0, from) and the suffix [to, checkpoint size), and entries [from, to) without per-entry proofs; streamed.',
    query: exportQuery,
    response: { description: 'The bundle, one JSON object a line.', contentType: NDJSON },
    errors: { 404: 'No such log, or no checkpoint yet' },
  })
  async export(@Query() query: unknown, @Res() reply: FastifyReply): Promise<void> {
    const q = parseInput(exportQuery, query, 'query');
    const lines = await this.bundles.range(q.logId, q.from, q.to);
    await reply.header('content-type', 'application/x-ndjson').send(Readable.from(lines));
  }

  @Get('tokens/:tokenId/evidence')
  @RequireScopes('ledger:read')
  @ApiRoute({
    summary:
      "NDJSON evidence of one token: every recorded event of it below its log's latest checkpoint, across logs, each with its inclusion proof, and those checkpoints (cosigned notes); streamed.",
    params: { tokenId: tokenIdParam },
    response: { description: 'The evidence, one JSON object a line.', contentType: NDJSON },
    errors: { 404: 'No event of the token is covered by a checkpoint yet (no_evidence)' },
  })
  async evidence(@Param('tokenId') tokenId: string, @Res() reply: FastifyReply): Promise<void> {
    const lines = await this.bundles.tokenEvidence(parseInput(tokenIdParam, tokenId, 'tokenId'));
    await reply.header('content-type', 'application/x-ndjson').send(Readable.from(lines));
  }
}
