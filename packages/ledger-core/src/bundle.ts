// Evidence bundles: NDJSON, one JSON object per line. Two kinds, told apart by the first line:
//
// - A range bundle (`bundle` header, version 2) holds entries [from, to) of one log: the header
//   with the compact ranges of the prefix [0, from) and of the suffix [to, treeSize) (the hashes of
//   their perfect subtrees, left to right), the `keys` the ledger publishes (informative only:
//   never trusted), one signed `checkpoint` of size treeSize, then one `entry` per leaf with its
//   bytes and chain hash and no proof. The verifier recomputes the tree over prefix + entries +
//   suffix in one pass (a compact range: O(log n) memory) and compares the root with the
//   checkpoint's. Version 1 (each entry with its own inclusion proof, no prefix or suffix) is
//   still read.
// - A token's evidence (`evidence` header) holds every checkpointed entry of one token, across
//   logs: for each log (in logId order) a `log` line with its latest signed checkpoint and how
//   many entries follow, then those `log-entry` lines (index order), each with its inclusion proof
//   to that checkpoint.
//
// The one writer (formatBundleLine) and the one reader (parseBundleLine, BundleVerifier,
// verifyBundle) of both formats. Format and guarantees: docs/design/ledger.md.
import { hash } from 'node:crypto';
import { decodeBase64 } from './base64';
import { chainNext } from './chain';
import { CompactRange } from './compact-range';
import { parseLeaf } from './leaf';
import { isLogId, logIdOf } from './log-id';
import { verifyInclusion } from './proof';
import { HASH_SIZE, leafHash } from './rfc6962';
import { decompose } from './tree-plan';
import { verifyTrustedCheckpoint, type TrustPolicy } from './trust';

/** The range-bundle version the export writes. */
export const BUNDLE_VERSION = 2;
/** Range-bundle versions this reader verifies. */
export const BUNDLE_VERSIONS: readonly number[] = [1, 2];
export const EVIDENCE_VERSION = 1;

export interface BundleHeader {
  readonly type: 'bundle';
  /** 2: no per-entry proofs, prefix and suffix compact ranges. 1: a proof in each entry. */
  readonly version: 1 | 2;
  readonly logId: string;
  /** The checkpoint origin of the log. */
  readonly origin: string;
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
  readonly treeSize: number;
  /** chain[from - 1]: the linear chain value before `from` (32 zero bytes when from = 0). */
  readonly chainStart: Uint8Array;
  /** Version 2: hashes of the perfect subtrees of [0, from), left to right (one per set bit of from). */
  readonly prefix: readonly Uint8Array[];
  /** Version 2: hashes of the perfect subtrees `decompose(to, treeSize)`, left to right. */
  readonly suffix: readonly Uint8Array[];
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
  /** Version 1 only: audit path, leaf to root, in the tree of the checkpoint's size. */
  readonly proof?: readonly Uint8Array[];
}

/** First line of a token's evidence. */
export interface EvidenceHeader {
  readonly type: 'evidence';
  readonly version: typeof EVIDENCE_VERSION;
  readonly tokenId: string;
  /** How many `log` sections follow. */
  readonly logs: number;
}

/** Opens the section of one log: its latest signed checkpoint and how many entries follow. */
export interface EvidenceLog {
  readonly type: 'log';
  readonly logId: string;
  readonly size: number;
  readonly entries: number;
  /** The C2SP signed note (with the witnesses' cosignature lines). */
  readonly note: string;
}

export interface EvidenceEntry {
  readonly type: 'log-entry';
  readonly logId: string;
  readonly index: number;
  readonly leaf: Uint8Array;
  /** Audit path, leaf to root, in the tree of the section's checkpoint. */
  readonly proof: readonly Uint8Array[];
}

export type BundleLine =
  | BundleHeader
  | BundleKeys
  | BundleCheckpoint
  | BundleEntry
  | EvidenceHeader
  | EvidenceLog
  | EvidenceEntry;

