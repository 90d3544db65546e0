import { refusedBy } from './refusal';

export interface ReplayOptions {
  url: string;
  token: string;
  target: string;
  log?: string;
  topic?: string;
  from?: number;
  to?: number;
  rate?: number;
  /** Draw a progress bar on stderr (only when it is a terminal). */
  progress: boolean;
  /** Poll interval, ms (default 500). */
  intervalMs?: number;
}

export interface ReplayResult {
  replayId: string;
  status: string;
  done: number;
  total: number;
  target: string;
  error: string | null;
}

interface ReplayStatus {
  status: string;
  done: number;
  total: number;
  error: string | null;
}

/** Starts a replay on the ledger and follows its progress until it ends. */
export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const { url, token, target, log, topic } = options;
  const body = {
    ...(log ? { logId: log } : { topic }),
    targetTopic: target,
    fromIndex: options.from,
    toIndex: options.to,
    ratePerSecond: options.rate,
  };
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const res = await fetch(`${url}/v1/replays`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw await refusedBy('POST /v1/replays', res);
  const { replayId } = (await res.json()) as { replayId: string };
  for (;;) {
    const polled = await fetch(`${url}/v1/replays/${encodeURIComponent(replayId)}`, { headers });
    if (!polled.ok) throw await refusedBy(`GET /v1/replays/${replayId}`, polled);
    const st = (await polled.json()) as ReplayStatus;
    if (options.progress) {
      const width = 30;
      const filled = st.total > 0 ? Math.round((st.done / st.total) * width) : width;
      process.stderr.write(
        `\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${st.done}/${st.total}`,
      );
    }
    if (st.status !== 'running') {
      if (options.progress) process.stderr.write('\n');
      return {
        replayId,
        status: st.status,
        done: st.done,
        total: st.total,
        target,
        error: st.error,
      };
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
  }
}
