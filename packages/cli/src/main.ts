#!/usr/bin/env node
import * as fs from 'node:fs';
import { verifyBundle } from './bundle';
import { checkCheckpoint } from './checkpoint';
import { tail } from './tail';
import { watchOnce } from './watch';

const USAGE = `usage:
  tokenledger verify <bundle.ndjson> [--key <verifier key>]...
      Check an evidence bundle offline: signatures, inclusion proofs, chain. Exit 1 on the first failure.
  tokenledger checkpoint check --url <ledger URL> --log <logId> --token <operator token> [--saved <file>] [--key <verifier key>]...
      Fetch the latest checkpoint, check its signature and, against a saved one, a consistency proof;
      then save the latest to --saved.
  tokenledger checkpoint watch --url <ledger URL> --token <operator token> [--dir <dir>] [--interval <s>] [--once] [--key <verifier key>]...
      Monitor every log: each new checkpoint must verify and extend the last one seen (kept in --dir);
      prints an ALERT line on a fork, a rollback or a bad signature (exit 1 with --once).
  tokenledger tail <topic> [--brokers host:port] [--from-beginning] [--type <type>] [--subject <tokenId>] [--actor <actor>]
      Follow a topic, one decoded event per line.
  tokenledger replay --url <ledger URL> --token <token> (--log <logId> | --topic <topic>) --target <topic> [--from <index>] [--to <index>] [--rate <per s>]
      Start a replay on the ledger and show its progress until it ends.`;

function flags(args: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i += 1) if (args[i] === name && args[i + 1]) out.push(args[i + 1] as string);
  return out;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'verify' && rest[0]) {
    const text = fs.readFileSync(rest[0], 'utf8');
    const lines = text.split('\n');
    const keys = flags(rest, '--key');
    const total = lines.length;
    const showProgress = total > 10_000 && process.stderr.isTTY;
    const result = verifyBundle(lines, {
      ...(keys.length > 0 ? { trustedKeys: keys } : {}),
      onProgress: (done, all) => {
        if (showProgress && done % 1000 === 0) process.stderr.write(`\r  verifying ${done}/${all} entries (${Math.floor((done / all) * 100)}%)`);
      },
    });
    if (showProgress) process.stderr.write('\n');
    if (!result.ok) {
      process.stdout.write(`FAILED${result.index !== undefined ? ` at entry ${result.index}` : ''}: ${result.problem}\n`);
      return 1;
    }
    const s = result.summary;
    process.stdout.write(
      `OK ${s.logId}: entries [${s.from}, ${s.to}) are in the tree of size ${s.treeSize} signed for ${s.origin}\n` +
        `   ${s.entries} inclusion proofs and the chain verified; key${s.keys.length > 1 ? 's' : ''}: ${s.keys.join(', ')}\n` +
        (keys.length === 0 ? '   note: the keys came from the bundle itself; pass --key to pin the key you trust\n' : ''),
    );
    return 0;
  }
  if (command === 'checkpoint' && rest[0] === 'check') {
    const [url] = flags(rest, '--url');
    const [log] = flags(rest, '--log');
    const [token] = flags(rest, '--token');
    if (!url || !log || !token) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const [saved] = flags(rest, '--saved');
    const keys = flags(rest, '--key');
    const result = await checkCheckpoint({ url, logId: log, token, ...(saved ? { savedFile: saved } : {}), ...(keys.length > 0 ? { trustedKeys: keys } : {}) });
    process.stdout.write(`${result.ok ? 'OK' : 'ALERT'} ${result.message}\n`);
    return result.ok ? 0 : 1;
  }
  if (command === 'checkpoint' && rest[0] === 'watch') {
    const [url] = flags(rest, '--url');
    const [token] = flags(rest, '--token');
    if (!url || !token) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const [dir = '.tokenledger/monitor'] = flags(rest, '--dir');
    const interval = Number(flags(rest, '--interval')[0] ?? 5) * 1000;
    const keys = flags(rest, '--key');
    for (;;) {
      const results = await watchOnce({ url, token, dir, ...(keys.length > 0 ? { trustedKeys: keys } : {}) });
      for (const r of results) process.stdout.write(`${new Date().toISOString()} ${r.ok ? 'OK' : 'ALERT'} ${r.message}\n`);
      if (rest.includes('--once')) return results.every((r) => r.ok) ? 0 : 1;
      await new Promise((r) => setTimeout(r, interval));
    }
  }
  if (command === 'tail' && rest[0]) {
    const [brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'] = flags(rest, '--brokers');
    const [type] = flags(rest, '--type');
    const [subject] = flags(rest, '--subject');
    const [actor] = flags(rest, '--actor');
    const stop = await tail({
      brokers,
      topic: rest[0],
      fromBeginning: rest.includes('--from-beginning'),
      ...(type ? { type } : {}),
      ...(subject ? { subject } : {}),
      ...(actor ? { actor } : {}),
      write: (line) => process.stdout.write(`${line}\n`),
    });
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await stop();
    return 0;
  }
  if (command === 'replay') {
    const [url] = flags(rest, '--url');
    const [token] = flags(rest, '--token');
    const [target] = flags(rest, '--target');
    const [log] = flags(rest, '--log');
    const [topic] = flags(rest, '--topic');
    if (!url || !token || !target || (!log && !topic)) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const num = (name: string): number | undefined => {
      const [v] = flags(rest, name);
      return v === undefined ? undefined : Number(v);
    };
    const body = { ...(log ? { logId: log } : { topic }), targetTopic: target, fromIndex: num('--from'), toIndex: num('--to'), ratePerSecond: num('--rate') };
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const res = await fetch(`${url}/v1/replays`, { method: 'POST', headers, body: JSON.stringify(body) });
    const started = (await res.json()) as { replayId?: string; error?: { message: string } };
    if (res.status !== 202 || !started.replayId) {
      process.stdout.write(`replay refused (${res.status}): ${started.error?.message ?? ''}\n`);
      return 1;
    }
    for (;;) {
      const st = (await (await fetch(`${url}/v1/replays/${started.replayId}`, { headers })).json()) as { status: string; done: number; total: number; error: string | null };
      const width = 30;
      const filled = st.total > 0 ? Math.round((st.done / st.total) * width) : width;
      process.stderr.write(`\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${st.done}/${st.total}`);
      if (st.status !== 'running') {
        process.stderr.write('\n');
        process.stdout.write(`replay ${started.replayId} ${st.status}: ${st.done} of ${st.total} events to ${target}${st.error ? ` (${st.error})` : ''}\n`);
        return st.status === 'completed' ? 0 : 1;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tokenledger: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
