// The evidence bundle: NDJSON, one JSON object per line, in this order: a `bundle` header, the
// `keys` the ledger publishes (informative only: never trusted), one signed `checkpoint` (with
// the witnesses' cosignature lines when it was witnessed), then one `entry` per leaf of [from, to),
// each with its leaf bytes, chain hash and inclusion proof against that checkpoint. The one writer
// (formatBundleLine) and the one reader (parseBundleLine, verifyBundle) of that format.
import { decodeBase64 } from './base64';
import { ChainVerifier } from './chain';
import { verifyInclusion } from './proof';
import { HASH_SIZE, leafHash } from './rfc6962';
import { verifyTrustedCheckpoint, type TrustPolicy } from './trust';

export const BUNDLE_VERSION = 1;

export interface BundleHeader {
  readonly type: 'bundle';
  readonly version: typeof BUNDLE_VERSION;
  readonly logId: string;
  /** The checkpoint origin of the log. */
  readonly origin: string;
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
  readonly treeSize: number;
  /** chain[from - 1]: the linear chain value before `from` (32 zero bytes when from = 0). */
  readonly chainStart: Uint8Array;
}

export interface BundleKey {
  readonly name: string;
  readonly verifierKey: string;
  readonly active: boolean;
}

export interface BundleKeys {
  readonly type: 'keys';
  readonly keys: readonly BundleKey[];
}

export interface BundleCheckpoint {
  readonly type: 'checkpoint';
  readonly size: number;
  /** The C2SP signed note. */
  readonly note: string;
}

export interface BundleEntry {
  readonly type: 'entry';
  readonly index: number;
  readonly leaf: Uint8Array;
  readonly chainHash: Uint8Array;
  /** Audit path, leaf to root, in the tree of the checkpoint's size. */
  readonly proof: readonly Uint8Array[];
}

export type BundleLine = BundleHeader | BundleKeys | BundleCheckpoint | BundleEntry;

const b64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * One NDJSON line (with its `\n`). Members are written in a fixed order: the bytes of an export
 * MUST stay the same for the same log and range.
 */
export function formatBundleLine(line: BundleLine): string {
  switch (line.type) {
    case 'bundle': {
      const { logId, origin, from, to, treeSize } = line;
      return `${JSON.stringify({ type: 'bundle', version: line.version, logId, origin, from, to, treeSize, chainStart: b64(line.chainStart) })}\n`;
    }
    case 'keys':
      return `${JSON.stringify({ type: 'keys', keys: line.keys.map((k) => ({ name: k.name, verifierKey: k.verifierKey, active: k.active })) })}\n`;
    case 'checkpoint':
      return `${JSON.stringify({ type: 'checkpoint', size: line.size, note: line.note })}\n`;
    case 'entry':
      return `${JSON.stringify({ type: 'entry', index: line.index, leaf: b64(line.leaf), chainHash: b64(line.chainHash), proof: line.proof.map(b64) })}\n`;
  }
}

export type BundleErrorCode =
  | 'malformed-line'
  | 'unknown-line-type'
  | 'out-of-place'
  | 'bad-range'
  | 'origin-mismatch'
  | 'checkpoint-failed'
  | 'size-mismatch'
  | 'entry-out-of-order'
  | 'entry-out-of-range'
  | 'inclusion-failed'
  | 'chain-mismatch'
  | 'incomplete'
  | 'truncated';

export interface BundleError {
  readonly code: BundleErrorCode;
  /** The entry index the failure is about, when it is about one. */
  readonly index?: number;
  /** 1-based line number in the bundle, when the failure is on a line. */
  readonly line?: number;
  readonly message: string;
  /** For 'checkpoint-failed': the trust check's code (key-mismatch, quorum-not-met, ...). */
  readonly cause?: string;
}

export type ParseBundleLineResult =
  | { readonly ok: true; readonly line: BundleLine }
  | {
      readonly ok: false;
      readonly error: {
        readonly code: 'malformed-line' | 'unknown-line-type';
        readonly message: string;
      };
    };

const isCount = (x: unknown): x is number =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const hash = (x: unknown): Buffer | undefined => {
  const bytes = typeof x === 'string' ? decodeBase64(x) : undefined;
  return bytes?.length === HASH_SIZE ? bytes : undefined;
};

