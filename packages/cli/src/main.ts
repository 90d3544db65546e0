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
import { EXIT, RefusedError, UsageError, classify, messageOf } from './exit';

// Only what `verify` needs is imported here: the modules of the other commands (Kafka, HTTP
// polling) are loaded inside their branch, so the offline verifier loads no framework, no
// database driver and no Kafka client (module-load.int-spec.ts checks it).

const TRUST = `(--trust <trust.json> | --log-key <vkey>... [--witness-key <vkey>]... [--quorum <k>] [--origin-prefix <prefix>])`;

/** Per command: its synopsis and what it does (`tokenledger <command> --help`). */
const COMMANDS: Record<string, string> = {
  verify: `tokenledger verify <bundle.ndjson> ${TRUST} [--witness-url <url>]... [--json]
      Check an evidence bundle offline against the keys you pin (never the keys in the bundle):
      checkpoint signature, origin <prefix>/<logId>, witness quorum, then the tree recomputed over
      the entries (a range export) or each entry's inclusion proof (a token's evidence), and the
      chain. Reads the file once, as a stream, in bounded memory.
      With --witness-url, also ask those witnesses for their latest checkpoint of the log: a larger
      tree than the bundle's (a truncated log, or an old export) or a fork fails.
      Exit 1 on the first failure.`,
  'checkpoint check': `tokenledger checkpoint check --url <ledger URL> --log <logId> [--token-file <file>] [--saved <file>] ${TRUST} [--json]
      Fetch the latest checkpoint, check it against the pinned keys and quorum and, against a saved
      one, a consistency proof; then save the latest to --saved.`,
  'checkpoint watch': `tokenledger checkpoint watch --url <ledger URL> [--token-file <file>] [--dir <dir>] [--interval <s>] [--once] ${TRUST} [--json]
      Monitor every log: each new checkpoint must verify and extend the last one seen (kept in --dir);
      prints an ALERT line on a fork, a rollback, a shrunk or vanished log or a bad signature
      (exit 1 with --once).`,
  tail: `tokenledger tail <topic> [--brokers host:port] [--from-beginning] [--type <type>] [--subject <tokenId>] [--actor <actor>] [--json]
      Follow a topic, one decoded event per line (--json: the event envelope as JSON).`,
  replay: `tokenledger replay --url <ledger URL> [--token-file <file>] (--log <logId> | --topic <topic>) --target <topic> [--from <index>] [--to <index>] [--rate <per s>] [--json]
      Start a replay on the ledger and show its progress until it ends (a progress bar on a
      terminal only). Exit 1 if it does not complete.`,
  'tiles export': `tokenledger tiles export <dir> --url <ledger URL> [--token-file <file>] [--log <logId>]... [--json]
      Write every log (or the --log ones) as C2SP tlog-tiles, byte for byte as the ledger serves
      them at /v1/ledger/tiles/: <dir>/<logId>/checkpoint and <dir>/<logId>/tile/..., to serve from
      any web server, CDN or object store. Full tiles already in <dir> are kept (they never change).
      Without an operator token, name the logs with --log (the ledger must serve tiles publicly).`,
  completion: `tokenledger completion (bash | zsh) [--json]
      Print a shell completion script: add eval "$(tokenledger completion bash)" to ~/.bashrc,
      or source <(tokenledger completion zsh) to ~/.zshrc (after compinit).
      --json: {"shell": "bash", "script": "<the script>"}, for tools that install it themselves.`,
};

