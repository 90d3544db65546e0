import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkCheckpoint, type CheckpointCheck } from './checkpoint';

export interface WatchOptions {
  url: string;
  token: string;
  /** Where the last checkpoint seen of each log is kept. */
  dir: string;
  trustedKeys?: string[];
}

/**
 * One round of a transparency-log monitor: for every log the ledger lists, check the latest
 * checkpoint's signature and that it extends the one saved from the previous round (consistency
 * proof), then save it. A rollback, a fork or a bad signature is an alert; nothing is saved then.
 */
export async function watchOnce(
  options: WatchOptions,
): Promise<Array<CheckpointCheck & { logId: string }>> {
  fs.mkdirSync(options.dir, { recursive: true });
  const res = await fetch(`${options.url}/v1/ledger/logs`, {
    headers: { authorization: `Bearer ${options.token}` },
  });
  if (!res.ok) throw new Error(`/v1/ledger/logs: HTTP ${res.status}`);
  const { logs } = (await res.json()) as { logs: Array<{ logId: string; size: number }> };
  const results: Array<CheckpointCheck & { logId: string }> = [];
  for (const log of logs.filter((l) => l.size > 0)) {
    const file = path.join(options.dir, `${log.logId.replace(/[^A-Za-z0-9._-]/g, '_')}.checkpoint`);
    try {
      const result = await checkCheckpoint({
        url: options.url,
        logId: log.logId,
        token: options.token,
        savedFile: file,
        ...(options.trustedKeys ? { trustedKeys: options.trustedKeys } : {}),
      });
      results.push({ ...result, logId: log.logId });
    } catch (error) {
      results.push({
        ok: false,
        logId: log.logId,
        message: `${log.logId}: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  }
  return results;
}