/** Reads one line of a bundle; trusts no shape, never throws. */
export function parseBundleLine(text: string): ParseBundleLineResult {
  const malformed = (message: string): ParseBundleLineResult => ({
    ok: false,
    error: { code: 'malformed-line', message },
  });
  let item: unknown;
  try {
    item = JSON.parse(text);
  } catch {
    return malformed('not JSON');
  }
  if (!isRecord(item)) return malformed('not a JSON object');
  switch (item.type) {
    case 'bundle': {
      const { version, logId, origin, from, to, treeSize } = item;
      if (version !== BUNDLE_VERSION)
        return malformed(`bundle version ${JSON.stringify(version)} is not ${BUNDLE_VERSION}`);
      if (typeof logId !== 'string' || typeof origin !== 'string')
        return malformed('bundle header: logId and origin must be strings');
      if (!isCount(from) || !isCount(to) || !isCount(treeSize))
        return malformed('bundle header: from, to and treeSize must be non-negative integers');
      const chainStart = hash(item.chainStart);
      if (!chainStart)
        return malformed(`bundle header: chainStart is not the base64 of ${HASH_SIZE} bytes`);
      return {
        ok: true,
        line: { type: 'bundle', version, logId, origin, from, to, treeSize, chainStart },
      };
    }
    case 'keys': {
      if (!Array.isArray(item.keys)) return malformed('keys: not a list');
      const keys: BundleKey[] = [];
      for (const k of item.keys as unknown[]) {
        if (
          !isRecord(k) ||
          typeof k.name !== 'string' ||
          typeof k.verifierKey !== 'string' ||
          typeof k.active !== 'boolean'
        ) {
          return malformed('keys: each key has a name, a verifierKey and active');
        }
        keys.push({ name: k.name, verifierKey: k.verifierKey, active: k.active });
      }
      return { ok: true, line: { type: 'keys', keys } };
    }
    case 'checkpoint':
      if (!isCount(item.size) || typeof item.note !== 'string')
        return malformed('checkpoint: size and note required');
      return { ok: true, line: { type: 'checkpoint', size: item.size, note: item.note } };
    case 'entry': {
      const { index } = item;
      if (!isCount(index)) return malformed('entry: index must be a non-negative integer');
      const leaf = typeof item.leaf === 'string' ? decodeBase64(item.leaf) : undefined;
      if (!leaf) return malformed(`entry ${index}: leaf is not base64`);
      const chainHash = hash(item.chainHash);
      if (!chainHash)
        return malformed(`entry ${index}: chainHash is not the base64 of ${HASH_SIZE} bytes`);
      if (!Array.isArray(item.proof)) return malformed(`entry ${index}: proof is not a list`);
      const proof: Buffer[] = [];
      for (const p of item.proof as unknown[]) {
        const h = hash(p);
        if (!h)
          return malformed(`entry ${index}: proof hash is not the base64 of ${HASH_SIZE} bytes`);
        proof.push(h);
      }
      return { ok: true, line: { type: 'entry', index, leaf, chainHash, proof } };
    }
    default:
      return {
        ok: false,
        error: {
          code: 'unknown-line-type',
          message: `unknown line type ${JSON.stringify(item.type)}`,
        },
      };
  }
}

export interface BundleSummary {
  readonly logId: string;
  readonly origin: string;
  readonly treeSize: number;
  /** Root hash of the signed tree of size treeSize. */
  readonly rootHash: Uint8Array;
  readonly from: number;
  readonly to: number;
  readonly entries: number;
  /** The pinned log keys whose signature on the checkpoint verified. */
  readonly keys: readonly string[];
  /** The pinned witnesses whose cosignature verified (verifier keys). */
  readonly witnesses: readonly string[];
  /** The quorum that was required. */
  readonly quorum: number;
}

export type BundleVerification =
  | { readonly ok: true; readonly summary: BundleSummary }
  | { readonly ok: false; readonly error: BundleError };

