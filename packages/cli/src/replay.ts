export interface ReplayOptions {
  url: string;
  token: string;
  target: string;
  log?: string;
  topic?: string;
  from?: number;
  to?: number;
  rate?: number;
}

/** Starts a replay on the ledger and shows its progress until it ends; returns the exit code. */
export async function replay(options: ReplayOptions): Promise<number> {
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
  const started = (await res.json()) as { replayId?: string; error?: { message: string } };
  if (res.status !== 202 || !started.replayId) {
    process.stdout.write(`replay refused (${res.status}): ${started.error?.message ?? ''}\n`);
    return 1;
  }
  for (;;) {
    const st = (await (
      await fetch(`${url}/v1/replays/${started.replayId}`, { headers })
    ).json()) as { status: string; done: number; total: number; error: string | null };
    const width = 30;
    const filled = st.total > 0 ? Math.round((st.done / st.total) * width) : width;
    process.stderr.write(
      `\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${st.done}/${st.total}`,
    );
    if (st.status !== 'running') {
      process.stderr.write('\n');
      process.stdout.write(
        `replay ${started.replayId} ${st.status}: ${st.done} of ${st.total} events to ${target}${st.error ? ` (${st.error})` : ''}\n`,
      );
      return st.status === 'completed' ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
