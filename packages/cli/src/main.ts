#!/usr/bin/env node
import * as fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  parseLogKeyEntry,
  parseTrustFile,
  trustPolicy,
  type BundleError,
  type EvidenceSummary,
  type RangeSummary,
  type LogKeyInput,
  type TrustPolicy,
  type TrustPolicyResult,
} from '@tokenledger/ledger-core';

// Only what `verify` needs is imported here: the modules of the other commands (Kafka, HTTP
// polling) are loaded inside their branch, so the offline verifier loads no framework, no
// database driver and no Kafka client (module-load.int-spec.ts checks it).

const TRUST = `(--trust <trust.json> | --log-key <vkey>... [--witness-key <vkey>]... [--quorum <k>] [--origin-prefix <prefix>])`;

const USAGE = `usage:
  tokenledger verify <bundle.ndjson> ${TRUST} [--witness-url <url>]...
      Check an evidence bundle offline against the keys you pin (never the keys in the bundle):
      checkpoint signature, origin <prefix>/<logId>, witness quorum, then the tree recomputed over
      the entries (a range export) or each entry's inclusion proof (a token's evidence), and the
      chain. Reads the file once, as a stream, in bounded memory.
      With --witness-url, also ask those witnesses for their latest checkpoint of the log: a larger
      tree than the bundle's (a truncated log, or an old export) or a fork fails.
      Exit 1 on the first failure.
  tokenledger checkpoint check --url <ledger URL> --log <logId> --token <operator token> [--saved <file>] ${TRUST}
      Fetch the latest checkpoint, check it against the pinned keys and quorum and, against a saved
      one, a consistency proof; then save the latest to --saved.
  tokenledger checkpoint watch --url <ledger URL> --token <operator token> [--dir <dir>] [--interval <s>] [--once] ${TRUST}
      Monitor every log: each new checkpoint must verify and extend the last one seen (kept in --dir);
      prints an ALERT line on a fork, a rollback, a shrunk or vanished log or a bad signature
      (exit 1 with --once).
  tokenledger tail <topic> [--brokers host:port] [--from-beginning] [--type <type>] [--subject <tokenId>] [--actor <actor>]
      Follow a topic, one decoded event per line.
  tokenledger replay --url <ledger URL> --token <token> (--log <logId> | --topic <topic>) --target <topic> [--from <index>] [--to <index>] [--rate <per s>]
      Start a replay on the ledger and show its progress until it ends.
  tokenledger tiles export <dir> --url <ledger URL> [--token <operator token>] [--log <logId>]...
      Write every log (or the --log ones) as C2SP tlog-tiles, byte for byte as the ledger serves
      them at /v1/ledger/tiles/: <dir>/<logId>/checkpoint and <dir>/<logId>/tile/..., to serve from
      any web server, CDN or object store. Full tiles already in <dir> are kept (they never change).
      Without --token, name the logs with --log (the ledger must serve tiles publicly).

  Trust is pinned by you: --log-key takes <vkey> or <vkey>;retired=<RFC 3339 time> (--key is an
  alias); --witness-key takes a cosigner vkey (type 0x04); --quorum defaults to 1 when a witness is
  pinned; --origin-prefix defaults to tokenledger.local/ledger. --trust reads the same from a file
  (docs/design/trust.md) and excludes the other trust flags.`;

/** A command line that does not fit the usage: exit 2. */
class UsageError extends Error {}

const TRUST_FLAGS = {
  trust: { type: 'string' },
  'log-key': { type: 'string', multiple: true },
  key: { type: 'string', multiple: true },
  'witness-key': { type: 'string', multiple: true },
  quorum: { type: 'string' },
  'origin-prefix': { type: 'string' },
} as const;

interface TrustValues {
  trust?: string | undefined;
  'log-key'?: string[] | undefined;
  key?: string[] | undefined;
  'witness-key'?: string[] | undefined;
  quorum?: string | undefined;
  'origin-prefix'?: string | undefined;
}