const USAGE = `usage: tokenledger <command> [options]    (tokenledger <command> --help for one command)

${Object.values(COMMANDS)
  .map((c) => `  ${c}`)
  .join('\n')}

  Trust is pinned by you: --log-key takes <vkey> or <vkey>;retired=<RFC 3339 time> (--key is an
  alias); --witness-key takes a cosigner vkey (type 0x04); --quorum defaults to 1 when a witness is
  pinned; --origin-prefix defaults to tokenledger.local/ledger. --trust reads the same from a file
  (docs/design/trust.md) and excludes the other trust flags.

  The operator token comes from the environment variable TOKENLEDGER_TOKEN or from the file named
  by --token-file, never from a flag (flags are visible in process lists).
  --json: machine-readable output on stdout (one JSON object, or one per line for tail and watch),
  errors included.
  --help, -h: this text (exit 0); --version, -V: the version (exit 0).

  Exit codes: 0 ok; 1 verification failed or ALERT (or a replay that did not complete);
  2 usage (or an input file that cannot be read); 3 a server or Kafka unreachable;
  4 the server answered with an error (bad token, missing scope...); 5 internal error.`;

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

/** Every command takes --json; the ones that talk to the ledger take --token-file. */
const JSON_FLAG = { json: flag } as const;
const TOKEN_FLAGS = { 'token-file': one, token: one } as const;

/**
 * The operator token: from the file named by --token-file, else TOKENLEDGER_TOKEN. A --token flag
 * is refused: its value would be visible to every user of the machine in the process list.
 */
function operatorToken(
  values: { 'token-file'?: string | undefined; token?: string | undefined },
  required: boolean,
): string | undefined {
  if (values.token !== undefined)
    throw new UsageError(
      '--token is not accepted (a flag is visible in process lists): set TOKENLEDGER_TOKEN or pass --token-file <file>',
    );
  if (values['token-file'] !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(values['token-file'], 'utf8');
    } catch (error) {
      throw new UsageError(`--token-file ${values['token-file']}: ${messageOf(error)}`);
    }
    const token = text.trim();
    if (token === '') throw new UsageError(`--token-file ${values['token-file']} is empty`);
    return token;
  }
  const env = process.env.TOKENLEDGER_TOKEN?.trim();
  if (env) return env;
  if (required)
    throw new UsageError(
      'no operator token: set TOKENLEDGER_TOKEN or pass --token-file <file> (a token with ledger:read)',
    );
  return undefined;
}

