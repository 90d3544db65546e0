#!/usr/bin/env node
import * as fs from 'node:fs';
import { verifyBundle } from './bundle';
import { checkCheckpoint } from './checkpoint';

const USAGE = `usage:
  tokenledger verify <bundle.ndjson> [--key <verifier key>]...
      Check an evidence bundle offline: signatures, inclusion proofs, chain. Exit 1 on the first failure.
  tokenledger checkpoint check --url <ledger URL> --log <logId> --token <operator token> [--saved <file>] [--key <verifier key>]...
      Fetch the latest checkpoint, check its signature and, against a saved one, a consistency proof;
      then save the latest to --saved.`;

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