const b64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * One NDJSON line (with its `\n`). Members are written in a fixed order: the bytes of an export
 * MUST stay the same for the same log and range.
 */
export function formatBundleLine(line: BundleLine): string {
  switch (line.type) {
    case 'bundle': {
      const { version, logId, origin, from, to, treeSize } = line;
      const chainStart = b64(line.chainStart);
      if (version === 1)
        return `${JSON.stringify({ type: 'bundle', version, logId, origin, from, to, treeSize, chainStart })}\n`;
      const prefix = line.prefix.map(b64);
      const suffix = line.suffix.map(b64);
      return `${JSON.stringify({ type: 'bundle', version, logId, origin, from, to, treeSize, chainStart, prefix, suffix })}\n`;
    }
    case 'keys':
      return `${JSON.stringify({ type: 'keys', keys: line.keys.map((k) => ({ name: k.name, verifierKey: k.verifierKey, active: k.active })) })}\n`;
    case 'checkpoint':
      return `${JSON.stringify({ type: 'checkpoint', size: line.size, note: line.note })}\n`;
    case 'entry':
      return line.proof
        ? `${JSON.stringify({ type: 'entry', index: line.index, leaf: b64(line.leaf), chainHash: b64(line.chainHash), proof: line.proof.map(b64) })}\n`
        : `{"type":"entry","index":${line.index},"leaf":"${b64(line.leaf)}","chainHash":"${b64(line.chainHash)}"}\n`;
    case 'evidence':
      return `${JSON.stringify({ type: 'evidence', version: line.version, tokenId: line.tokenId, logs: line.logs })}\n`;
    case 'log':
      return `${JSON.stringify({ type: 'log', logId: line.logId, size: line.size, entries: line.entries, note: line.note })}\n`;
    case 'log-entry':
      return `${JSON.stringify({ type: 'log-entry', logId: line.logId, index: line.index, leaf: b64(line.leaf), proof: line.proof.map(b64) })}\n`;
  }
}

export type BundleErrorCode =
  | 'malformed-line'
  | 'unknown-line-type'
  | 'unsupported-version'
  | 'out-of-place'
  | 'bad-range'
  | 'origin-mismatch'
  | 'checkpoint-failed'
  | 'size-mismatch'
  | 'entry-out-of-order'
  | 'entry-out-of-range'
  | 'inclusion-failed'
  | 'chain-mismatch'
  | 'root-mismatch'
  | 'not-token-entry'
  | 'incomplete'
  | 'truncated';

export interface BundleError {
  readonly code: BundleErrorCode;
  /**
   * The entry index the failure is about, when it is about one: the first index the bundle cannot
   * vouch for. For `root-mismatch` it is a bound (`from`): see verifyBundle.
   */
  readonly index?: number;
  /** The log of that index, in a token's evidence. */
  readonly logId?: string;
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
        readonly code: 'malformed-line' | 'unknown-line-type' | 'unsupported-version';
        readonly message: string;
      };
    };

const isCount = (x: unknown): x is number =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const hash32 = (x: unknown): Buffer | undefined => {
  const bytes = typeof x === 'string' ? decodeBase64(x) : undefined;
  return bytes?.length === HASH_SIZE ? bytes : undefined;
};
const hashList = (x: unknown): Buffer[] | undefined => {
  if (!Array.isArray(x)) return undefined;
  const out: Buffer[] = [];
  for (const item of x as unknown[]) {
    const h = hash32(item);
    if (!h) return undefined;
    out.push(h);
  }
  return out;
};