/** JSON with byte arrays (hashes) as base64. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
  );
}

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
    { ...TRUST_FLAGS, ...JSON_FLAG, 'witness-url': { type: 'string', multiple: true } },
    1,
  );
  const trust = pinnedTrust(values);
  const json = values.json === true;
  const witnessUrls = values['witness-url'] ?? [];
  for (const url of witnessUrls)
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
      throw new UsageError(`--witness-url must be an http(s) URL, got ${JSON.stringify(url)}`);
  const file = positionals[0] as string;
  const showProgress = process.stderr.isTTY && !json;
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
    throw new UsageError(`${file}: ${messageOf(error)}`);
  }
  if (showProgress) process.stderr.write('\r\x1b[K');
  if (!result.ok) {
    process.stdout.write(
      json ? `${toJson({ ok: false, error: result.error })}\n` : `${describe(result.error)}\n`,
    );
    return EXIT.failed;
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
  const asked: Array<{ logId: string; witnesses: ReadonlyArray<{ url: string; size: number }> }> =
    [];
  if (witnessUrls.length > 0) {
    // Online, and only when asked: the witnesses' latest trees (completeness.ts).
    const { checkAgainstWitnesses } = await import('./completeness.js');
    for (const tree of trees) {
      const against = await checkAgainstWitnesses(tree, witnessUrls, trust);
      if (!against.ok) {
        process.stdout.write(
          json
            ? `${toJson({ ok: false, error: against.error })}\n`
            : `FAILED: ${against.error.code}: ${against.error.message}\n`,
        );
        return EXIT.failed;
      }
      asked.push({ logId: tree.logId, witnesses: against.witnesses });
      complete += `   latest${trees.length > 1 ? ` (${tree.logId})` : ''}: no witness asked holds a larger tree (${against.witnesses.map((w) => `${w.url} at ${w.size}`).join(', ')})\n`;
    }
  }
  if (json) {
    process.stdout.write(
      `${toJson({ ok: true, ...s, ...(witnessUrls.length > 0 ? { latest: asked } : {}) })}\n`,
    );
    return EXIT.ok;
  }
  process.stdout.write(
    (s.kind === 'range' ? rangeReport(s) : evidenceReport(s)) +
      (s.quorum > 0
        ? ''
        : '   not witnessed: no witness pinned (quorum 0); pin --witness-key to rule out a split view\n') +
      complete,
  );
  return EXIT.ok;
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
  const { values } = parse(
    args,
    { url: one, log: one, saved: one, ...TOKEN_FLAGS, ...TRUST_FLAGS, ...JSON_FLAG },
    1,
  );
  required(values, 'url', 'log');
  const token = operatorToken(values, true) as string;
  const trust = pinnedTrust(values);
  const { checkCheckpoint } = await import('./checkpoint.js');
  const result = await checkCheckpoint({
    url: values.url as string,
    logId: values.log as string,
    token,
    ...(values.saved ? { savedFile: values.saved } : {}),
    trust,
  });
  process.stdout.write(
    values.json
      ? `${toJson({ ok: result.ok, logId: values.log, message: result.message })}\n`
      : `${result.ok ? 'OK' : 'ALERT'} ${result.message}\n`,
  );
  return result.ok ? EXIT.ok : EXIT.failed;
}

async function checkpointWatch(args: string[]): Promise<number> {
  const { values } = parse(
    args,
    { url: one, dir: one, interval: one, once: flag, ...TOKEN_FLAGS, ...TRUST_FLAGS, ...JSON_FLAG },
    1,
  );
  required(values, 'url');
  const token = operatorToken(values, true) as string;
  const trust = pinnedTrust(values);
  const interval = (count('interval', values.interval) ?? 5) * 1000;
  const { watchOnce } = await import('./watch.js');
  for (;;) {
    const results = await watchOnce({
      url: values.url as string,
      token,
      dir: values.dir ?? '.tokenledger/monitor',
      trust,
    });
    const time = new Date().toISOString();
    for (const r of results)
      process.stdout.write(
        values.json
          ? `${toJson({ time, ...r })}\n`
          : `${time} ${r.ok ? 'OK' : 'ALERT'} ${r.message}\n`,
      );
    if (values.once) return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
    await new Promise((r) => setTimeout(r, interval));
  }
}

async function tailCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { brokers: one, 'from-beginning': flag, type: one, subject: one, actor: one, ...JSON_FLAG },
    1,
  );
  const { tail } = await import('./tail.js');
  const stop = await tail({
    brokers: values.brokers ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    topic: positionals[0] as string,
    fromBeginning: values['from-beginning'] ?? false,
    json: values.json === true,
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
  return EXIT.ok;
}

async function replayCommand(args: string[]): Promise<number> {
  const { values } = parse(
    args,
    {
      url: one,
      target: one,
      log: one,
      topic: one,
      from: one,
      to: one,
      rate: one,
      ...TOKEN_FLAGS,
      ...JSON_FLAG,
    },
    0,
  );
  required(values, 'url', 'target');
  if (!values.log && !values.topic) throw new UsageError('one of --log, --topic is required');
  const token = operatorToken(values, true) as string;
  const from = count('from', values.from);
  const to = count('to', values.to);
  const rate = count('rate', values.rate);
  const { replay } = await import('./replay.js');
  const result = await replay({
    url: values.url as string,
    token,
    target: values.target as string,
    progress: process.stderr.isTTY && !values.json,
    ...(values.log ? { log: values.log } : { topic: values.topic }),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(rate !== undefined ? { rate } : {}),
  });
  process.stdout.write(
    values.json
      ? `${toJson({ ok: result.status === 'completed', ...result })}\n`
      : `replay ${result.replayId} ${result.status}: ${result.done} of ${result.total} events to ${result.target}${result.error ? ` (${result.error})` : ''}\n`,
  );
  return result.status === 'completed' ? EXIT.ok : EXIT.failed;
}

async function tilesExport(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { url: one, log: { type: 'string', multiple: true }, ...TOKEN_FLAGS, ...JSON_FLAG },
    2,
  );
  required(values, 'url');
  const token = operatorToken(values, false);
  if (!token && !values.log?.length)
    throw new UsageError(
      'without an operator token (TOKENLEDGER_TOKEN or --token-file), name the logs to export with --log <logId>',
    );
  const { exportTiles } = await import('./tiles.js');
  const dir = positionals[1] as string;
  const results = await exportTiles({
    url: values.url as string,
    dir,
    ...(token ? { token } : {}),
    ...(values.log ? { logs: values.log } : {}),
  });
  if (values.json) {
    process.stdout.write(`${toJson({ ok: true, dir, logs: results })}\n`);
    return EXIT.ok;
  }
  for (const r of results)
    process.stdout.write(
      `${r.logId}: checkpoint of size ${r.size}, ${r.written} tile(s) written, ${r.kept} full tile(s) already in ${dir}\n`,
    );
  return EXIT.ok;
}

async function completionCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, JSON_FLAG, 1);
  const shell = positionals[0] as string;
  const { completionScript } = await import('./completion.js');
  const script = completionScript(shell);
  if (script === undefined)
    throw new UsageError(`completion: unknown shell ${JSON.stringify(shell)} (bash, zsh)`);
  process.stdout.write(values.json ? `${toJson({ shell, script })}\n` : script);
  return EXIT.ok;
}

function version(): string {
  // dist/main.js -> ../package.json, the package's own (exported as ./package.json).
  const pkg = JSON.parse(fs.readFileSync(`${__dirname}/../package.json`, 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The command a line names (one word, or two for checkpoint and tiles) and its arguments. */
