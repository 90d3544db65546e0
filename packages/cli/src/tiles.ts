import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCheckpoint, tilePath, tilesForSize, type TileRef } from '@tokenledger/ledger-core';
import { refusedBy } from './refusal';

export interface TilesExportOptions {
  /** The ledger's base URL. */
  url: string;
  /** Operator token with ledger:read; not needed when the ledger serves tiles publicly. */
  token?: string;
  dir: string;
  /** Only these logs; default: every log the ledger lists with a checkpoint (needs the token). */
  logs?: string[];
  /** Requests in flight at once (default 8). */
  concurrency?: number;
}

export interface TilesExportResult {
  logId: string;
  size: number;
  /** Tiles fetched and written in this run. */
  written: number;
  /** Full tiles already in the directory: immutable, so not fetched again. */
  kept: number;
}

/** A partial tile that filled up while the export ran: start the log over at its new checkpoint. */
class TileGone extends Error {}

/**
 * `tokenledger tiles export <dir>`: writes each log's C2SP tlog-tiles, as
 * `/v1/ledger/tiles/<logId>/...` serves them, to `<dir>/<logId>/checkpoint` and
 * `<dir>/<logId>/tile/...`, byte for byte, to be served by any static web server, CDN or object
 * store. Every file is written to a temporary name and renamed, and the checkpoint last: a reader
 * of the directory never sees a checkpoint whose tiles are missing. Full tiles already present are
 * kept (they never change), so a repeated export into the same directory fetches only what is new;
 * partial tiles of earlier runs stay, as the spec wants them served for the checkpoints that
 * needed them.
 */
export async function exportTiles(options: TilesExportOptions): Promise<TilesExportResult[]> {
  const base = options.url.replace(/\/+$/, '');
  const headers: Record<string, string> = options.token
    ? { authorization: `Bearer ${options.token}` }
    : {};
  const get = async (urlPath: string): Promise<Response> => {
    const res = await fetch(`${base}${urlPath}`, { headers });
    if (res.ok || res.status === 404) return res;
    throw await refusedBy(`GET ${urlPath}`, res);
  };

  let logs = options.logs;
  if (!logs || logs.length === 0) {
    const res = await get('/v1/ledger/logs');
    if (!res.ok) throw await refusedBy('GET /v1/ledger/logs', res);
    const body = (await res.json()) as {
      logs: Array<{ logId: string; checkpointSize: number | null }>;
    };
    logs = body.logs.filter((l) => l.checkpointSize !== null).map((l) => l.logId);
  }
  const results: TilesExportResult[] = [];
  for (const logId of logs) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        results.push(await exportLog(logId));
        break;
      } catch (error) {
        if (!(error instanceof TileGone) || attempt === 5) throw error;
      }
    }
  }
  return results;

  async function exportLog(logId: string): Promise<TilesExportResult> {
    const prefix = `/v1/ledger/tiles/${encodeURIComponent(logId)}/`;
    const dir = path.join(options.dir, logId);
    const res = await get(`${prefix}checkpoint`);
    if (!res.ok) throw await refusedBy(`${logId}: no checkpoint`, res);
    const note = Buffer.from(await res.arrayBuffer());
    const text = note.toString('utf8');
    const parsed = parseCheckpoint(text.slice(0, text.indexOf('\n\n') + 1));
    if (!parsed.ok) throw new Error(`${logId}: bad checkpoint: ${parsed.error.message}`);
    const size = parsed.checkpoint.size;

    let written = 0;
    let kept = 0;
    const queue: TileRef[] = tilesForSize(size);
    let failed = false;
    const worker = async (): Promise<void> => {
      for (let tile = queue.shift(); tile && !failed; tile = queue.shift()) {
        const rel = tilePath(tile);
        const file = path.join(dir, rel);
        if (tile.width === 256 && fs.existsSync(file)) {
          kept += 1;
          continue;
        }
        const r = await get(`${prefix}${rel}`);
        if (r.status === 404) {
          if (tile.width < 256) throw new TileGone(rel);
          throw new Error(`${logId}: ${rel} is missing (HTTP 404) below checkpoint ${size}`);
        }
        writeAtomically(file, Buffer.from(await r.arrayBuffer()));
        written += 1;
      }
    };
    // Every worker stops at the first failure, and all have stopped before this returns or throws.
    const settled = await Promise.allSettled(
      Array.from({ length: options.concurrency ?? 8 }, () =>
        worker().catch((error: unknown) => {
          failed = true;
          throw error;
        }),
      ),
    );
    const failure = settled.find((s) => s.status === 'rejected');
    if (failure) throw failure.reason;
    writeAtomically(path.join(dir, 'checkpoint'), note);
    return { logId, size, written, kept };
  }
}

function writeAtomically(file: string, bytes: Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}
