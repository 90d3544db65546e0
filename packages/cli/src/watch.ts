import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLogId, verifyTrustedCheckpoint, type TrustPolicy } from '@tokenledger/ledger-core';
import { checkCheckpoint, type CheckpointCheck } from './checkpoint';
import { refusedBy } from './refusal';

export interface WatchOptions {
  url: string;
  token: string;
  /** Where the last checkpoint seen of each log is kept, as `<logId>.checkpoint`. */
  dir: string;
  trust: TrustPolicy;
}

const SUFFIX = '.checkpoint';

/** The saved logs of `dir` and the size of their saved checkpoint (undefined: does not verify). */
function savedLogs(dir: string, trust: TrustPolicy): Map<string, number | undefined> {
  const saved = new Map<string, number | undefined>();
  for (const file of fs.readdirSync(dir)) {
    const logId = file.slice(0, -SUFFIX.length);
    if (!file.endsWith(SUFFIX) || !isLogId(logId)) continue;
    const opened = verifyTrustedCheckpoint(
      fs.readFileSync(path.join(dir, file), 'utf8'),
      trust,
      logId,
      { requireQuorum: false },
    );
    saved.set(logId, opened.ok ? opened.trusted.checkpoint.size : undefined);
  }
  return saved;
}

/**
 * One round of a transparency-log monitor. For every log the ledger lists, check the latest
 * checkpoint against the pinned policy and that it extends the one saved from the previous round
 * (consistency proof), then save it. Alerts (nothing is saved then): a rollback, a fork, a bad
 * signature or quorum, and, against what was saved, a log the ledger no longer lists
 * (DISAPPEARED) or lists with fewer leaves than the saved checkpoint (SHRUNK).
 */
export async function watchOnce(
  options: WatchOptions,
): Promise<Array<CheckpointCheck & { logId: string }>> {
  fs.mkdirSync(options.dir, { recursive: true });
  const res = await fetch(`${options.url}/v1/ledger/logs`, {
    headers: { authorization: `Bearer ${options.token}` },
  });
  if (!res.ok) throw await refusedBy('/v1/ledger/logs', res);
  const { logs } = (await res.json()) as { logs: Array<{ logId: string; size: number }> };
  const saved = savedLogs(options.dir, options.trust);
  const results: Array<CheckpointCheck & { logId: string }> = [];
  for (const [logId, size] of saved) {
    if (logs.some((l) => l.logId === logId)) continue;
    results.push({
      ok: false,
      logId,
      message: `DISAPPEARED: ${logId} is no longer listed by the ledger, but a checkpoint of size ${size ?? '?'} was saved`,
    });
  }
  for (const log of logs) {
    if (!isLogId(log.logId)) {
      results.push({
        ok: false,
        logId: log.logId,
        message: `the ledger lists a bad log id ${JSON.stringify(log.logId)}`,
      });
      continue;
    }
    const savedSize = saved.get(log.logId);
    if (savedSize !== undefined && log.size < savedSize) {
      results.push({
        ok: false,
        logId: log.logId,
        message: `SHRUNK: ${log.logId} is listed with ${log.size} leaves, below the saved checkpoint of size ${savedSize}`,
      });
      continue;
    }
    if (log.size === 0 && !saved.has(log.logId)) continue;
    try {
      const result = await checkCheckpoint({
        url: options.url,
        logId: log.logId,
        token: options.token,
        savedFile: path.join(options.dir, `${log.logId}${SUFFIX}`),
        trust: options.trust,
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