function commandOf(argv: string[]): { name: string | undefined; rest: string[] } {
  const [first, second, ...after] = argv;
  if (first === undefined) return { name: undefined, rest: [] };
  const two = `${first} ${second ?? ''}`;
  if (COMMANDS[two] !== undefined) return { name: two, rest: [second as string, ...after] };
  return { name: COMMANDS[first] !== undefined ? first : undefined, rest: argv.slice(1) };
}

const RUN: Record<string, (args: string[]) => Promise<number>> = {
  verify,
  'checkpoint check': checkpointCheck,
  'checkpoint watch': checkpointWatch,
  tail: tailCommand,
  replay: replayCommand,
  'tiles export': tilesExport,
  completion: completionCommand,
};

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const [first] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(json ? `${toJson({ version: version() })}\n` : `${version()}\n`);
    return EXIT.ok;
  }
  const { name, rest } = commandOf(argv);
  try {
    if (name === undefined)
      throw new UsageError(
        first === undefined ? 'no command given' : `unknown command ${JSON.stringify(first)}`,
      );
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`usage:\n  ${COMMANDS[name]}\n`);
      return EXIT.ok;
    }
    return await (RUN[name] as (args: string[]) => Promise<number>)(rest);
  } catch (error) {
    const { code, kind } = classify(error);
    const message = messageOf(error);
    // A server's refusal carries its RFC 9457 problem (code, detail, requestId) as it was.
    const problem = error instanceof RefusedError ? error.problem : undefined;
    if (json)
      process.stdout.write(
        `${toJson({ ok: false, error: { code: kind, message, ...(problem ? { problem } : {}) } })}\n`,
      );
    else if (kind === 'usage')
      process.stderr.write(
        `tokenledger: ${message}\n${name ? `usage:\n  ${COMMANDS[name]}` : USAGE}\n`,
      );
    else process.stderr.write(`tokenledger: ${kind === 'internal' ? '' : `${kind}: `}${message}\n`);
    return code;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tokenledger: ${messageOf(error)}\n`);
    process.exit(EXIT.internal);
  },
);