export interface VerifyBundleOptions {
  /** The verifier's pinned keys, witnesses and quorum. The bundle's `keys` line is never used. */
  readonly trust: TrustPolicy;
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Checks a bundle offline, trusting nothing but the pinned policy it is given: the header's origin
 * and the checkpoint's MUST be `<originPrefix>/<logId>` of the log the header names; the
 * checkpoint MUST pass verifyTrustedCheckpoint (pinned log key, quorum of pinned witnesses);
 * then each entry's inclusion proof against that checkpoint, the linear chain across the entries,
 * and that the entries are exactly [from, to). Blank lines are skipped. Stops at the first
 * failure, with its code, the entry index when there is one, and the line. Never throws.
 */
export function verifyBundle(
  lines: Iterable<string>,
  options: VerifyBundleOptions,
): BundleVerification {
  const policy = options.trust;
  let header: BundleHeader | undefined;
  let keyStrings: readonly string[] = [];
  let witnesses: readonly string[] = [];
  let checkpoint: { size: number; rootHash: Uint8Array } | undefined;
  let chain = new ChainVerifier();
  let lineNo = 0;
  const fail = (
    code: BundleErrorCode,
    message: string,
    index?: number,
    cause?: string,
  ): BundleVerification => ({
    ok: false,
    error: {
      code,
      message,
      ...(index !== undefined ? { index } : {}),
      ...(lineNo > 0 ? { line: lineNo } : {}),
      ...(cause !== undefined ? { cause } : {}),
    },
  });

  for (const text of lines) {
    lineNo += 1;
    if (text.trim() === '') continue;
    const parsed = parseBundleLine(text);
    if (!parsed.ok) return fail(parsed.error.code, `line ${lineNo}: ${parsed.error.message}`);
    const line = parsed.line;
    switch (line.type) {
      case 'bundle':
        if (header) return fail('out-of-place', 'a second bundle header');
        if (line.from > line.to || line.to > line.treeSize) {
          return fail(
            'bad-range',
            `entries [${line.from}, ${line.to}) are not within the tree of size ${line.treeSize}`,
          );
        }
        if (line.origin !== `${policy.originPrefix}/${line.logId}`)
          return fail(
            'origin-mismatch',
            `the bundle says log ${line.logId} with origin ${line.origin}, but that log's origin is ${policy.originPrefix}/${line.logId}`,
          );
        header = line;
        chain = new ChainVerifier(line.chainStart, line.from);
        break;
      case 'keys':
        // Informative only: trust comes from the policy.
        break;
      case 'checkpoint': {
        if (!header || checkpoint)
          return fail('out-of-place', 'a checkpoint must follow the bundle header, once');
        const opened = verifyTrustedCheckpoint(line.note, policy, header.logId);
        if (!opened.ok)
          return fail(
            'checkpoint-failed',
            `checkpoint: ${opened.error.code}: ${opened.error.message}`,
            undefined,
            opened.error.code,
          );
        const signed = opened.trusted.checkpoint;
        if (signed.size !== header.treeSize || line.size !== header.treeSize) {
          return fail(
            'size-mismatch',
            `checkpoint size ${signed.size} differs from the bundle's tree size ${header.treeSize}`,
          );
        }
        checkpoint = signed;
        keyStrings = opened.trusted.logKeys;
        witnesses = opened.trusted.cosignatures.map((c) => c.witness);
        break;
      }
      case 'entry': {
        if (!header || !checkpoint)
          return fail('out-of-place', 'entry before the bundle header and checkpoint');
        const expected = chain.next;
        if (line.index !== expected) {
          return fail(
            'entry-out-of-order',
            `expected entry ${expected}, found ${line.index} (missing or reordered entries)`,
            expected,
          );
        }
        if (line.index >= header.to)
          return fail(
            'entry-out-of-range',
            `entry ${line.index} is past the bundle's range [${header.from}, ${header.to})`,
            line.index,
          );
        const h = leafHash(line.leaf);
        const included = verifyInclusion(
          h,
          line.index,
          checkpoint.size,
          line.proof,
          checkpoint.rootHash,
        );
        if (!included.ok)
          return fail(
            'inclusion-failed',
            `entry ${line.index} is not in the signed tree: ${included.error.message}`,
            line.index,
          );
        const broken = chain.check(h, line.chainHash);
        if (broken)
          return fail(
            'chain-mismatch',
            `entry ${line.index}: chain hash does not follow from the previous entries`,
            broken.index,
          );
        options.onProgress?.(chain.next - header.from, header.to - header.from);
        break;
      }
    }
  }
  if (!header || !checkpoint)
    return fail('incomplete', 'incomplete bundle: no header or no checkpoint');
  if (chain.next !== header.to)
    return fail(
      'truncated',
      `bundle ends at entry ${chain.next}, but says it holds entries up to ${header.to}`,
      chain.next,
    );
  const { logId, origin, treeSize, from, to } = header;
  return {
    ok: true,
    summary: {
      logId,
      origin,
      treeSize,
      rootHash: checkpoint.rootHash,
      from,
      to,
      entries: to - from,
      keys: keyStrings,
      witnesses,
      quorum: policy.quorum,
    },
  };
}
