import { Injectable } from '@nestjs/common';
import { DomainError } from '@tokenledger/errors';
import {
  TileArgumentError,
  encodeEntryBundle,
  hashTile,
  parseTilePath,
  servedTile,
  tileNodes,
  tilePath,
} from '@tokenledger/ledger-core';
import { LedgerRepository, type CheckpointRow } from '../repositories/ledger.repository';
import { WitnessingService } from './witnessing.service';

/** A tile's bytes, and whether they may be cached forever (a full tile) or not (a partial one). */
export interface TileBody {
  bytes: Buffer;
  immutable: boolean;
}

/**
 * Each log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles), for the tree of its latest signed
 * checkpoint: the checkpoint (with the witnesses' cosignatures), hash tiles and entry bundles.
 * Guarantee: a full tile's bytes never change (the log is append-only and a checkpoint is only
 * signed for a tree that extends the last one), and a partial tile's bytes are a prefix of every
 * later version of that tile. Nothing beyond the latest checkpoint is served (no unsigned leaves).
 */
@Injectable()
export class TilesService {
  constructor(
    private readonly repository: LedgerRepository,
    private readonly witnessing: WitnessingService,
  ) {}

  /** The latest checkpoint as /v1/ledger/logs/{id}/checkpoint serves it (cosignatures appended). */
  async checkpoint(logId: string): Promise<string> {
    return (await this.witnessing.cosigned(await this.latest(logId))).note;
  }

  /** The resource at `path` below the log's tiles prefix (`tile/...`). */
  async tile(logId: string, path: string): Promise<TileBody> {
    const parsed = parseTilePath(path);
    if (!parsed.ok) {
      if (parsed.error.code === 'index-too-large')
        throw new DomainError('tile_not_found', `${path}: ${parsed.error.message}`);
      throw new DomainError('bad_tile_path', parsed.error.message);
    }
    const tile = parsed.tile;
    const cp = await this.latest(logId);
    const served = servedTile(tile, cp.size);
    if (!served.ok) throw new DomainError('tile_not_found', served.error.message);
    const { treeLevel, start, count } = tileNodes(tile);
    const parts =
      tile.kind === 'entries'
        ? await this.repository.leafBytesRange(logId, start, count)
        : await this.repository.levelHashes(logId, treeLevel, start, count);
    if (parts.length !== count)
      throw new DomainError(
        'ledger_inconsistent',
        `${logId} ${tilePath(tile)}: storage holds ${parts.length} of its ${count} ${tile.kind === 'entries' ? 'leaves' : 'hashes'} below checkpoint ${cp.size}`,
      );
    try {
      const bytes = tile.kind === 'entries' ? encodeEntryBundle(parts) : hashTile(parts);
      return { bytes, immutable: served.immutable };
    } catch (error) {
      if (error instanceof TileArgumentError && error.code === 'entry-too-large')
        throw new DomainError(
          'entry_too_large',
          `${logId} ${tilePath(tile)}: ${error.message} (its uint16 length prefix); read that entry at /v1/ledger/logs/${logId}/entries/<index>`,
        );
      throw error;
    }
  }

  private async latest(logId: string): Promise<CheckpointRow> {
    const cp = await this.repository.latestCheckpoint(logId);
    if (cp) return cp;
    if (!(await this.repository.head(logId)))
      throw new DomainError('log_not_found', `no log ${logId}`);
    throw new DomainError(
      'no_checkpoint',
      `log ${logId} has no signed checkpoint yet (it is empty, or its first checkpoint is not signed yet)`,
    );
  }
}