/** Reads one line of a bundle of either kind; trusts no shape, never throws. */
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
      if (version !== 1 && version !== 2)
        return {
          ok: false,
          error: {
            code: 'unsupported-version',
            message: `bundle version ${JSON.stringify(version)} is not supported: this verifier reads versions ${BUNDLE_VERSIONS.join(' and ')}`,
          },
        };
      if (typeof logId !== 'string' || typeof origin !== 'string')
        return malformed('bundle header: logId and origin must be strings');
      if (!isCount(from) || !isCount(to) || !isCount(treeSize))
        return malformed('bundle header: from, to and treeSize must be non-negative integers');
      const chainStart = hash32(item.chainStart);
      if (!chainStart)
        return malformed(`bundle header: chainStart is not the base64 of ${HASH_SIZE} bytes`);
      if (version === 1 && ('prefix' in item || 'suffix' in item))
        return malformed('bundle header: a version 1 header has no prefix or suffix');
      // Version 1 carries a proof per entry instead of the prefix and suffix compact ranges.
      const prefix = version === 1 ? [] : hashList(item.prefix);
      const suffix = version === 1 ? [] : hashList(item.suffix);
      if (!prefix || !suffix)
        return malformed(
          `bundle header: prefix and suffix must be lists of base64 ${HASH_SIZE}-byte hashes`,
        );
      return {
        ok: true,
        line: {
          type: 'bundle',
          version,
          logId,
          origin,
          from,
          to,
          treeSize,
          chainStart,
          prefix,
          suffix,
        },
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
      const chainHash = hash32(item.chainHash);
      if (!chainHash)
        return malformed(`entry ${index}: chainHash is not the base64 of ${HASH_SIZE} bytes`);
      if (!('proof' in item)) return { ok: true, line: { type: 'entry', index, leaf, chainHash } };
      const proof = hashList(item.proof);
      if (!proof)
        return malformed(`entry ${index}: proof is not a list of base64 ${HASH_SIZE}-byte hashes`);
      return { ok: true, line: { type: 'entry', index, leaf, chainHash, proof } };
    }
    case 'evidence': {
      const { version, tokenId, logs } = item;
      if (version !== EVIDENCE_VERSION)
        return {
          ok: false,
          error: {
            code: 'unsupported-version',
            message: `evidence version ${JSON.stringify(version)} is not supported: this verifier reads version ${EVIDENCE_VERSION}`,
          },
        };
      if (typeof tokenId !== 'string' || tokenId === '')
        return malformed('evidence header: tokenId must be a non-empty string');
      if (!isCount(logs)) return malformed('evidence header: logs must be a non-negative integer');
      return { ok: true, line: { type: 'evidence', version, tokenId, logs } };
    }
    case 'log': {
      const { logId, size, entries, note } = item;
      if (
        typeof logId !== 'string' ||
        !isCount(size) ||
        !isCount(entries) ||
        typeof note !== 'string'
      )
        return malformed('log: logId, size, entries and note required');
      return { ok: true, line: { type: 'log', logId, size, entries, note } };
    }
    case 'log-entry': {
      const { logId, index } = item;
      if (typeof logId !== 'string' || !isCount(index))
        return malformed('log-entry: logId and a non-negative integer index required');
      const leaf = typeof item.leaf === 'string' ? decodeBase64(item.leaf) : undefined;
      if (!leaf) return malformed(`log-entry ${logId}/${index}: leaf is not base64`);
      const proof = hashList(item.proof);
      if (!proof)
        return malformed(
          `log-entry ${logId}/${index}: proof is not a list of base64 ${HASH_SIZE}-byte hashes`,
        );
      return { ok: true, line: { type: 'log-entry', logId, index, leaf, proof } };
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

export interface RangeSummary {
  readonly kind: 'range';
  readonly version: 1 | 2;
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

export interface EvidenceLogSummary {
  readonly logId: string;
  readonly origin: string;
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
  readonly entries: number;
  readonly keys: readonly string[];
  readonly witnesses: readonly string[];
}

export interface EvidenceSummary {
  readonly kind: 'evidence';
  readonly tokenId: string;
  readonly entries: number;
  readonly logs: readonly EvidenceLogSummary[];
  readonly quorum: number;
}

export type BundleSummary = RangeSummary | EvidenceSummary;

export type BundleVerification =
  | { readonly ok: true; readonly summary: BundleSummary }
  | { readonly ok: false; readonly error: BundleError };

export interface VerifyBundleOptions {
  /** The verifier's pinned keys, witnesses and quorum. The bundle's `keys` line is never used. */
  readonly trust: TrustPolicy;
  /** Range bundles: entries checked so far and in all. */
  readonly onProgress?: (done: number, total: number) => void;
}

// The exact bytes formatBundleLine writes for a version 2 entry, read without JSON.parse (the
// hot path). Anything else, including a valid line with other spacing, goes through
// parseBundleLine, so this only ever accepts what JSON.parse would read the same way.
const ENTRY_HEAD = '{"type":"entry","index":';
const ENTRY_LEAF = ',"leaf":"';
const ENTRY_CHAIN = '","chainHash":"';
const B64_HASH_LENGTH = 44;

interface FastEntry {
  readonly index: number;
  /** The leaf hash. */
  readonly leafHash: Buffer;
  readonly chainHash: string;
}

/** 0x00 || leaf, decoded in place, reused from line to line (grows to the largest leaf). */
let leafInput = Buffer.alloc(4096);

function fastEntry(text: string): FastEntry | undefined {
  if (!text.startsWith(ENTRY_HEAD)) return undefined;
  const digits = ENTRY_HEAD.length;
  let at = digits;
  let index = 0;
  for (; at < text.length && at - digits < 16; at += 1) {
    const c = text.charCodeAt(at);
    if (c < 48 || c > 57) break;
    index = index * 10 + (c - 48);
  }
  if (at === digits || at - digits > 15 || (at - digits > 1 && text.charCodeAt(digits) === 48))
    return undefined;
  if (!text.startsWith(ENTRY_LEAF, at)) return undefined;
  const leafStart = at + ENTRY_LEAF.length;
  const leafEnd = text.indexOf('"', leafStart);
  if (leafEnd < 0 || !text.startsWith(ENTRY_CHAIN, leafEnd)) return undefined;
  const chainStart = leafEnd + ENTRY_CHAIN.length;
  const chainEnd = chainStart + B64_HASH_LENGTH;
  if (text.length !== chainEnd + 2 || !text.endsWith('"}')) return undefined;
  const leaf = text.slice(leafStart, leafEnd);
  const room = 1 + Math.ceil((leaf.length * 3) / 4);
  if (leafInput.length < room) leafInput = Buffer.alloc(Math.max(room, 2 * leafInput.length));
  leafInput[0] = 0;
  const n = leafInput.write(leaf, 1, 'base64');
  // Canonical standard base64 only: what Buffer decoded re-encodes to the same text.
  if (leafInput.toString('base64', 1, 1 + n) !== leaf) return undefined;
  return {
    index,
    leafHash: hash('sha256', leafInput.subarray(0, 1 + n), 'buffer'),
    chainHash: text.slice(chainStart, chainEnd),
  };
}

interface RangeState {
  readonly header: BundleHeader;
  checkpoint?: {
    size: number;
    rootHash: Buffer;
    keys: readonly string[];
    witnesses: readonly string[];
  };
  /** Version 2: prefix + entries so far. */
  readonly range: CompactRange | undefined;
  chain: Buffer;
  next: number;
}

interface EvidenceSection {
  readonly logId: string;
  readonly size: number;
  readonly rootHash: Buffer;
  readonly declared: number;
  seen: number;
  lastIndex: number;
}

interface EvidenceState {
  readonly header: EvidenceHeader;
  section: EvidenceSection | undefined;
  readonly logs: EvidenceLogSummary[];
  entries: number;
}

/**
 * Checks a bundle of either kind offline, one line at a time (`push`, then `finish`), trusting
 * nothing but the pinned policy it is given. Memory is O(log n) for a range bundle and O(number of
 * logs) for a token's evidence, whatever the number of entries. After the first failure every
 * call returns that failure. Never throws.
 *
 * Range bundle: the header's origin and the checkpoint's MUST be `<originPrefix>/<logId>` of the
 * log the header names; the checkpoint MUST pass verifyTrustedCheckpoint (pinned log key, quorum of
 * pinned witnesses) and have the header's tree size; entries MUST be exactly [from, to) in order;
 * each chain hash MUST follow from the previous one (so an entry changed without recomputing the
 * chain is named at its index); version 2: the root of prefix + entries + suffix MUST be the
 * checkpoint's root (`root-mismatch`, with index `from`: the signed root vouches for none of the
 * entries, and one root cannot tell which entry or prefix/suffix hash differs); version 1: each
 * entry's inclusion proof MUST verify (`inclusion-failed` names the entry).
 *
 * Token evidence: `log` sections in strictly increasing logId order, as many as the header says,
 * each checkpoint trusted as above for that log; in each, exactly the declared number of entries
 * in strictly increasing index below the checkpoint size, each with a verifying inclusion proof,
 * and each leaf an `event` leaf of that log whose event subject is the header's token.
 */
export class BundleVerifier {
  private readonly policy: TrustPolicy;
  private readonly onProgress: ((done: number, total: number) => void) | undefined;
  private lineNo = 0;
  private failure: BundleError | undefined;
  private range: RangeState | undefined;
  private evidence: EvidenceState | undefined;
  private keysSeen = false;

  constructor(options: VerifyBundleOptions) {
    this.policy = options.trust;
    this.onProgress = options.onProgress;
  }

  /** Feeds the next line (without its `\n`); blank lines are skipped. Returns a failure, if any. */
  push(text: string): BundleError | undefined {
    if (this.failure) return this.failure;
    this.lineNo += 1;
    const range = this.range;
    if (range?.range && range.checkpoint) {
      const fast = fastEntry(text);
      if (fast) {
        const failure = this.rangeEntry(
          range,
          fast.index,
          fast.leafHash,
          fast.chainHash,
          undefined,
        );
        return failure ? (this.failure = failure) : undefined;
      }
    }
    if (text.trim() === '') return undefined;
    const parsed = parseBundleLine(text);
    const failure = parsed.ok
      ? this.line(parsed.line)
      : this.error(parsed.error.code, `line ${this.lineNo}: ${parsed.error.message}`);
    if (failure) this.failure = failure;
    return failure;
  }

  /** After the last line: the summary, or the first failure. */
  finish(): BundleVerification {
    if (this.failure) return { ok: false, error: this.failure };
    const failure = this.range
      ? this.finishRange(this.range)
      : this.evidence
        ? this.finishEvidence(this.evidence)
        : this.error('incomplete', 'incomplete bundle: no header');
    if (typeof failure === 'object' && 'code' in failure) {
      this.failure = failure;
      return { ok: false, error: failure };
    }
    return { ok: true, summary: failure };
  }

  private error(
    code: BundleErrorCode,
    message: string,
    where: { index?: number; logId?: string; cause?: string; atLine?: boolean } = {},
  ): BundleError {
    return {
      code,
      message,
      ...(where.index !== undefined ? { index: where.index } : {}),
      ...(where.logId !== undefined ? { logId: where.logId } : {}),
      ...(where.atLine !== false && this.lineNo > 0 ? { line: this.lineNo } : {}),
      ...(where.cause !== undefined ? { cause: where.cause } : {}),
    };
  }

  private line(line: BundleLine): BundleError | undefined {
    const first = !this.range && !this.evidence;
    switch (line.type) {
      case 'bundle':
        return first ? this.rangeHeader(line) : this.error('out-of-place', 'a second header');
      case 'evidence':
        if (!first) return this.error('out-of-place', 'a second header');
        this.evidence = { header: line, section: undefined, logs: [], entries: 0 };
        return undefined;
      case 'keys':
        // Informative only: trust comes from the policy.
        if (first || this.keysSeen)
          return this.error('out-of-place', 'the keys line must follow the header, once');
        this.keysSeen = true;
        return undefined;
      case 'checkpoint':
        return this.range
          ? this.rangeCheckpoint(this.range, line)
          : this.error('out-of-place', 'a checkpoint must follow the bundle header, once');
      case 'entry': {
        const range = this.range;
        if (!range?.checkpoint)
          return this.error('out-of-place', 'entry before the bundle header and checkpoint');
        if (range.header.version === 1 && !line.proof)
          return this.error(
            'malformed-line',
            `entry ${line.index}: a version 1 entry needs its proof`,
            {
              index: line.index,
            },
          );
        if (range.header.version === 2 && line.proof)
          return this.error(
            'malformed-line',
            `entry ${line.index}: a version 2 entry carries no proof`,
            { index: line.index },
          );
        return this.rangeEntry(range, line.index, leafHash(line.leaf), line.chainHash, line.proof);
      }
      case 'log':
        return this.evidence
          ? this.evidenceLog(this.evidence, line)
          : this.error('out-of-place', 'a log section outside a token evidence bundle');
      case 'log-entry':
        return this.evidence
          ? this.evidenceEntry(this.evidence, line)
          : this.error('out-of-place', 'a log-entry outside a token evidence bundle');
    }
  }

  private rangeHeader(line: BundleHeader): BundleError | undefined {
    const policy = this.policy;
    if (line.from > line.to || line.to > line.treeSize)
      return this.error(
        'bad-range',
        `entries [${line.from}, ${line.to}) are not within the tree of size ${line.treeSize}`,
      );
    if (line.origin !== `${policy.originPrefix}/${line.logId}`)
      return this.error(
        'origin-mismatch',
        `the bundle says log ${line.logId} with origin ${line.origin}, but that log's origin is ${policy.originPrefix}/${line.logId}`,
      );
    let range: CompactRange | undefined;
    if (line.version === 2) {
      const prefixNodes = decompose(0, line.from).length;
      const suffixNodes = decompose(line.to, line.treeSize).length;
      if (line.prefix.length !== prefixNodes || line.suffix.length !== suffixNodes)
        return this.error(
          'bad-range',
          `entries [${line.from}, ${line.to}) of a tree of ${line.treeSize} need ${prefixNodes} prefix and ${suffixNodes} suffix hashes, the header has ${line.prefix.length} and ${line.suffix.length}`,
        );
      range = new CompactRange(
        line.from,
        line.prefix.map((h) => Buffer.from(h)),
      );
    }
    this.range = { header: line, range, chain: Buffer.from(line.chainStart), next: line.from };
    return undefined;
  }

  private rangeCheckpoint(state: RangeState, line: BundleCheckpoint): BundleError | undefined {
    if (state.checkpoint)
      return this.error('out-of-place', 'a checkpoint must follow the bundle header, once');
    const { header } = state;
    const opened = verifyTrustedCheckpoint(line.note, this.policy, header.logId);
    if (!opened.ok)
      return this.error(
        'checkpoint-failed',
        `checkpoint: ${opened.error.code}: ${opened.error.message}`,
        { cause: opened.error.code },
      );
    const signed = opened.trusted.checkpoint;
    if (signed.size !== header.treeSize || line.size !== header.treeSize)
      return this.error(
        'size-mismatch',
        `checkpoint size ${signed.size} differs from the bundle's tree size ${header.treeSize}`,
      );
    state.checkpoint = {
      size: signed.size,
      rootHash: signed.rootHash,
      keys: opened.trusted.logKeys,
      witnesses: opened.trusted.cosignatures.map((c) => c.witness),
    };
    return undefined;
  }

  private rangeEntry(
    state: RangeState,
    index: number,
    leafHash: Buffer,
    chainHash: string | Uint8Array,
    proof: readonly Uint8Array[] | undefined,
  ): BundleError | undefined {
    const { header } = state;
    if (index !== state.next)
      return this.error(
        'entry-out-of-order',
        `expected entry ${state.next}, found ${index} (missing or reordered entries)`,
        { index: state.next },
      );
    if (index >= header.to)
      return this.error(
        'entry-out-of-range',
        `entry ${index} is past the bundle's range [${header.from}, ${header.to})`,
        { index },
      );
    if (proof) {
      const cp = state.checkpoint as { size: number; rootHash: Buffer };
      const included = verifyInclusion(leafHash, index, cp.size, proof, cp.rootHash);
      if (!included.ok)
        return this.error(
          'inclusion-failed',
          `entry ${index} is not in the signed tree: ${included.error.message}`,
          { index },
        );
    }
    const chain = chainNext(state.chain, leafHash);
    const follows =
      typeof chainHash === 'string'
        ? chain.toString('base64') === chainHash
        : chain.equals(chainHash);
    if (!follows) {
      if (typeof chainHash === 'string' && !hash32(chainHash))
        return this.error(
          'malformed-line',
          `line ${this.lineNo}: entry ${index}: chainHash is not the base64 of ${HASH_SIZE} bytes`,
        );
      return this.error(
        'chain-mismatch',
        `entry ${index}: chain hash does not follow from the previous entries`,
        { index },
      );
    }
    state.chain = chain;
    state.range?.append(leafHash);
    state.next = index + 1;
    this.onProgress?.(state.next - header.from, header.to - header.from);
    return undefined;
  }

  private finishRange(state: RangeState): BundleError | RangeSummary {
    const { header, checkpoint } = state;
    if (!checkpoint)
      return this.error('incomplete', 'incomplete bundle: no checkpoint', { atLine: false });
    if (state.next !== header.to)
      return this.error(
        'truncated',
        `bundle ends at entry ${state.next}, but says it holds entries up to ${header.to}`,
        { index: state.next, atLine: false },
      );
    if (state.range) {
      const range = state.range;
      decompose(header.to, header.treeSize).forEach((n, i) =>
        range.appendSubtree(n.level, Buffer.from(header.suffix[i] as Uint8Array)),
      );
      const root = range.root();
      if (!root.equals(checkpoint.rootHash))
        return this.error(
          'root-mismatch',
          `the ${header.from > 0 ? 'prefix hashes, ' : ''}entries [${header.from}, ${header.to})${header.to < header.treeSize ? ' and suffix hashes' : ''} give root ${root.toString('base64')}, the checkpoint signs ${checkpoint.rootHash.toString('base64')}: the signature vouches for none of these entries`,
          { index: header.from, atLine: false },
        );
    }
    const { version, logId, origin, treeSize, from, to } = header;
    return {
      kind: 'range',
      version,
      logId,
      origin,
      treeSize,
      rootHash: checkpoint.rootHash,
      from,
      to,
      entries: to - from,
      keys: checkpoint.keys,
      witnesses: checkpoint.witnesses,
      quorum: this.policy.quorum,
    };
  }

  private evidenceLog(state: EvidenceState, line: EvidenceLog): BundleError | undefined {
    const open = state.section;
    if (open && open.seen < open.declared)
      return this.error(
        'truncated',
        `log ${open.logId} declares ${open.declared} entries, only ${open.seen} came before the next log`,
        { logId: open.logId },
      );
    if (state.logs.length >= state.header.logs)
      return this.error('out-of-place', `more log sections than the ${state.header.logs} declared`);
    if (!isLogId(line.logId))
      return this.error('malformed-line', `log: ${JSON.stringify(line.logId)} is not a log id`);
    if (open && line.logId <= open.logId)
      return this.error(
        'out-of-place',
        `log ${line.logId} after ${open.logId}: sections must be in increasing logId order, each once`,
      );
    const opened = verifyTrustedCheckpoint(line.note, this.policy, line.logId);
    if (!opened.ok)
      return this.error(
        'checkpoint-failed',
        `checkpoint of ${line.logId}: ${opened.error.code}: ${opened.error.message}`,
        { cause: opened.error.code, logId: line.logId },
      );
    const signed = opened.trusted.checkpoint;
    if (signed.size !== line.size)
      return this.error(
        'size-mismatch',
        `checkpoint of ${line.logId} has size ${signed.size}, the log line says ${line.size}`,
        { logId: line.logId },
      );
    state.section = {
      logId: line.logId,
      size: signed.size,
      rootHash: signed.rootHash,
      declared: line.entries,
      seen: 0,
      lastIndex: -1,
    };
    state.logs.push({
      logId: line.logId,
      origin: signed.origin,
      treeSize: signed.size,
      rootHash: signed.rootHash,
      entries: line.entries,
      keys: opened.trusted.logKeys,
      witnesses: opened.trusted.cosignatures.map((c) => c.witness),
    });
    return undefined;
  }

  private evidenceEntry(state: EvidenceState, line: EvidenceEntry): BundleError | undefined {
    const section = state.section;
    const where = { index: line.index, logId: line.logId };
    if (!section || line.logId !== section.logId)
      return this.error(
        'entry-out-of-order',
        `entry ${line.logId}/${line.index} outside its log's section${section ? ` (in the section of ${section.logId})` : ''}`,
        where,
      );
    if (line.index <= section.lastIndex)
      return this.error(
        'entry-out-of-order',
        `entry ${line.index} of ${line.logId} after entry ${section.lastIndex}: indexes must increase`,
        where,
      );
    if (line.index >= section.size || section.seen >= section.declared)
      return this.error(
        'entry-out-of-range',
        line.index >= section.size
          ? `entry ${line.index} is past the checkpoint of ${line.logId} (size ${section.size})`
          : `log ${line.logId} declares ${section.declared} entries, this is one more`,
        where,
      );
    const included = verifyInclusion(
      leafHash(line.leaf),
      line.index,
      section.size,
      line.proof,
      section.rootHash,
    );
    if (!included.ok)
      return this.error(
        'inclusion-failed',
        `entry ${line.index} of ${line.logId} is not in the signed tree: ${included.error.message}`,
        where,
      );
    const leaf = parseLeaf(line.leaf);
    const tokenId = state.header.tokenId;
    if (!leaf.ok || leaf.leaf.kind !== 'event' || leaf.leaf.event.subject !== tokenId)
      return this.error(
        'not-token-entry',
        `entry ${line.index} of ${line.logId} is ${leaf.ok ? (leaf.leaf.kind === 'event' ? 'an event of another subject' : `a ${leaf.leaf.kind} leaf`) : `not a leaf (${leaf.error.code})`}, not an event of token ${tokenId}`,
        where,
      );
    if (logIdOf(leaf.leaf.topic, leaf.leaf.partition) !== line.logId)
      return this.error(
        'not-token-entry',
        `entry ${line.index} of ${line.logId} records a position in ${logIdOf(leaf.leaf.topic, leaf.leaf.partition)}`,
        where,
      );
    section.seen += 1;
    section.lastIndex = line.index;
    state.entries += 1;
    return undefined;
  }

  private finishEvidence(state: EvidenceState): BundleError | EvidenceSummary {
    const open = state.section;
    if (open && open.seen < open.declared)
      return this.error(
        'truncated',
        `log ${open.logId} declares ${open.declared} entries, the bundle ends after ${open.seen}`,
        { logId: open.logId, atLine: false },
      );
    if (state.logs.length < state.header.logs)
      return this.error(
        'truncated',
        `the header declares ${state.header.logs} logs, the bundle ends after ${state.logs.length}`,
        { atLine: false },
      );
    return {
      kind: 'evidence',
      tokenId: state.header.tokenId,
      entries: state.entries,
      logs: state.logs,
      quorum: this.policy.quorum,
    };
  }
}

/** verifyBundle over lines already in memory (tests, small bundles); see BundleVerifier. */
export function verifyBundle(
  lines: Iterable<string>,
  options: VerifyBundleOptions,
): BundleVerification {
  const verifier = new BundleVerifier(options);
  for (const text of lines) if (verifier.push(text)) break;
  return verifier.finish();
}