/**
 * The pinned policy from --trust or the trust flags; a usage error (exit 2) saying why when no log
 * key is pinned or a key, the quorum or the file is bad. Nothing is ever taken from the server or
 * the bundle.
 */
function pinnedTrust(values: TrustValues): TrustPolicy {
  const flagKeys = [...(values['log-key'] ?? []), ...(values.key ?? [])];
  const witnessKeys = values['witness-key'] ?? [];
  let result: TrustPolicyResult;
  let where: string;
  if (values.trust !== undefined) {
    const others = (['log-key', 'key', 'witness-key', 'quorum', 'origin-prefix'] as const).filter(
      (f) => values[f] !== undefined,
    );
    if (others.length > 0)
      throw new UsageError(
        `--trust excludes ${others.map((f) => `--${f}`).join(', ')}: put them in the trust file`,
      );
    let text: string;
    try {
      text = fs.readFileSync(values.trust, 'utf8');
    } catch (error) {
      throw new UsageError(
        `--trust ${values.trust}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    result = parseTrustFile(text);
    where = `trust file ${values.trust}`;
  } else {
    if (flagKeys.length === 0)
      throw new UsageError(
        'no log key pinned: pass --log-key <verifier key> (or --trust <trust.json>). The keys a bundle or a ledger carries are never trusted: anyone can re-sign with a key of their own under the real key name.',
      );
    const logKeys: LogKeyInput[] = [];
    for (const entry of flagKeys) {
      const parsed = parseLogKeyEntry(entry);
      if (!parsed.ok) throw new UsageError(`--log-key ${entry}: ${parsed.error.message}`);
      logKeys.push(parsed.key);
    }
    const quorum = count('quorum', values.quorum);
    if (quorum !== undefined && !Number.isInteger(quorum))
      throw new UsageError(`--quorum must be an integer, got ${values.quorum}`);
    result = trustPolicy({
      logKeys,
      witnesses: witnessKeys,
      ...(quorum !== undefined ? { quorum } : {}),
      ...(values['origin-prefix'] !== undefined ? { originPrefix: values['origin-prefix'] } : {}),
    });
    where = 'flags';
  }
  if (!result.ok) throw new UsageError(`${where}: ${result.error.message}`);
  return result.policy;
}

type Options = NonNullable<ParseArgsConfig['options']>;

const one = { type: 'string' } as const;
const flag = { type: 'boolean' } as const;

/** parseArgs, strict: an unknown flag, a missing value or a wrong number of positionals is a usage error. */
function parse<O extends Options>(args: string[], options: O, positionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(
      `expected ${positionals} argument${positionals === 1 ? '' : 's'}, got ${parsed.positionals.length}`,
    );
  }
  return parsed;
}

function required(values: Record<string, unknown>, ...names: string[]): void {
  const missing = names.filter((n) => values[n] === undefined);
  if (missing.length > 0)
    throw new UsageError(`missing ${missing.map((n) => `--${n}`).join(', ')}`);
}

function count(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new UsageError(`--${name} must be a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}

function describe(error: BundleError): string {
  const where =
    error.index !== undefined
      ? ` at entry ${error.index}${error.logId !== undefined ? ` of ${error.logId}` : ''}`
      : error.line !== undefined
        ? ` at line ${error.line}`
        : '';
  return `FAILED${where}: ${error.code}: ${error.message}`;
}

async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { ...TRUST_FLAGS, 'witness-url': { type: 'string', multiple: true } },
    1,
  );
  const trust = pinnedTrust(values);
  const witnessUrls = values['witness-url'] ?? [];
  for (const url of witnessUrls)
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
      throw new UsageError(`--witness-url must be an http(s) URL, got ${JSON.stringify(url)}`);
  const file = positionals[0] as string;
  const showProgress = process.stderr.isTTY;
  // Loaded like the other commands' modules (the rule: main.ts imports only pure cores statically);
  // verify-file.ts uses node:fs and ledger-core only.
  const { verifyBundleFile } = await import('./verify-file.js');
  let result;
  try {
    result = await verifyBundleFile(file, {
      trust,
      onProgress: (done, all) => {
        if (showProgress && all > 10_000 && done % 10_000 === 0)
          process.stderr.write(
            `\r  verifying ${done}/${all} entries (${Math.floor((done / all) * 100)}%)`,
          );
      },
    });
  } catch (error) {
    throw new UsageError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (showProgress) process.stderr.write('\r\x1b[K');
  if (!result.ok) {
    process.stdout.write(`${describe(result.error)}\n`);
    return 1;
  }
  const s = result.summary;
  const trees =
    s.kind === 'range'
      ? [{ logId: s.logId, origin: s.origin, size: s.treeSize, rootHash: s.rootHash }]
      : s.logs.map((l) => ({
          logId: l.logId,
          origin: l.origin,
          size: l.treeSize,
          rootHash: l.rootHash,
        }));
  let complete = '';
  if (witnessUrls.length > 0) {
    // Online, and only when asked: the witnesses' latest trees (completeness.ts).
    const { checkAgainstWitnesses } = await import('./completeness.js');
    for (const tree of trees) {
      const against = await checkAgainstWitnesses(tree, witnessUrls, trust);
      if (!against.ok) {
        process.stdout.write(`FAILED: ${against.error.code}: ${against.error.message}\n`);
        return 1;
      }
      complete += `   latest${trees.length > 1 ? ` (${tree.logId})` : ''}: no witness asked holds a larger tree (${against.witnesses.map((w) => `${w.url} at ${w.size}`).join(', ')})\n`;
    }
  }
  process.stdout.write(
    (s.kind === 'range' ? rangeReport(s) : evidenceReport(s)) +
      (s.quorum > 0
        ? ''
        : '   not witnessed: no witness pinned (quorum 0); pin --witness-key to rule out a split view\n') +
      complete,
  );
  return 0;
}

const entries = (n: number): string => `${n} ${n === 1 ? 'entry' : 'entries'}`;

function witnessed(witnesses: readonly string[], quorum: number): string {
  return `${witnesses.length} pinned witness cosignature(s), quorum ${quorum}: ${witnesses.join(', ')}`;
}

function rangeReport(s: RangeSummary): string {
  const how =
    s.version === 1
      ? `${s.entries} inclusion proofs and the chain verified (version 1 bundle)`
      : `the tree recomputed over ${s.from > 0 ? 'the prefix hashes, ' : ''}the ${entries(s.entries)}${s.to < s.treeSize ? ' and the suffix hashes' : ''} has the signed root, and the chain verified`;
  return (
    `OK ${s.logId}: entries [${s.from}, ${s.to}) are in the tree of size ${s.treeSize} signed for ${s.origin}\n` +
    `   ${how}; pinned key${s.keys.length > 1 ? 's' : ''}: ${s.keys.join(', ')}\n` +
    (s.quorum > 0 ? `   witnessed: ${witnessed(s.witnesses, s.quorum)}\n` : '')
  );
}

function evidenceReport(s: EvidenceSummary): string {
  return (
    `OK token ${s.tokenId}: ${entries(s.entries)} in ${s.logs.length} log(s), each with its inclusion proof to the log's signed checkpoint\n` +
    s.logs
      .map(
        (l) =>
          `   ${l.logId}: ${entries(l.entries)} in the tree of size ${l.treeSize} signed for ${l.origin}; pinned key${l.keys.length > 1 ? 's' : ''}: ${l.keys.join(', ')}` +
          (s.quorum > 0 ? `; witnessed: ${witnessed(l.witnesses, s.quorum)}` : '') +
          '\n',
      )
      .join('')
  );
}

async function checkpointCheck(args: string[]): Promise<number> {
  const { values } = parse(args, { url: one, log: one, token: one, saved: one, ...TRUST_FLAGS }, 1);
  required(values, 'url', 'log', 'token');
  const trust = pinnedTrust(values);
  const { checkCheckpoint } = await import('./checkpoint.js');
  const result = await checkCheckpoint({
    url: values.url as string,
    logId: values.log as string,
    token: values.token as string,
    ...(values.saved ? { savedFile: values.saved } : {}),
    trust,
  });
  process.stdout.write(`${result.ok ? 'OK' : 'ALERT'} ${result.message}\n`);
  return result.ok ? 0 : 1;
}

async function checkpointWatch(args: string[]): Promise<number> {
  const { values } = parse(
    args,
    { url: one, token: one, dir: one, interval: one, once: flag, ...TRUST_FLAGS },
    1,
  );
  required(values, 'url', 'token');
  const trust = pinnedTrust(values);
  const interval = (count('interval', values.interval) ?? 5) * 1000;
  const { watchOnce } = await import('./watch.js');
  for (;;) {
    const results = await watchOnce({
      url: values.url as string,
      token: values.token as string,
      dir: values.dir ?? '.tokenledger/monitor',
      trust,
    });
    for (const r of results)
      process.stdout.write(`${new Date().toISOString()} ${r.ok ? 'OK' : 'ALERT'} ${r.message}\n`);
    if (values.once) return results.every((r) => r.ok) ? 0 : 1;
    await new Promise((r) => setTimeout(r, interval));
  }
}

async function tailCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { brokers: one, 'from-beginning': flag, type: one, subject: one, actor: one },
    1,
  );
  const { tail } = await import('./tail.js');
  const stop = await tail({
    brokers: values.brokers ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    topic: positionals[0] as string,
    fromBeginning: values['from-beginning'] ?? false,
    ...(values.type ? { type: values.type } : {}),
    ...(values.subject ? { subject: values.subject } : {}),
    ...(values.actor ? { actor: values.actor } : {}),
    write: (line) => process.stdout.write(`${line}\n`),
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
  return 0;
}

async function replayCommand(args: string[]): Promise<number> {
  const { values } = parse(
    args,
    { url: one, token: one, target: one, log: one, topic: one, from: one, to: one, rate: one },
    0,
  );
  required(values, 'url', 'token', 'target');
  if (!values.log && !values.topic) throw new UsageError('one of --log, --topic is required');
  const from = count('from', values.from);
  const to = count('to', values.to);
  const rate = count('rate', values.rate);
  const { replay } = await import('./replay.js');
  return replay({
    url: values.url as string,
    token: values.token as string,
    target: values.target as string,
    ...(values.log ? { log: values.log } : { topic: values.topic }),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(rate !== undefined ? { rate } : {}),
  });
}

async function tilesExport(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { url: one, token: one, log: { type: 'string', multiple: true } },
    2,
  );
  required(values, 'url');
  if (!values.token && !values.log?.length)
    throw new UsageError('without --token, name the logs to export with --log <logId>');
  const { exportTiles } = await import('./tiles.js');
  const dir = positionals[1] as string;
  const results = await exportTiles({
    url: values.url as string,
    dir,
    ...(values.token ? { token: values.token } : {}),
    ...(values.log ? { logs: values.log } : {}),
  });
  for (const r of results)
    process.stdout.write(
      `${r.logId}: checkpoint of size ${r.size}, ${r.written} tile(s) written, ${r.kept} full tile(s) already in ${dir}\n`,
    );
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'verify') return await verify(rest);
    if (command === 'checkpoint' && rest[0] === 'check') return await checkpointCheck(rest);
    if (command === 'checkpoint' && rest[0] === 'watch') return await checkpointWatch(rest);
    if (command === 'tail') return await tailCommand(rest);
    if (command === 'replay') return await replayCommand(rest);
    if (command === 'tiles' && rest[0] === 'export') return await tilesExport(rest);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`tokenledger: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `tokenledger: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(2);
  },
);
