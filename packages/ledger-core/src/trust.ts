// Pinned trust: which log keys, witnesses and quorum a verifier accepts, chosen by the verifier and
// never read from what is verified (a bundle's `keys` line, a ledger's `/v1/ledger/keys`, its
// database). One check of a checkpoint note against such a policy, used by the CLI, the bundle
// reader and the ledger's own verifier. Format and rules: docs/design/trust.md.
import { parseCheckpoint, type Checkpoint } from './checkpoint';
import {
  openCosignatures,
  parseCosignerVerifierKey,
  type CosignatureVerifier,
} from './cosignature';
import { openNote, parseVerifierKey, type NoteVerifier } from './note';
import type { Failure } from './result';

/** The default `LEDGER_ORIGIN`: checkpoint origins are `<prefix>/<logId>`. */
export const DEFAULT_ORIGIN_PREFIX = 'tokenledger.local/ledger';
export const TRUST_FILE_VERSION = 1;

export interface PinnedLogKey {
  /** `<name>+<hex key ID>+<base64(0x01 || key)>`. */
  readonly verifierKey: string;
  readonly verifier: NoteVerifier;
  /**
   * POSIX seconds. A retired key is accepted only for checkpoints shown to exist before this time
   * by pinned witnesses (see verifyTrustedCheckpoint); absent for an active key.
   */
  readonly retiredAt?: number;
}

export interface PinnedWitness {
  /** `<name>+<hex key ID>+<base64(0x04 || key)>`. */
  readonly verifierKey: string;
  readonly verifier: CosignatureVerifier;
}

export interface TrustPolicy {
  /** Checkpoint origins MUST be exactly `<originPrefix>/<logId>`. */
  readonly originPrefix: string;
  /** At least one. */
  readonly logKeys: readonly PinnedLogKey[];
  /** Distinct names. */
  readonly witnesses: readonly PinnedWitness[];
  /** Valid cosignatures by distinct pinned witnesses a checkpoint needs; 0 ≤ quorum ≤ witnesses. */
  readonly quorum: number;
}

export interface TrustError {
  readonly code: 'invalid-trust';
  /** The offending field, as a path into the trust file (`logKeys[1].retired`) or a flag name. */
  readonly field: string;
  readonly message: string;
}

export type TrustPolicyResult =
  | { readonly ok: true; readonly policy: TrustPolicy }
  | { readonly ok: false; readonly error: TrustError };

export interface LogKeyInput {
  readonly verifierKey: string;
  /** RFC 3339 time, or POSIX seconds. */
  readonly retired?: string | number;
}

export interface TrustPolicyInput {
  readonly originPrefix?: string;
  readonly logKeys: readonly (string | LogKeyInput)[];
  readonly witnesses?: readonly string[];
  /** Default: 1 when any witness is pinned, else 0. */
  readonly quorum?: number;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

const invalid = (field: string, message: string): TrustPolicyResult => ({
  ok: false,
  error: { code: 'invalid-trust', field, message: `${field}: ${message}` },
});

/** RFC 3339 (with a zone) to POSIX seconds, or undefined. */
export function parseRfc3339Seconds(text: string): number | undefined {
  if (!RFC3339.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/**
 * `<vkey>` or `<vkey>;retired=<RFC 3339 time>`, the form of `--log-key` and of
 * LEDGER_TRUSTED_KEYS entries. Never throws.
 */
export function parseLogKeyEntry(
  entry: string,
): { ok: true; key: LogKeyInput } | Failure<'invalid-trust'> {
  const [verifierKey = '', ...options] = entry.split(';');
  let retired: string | undefined;
  for (const option of options) {
    const match = /^retired=(.+)$/.exec(option);
    if (!match?.[1])
      return {
        ok: false,
        error: {
          code: 'invalid-trust',
          message: `unknown option ${JSON.stringify(option)} (only retired=<RFC 3339 time>)`,
        },
      };
    retired = match[1];
  }
  return { ok: true, key: { verifierKey, ...(retired !== undefined ? { retired } : {}) } };
}

/** Builds a policy from pinned inputs, checking every field; never throws. */
export function trustPolicy(input: TrustPolicyInput): TrustPolicyResult {
  const originPrefix = input.originPrefix ?? DEFAULT_ORIGIN_PREFIX;
  if (
    typeof originPrefix !== 'string' ||
    originPrefix.length === 0 ||
    /\s/u.test(originPrefix) ||
    originPrefix.endsWith('/')
  )
    return invalid('originPrefix', 'must be a non-empty origin without spaces or a trailing "/"');

  if (input.logKeys.length === 0)
    return invalid(
      'logKeys',
      'no log key pinned: pin the verifier key of the log you trust (keys carried by what is verified are never trusted)',
    );
  const logKeys: PinnedLogKey[] = [];
  for (const [i, entry] of input.logKeys.entries()) {
    const field = `logKeys[${i}]`;
    const key: LogKeyInput = typeof entry === 'string' ? { verifierKey: entry } : entry;
    if (typeof key.verifierKey !== 'string')
      return invalid(`${field}.verifierKey`, 'must be a string');
    const parsed = parseVerifierKey(key.verifierKey);
    if (!parsed.ok)
      return invalid(
        typeof entry === 'string' ? field : `${field}.verifierKey`,
        `${parsed.error.code}: ${parsed.error.message}`,
      );
    let retiredAt: number | undefined;
    if (key.retired !== undefined) {
      retiredAt =
        typeof key.retired === 'number'
          ? Number.isSafeInteger(key.retired) && key.retired >= 0
            ? key.retired
            : undefined
          : typeof key.retired === 'string'
            ? parseRfc3339Seconds(key.retired)
            : undefined;
      if (retiredAt === undefined)
        return invalid(
          `${field}.retired`,
          `${JSON.stringify(key.retired)} is not an RFC 3339 time with a zone (2026-01-31T00:00:00Z)`,
        );
    }
    if (logKeys.some((k) => k.verifierKey === key.verifierKey))
      return invalid(field, `${key.verifierKey} is pinned twice`);
    logKeys.push({
      verifierKey: key.verifierKey,
      verifier: parsed.verifier,
      ...(retiredAt !== undefined ? { retiredAt } : {}),
    });
  }

  const witnesses: PinnedWitness[] = [];
  for (const [i, vkey] of (input.witnesses ?? []).entries()) {
    const field = `witnesses[${i}]`;
    if (typeof vkey !== 'string') return invalid(field, 'must be a witness verifier key string');
    const parsed = parseCosignerVerifierKey(vkey);
    if (!parsed.ok) return invalid(field, `${parsed.error.code}: ${parsed.error.message}`);
    if (witnesses.some((w) => w.verifier.name === parsed.verifier.name))
      return invalid(field, `witness ${parsed.verifier.name} is pinned twice`);
    witnesses.push({ verifierKey: vkey, verifier: parsed.verifier });
  }

  const quorum = input.quorum ?? Math.min(1, witnesses.length);
  if (!Number.isSafeInteger(quorum) || quorum < 0)
    return invalid('quorum', `${String(quorum)} is not a non-negative integer`);
  if (quorum > witnesses.length)
    return invalid('quorum', `is ${quorum} but only ${witnesses.length} witness(es) are pinned`);
  return { ok: true, policy: { originPrefix, logKeys, witnesses, quorum } };
}

const TRUST_FILE_FIELDS = ['version', 'originPrefix', 'logKeys', 'witnesses', 'quorum'];
const LOG_KEY_FIELDS = ['verifierKey', 'retired'];

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Parses a trust file (JSON, schema in docs/design/trust.md): strict, an unknown member or a
 * wrong type is an error naming the field. Never throws.
 */
export function parseTrustFile(text: string): TrustPolicyResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return invalid('(file)', `not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isRecord(json)) return invalid('(file)', 'must be a JSON object');
  for (const name of Object.keys(json))
    if (!TRUST_FILE_FIELDS.includes(name))
      return invalid(name, `unknown field (expected ${TRUST_FILE_FIELDS.join(', ')})`);
  if (json.version !== TRUST_FILE_VERSION)
    return invalid('version', `must be ${TRUST_FILE_VERSION}, got ${JSON.stringify(json.version)}`);
  if (typeof json.originPrefix !== 'string')
    return invalid('originPrefix', 'required, a string such as "tokenledger.local/ledger"');
  if (!Array.isArray(json.logKeys)) return invalid('logKeys', 'required, a list');
  const logKeys: (string | LogKeyInput)[] = [];
  for (const [i, k] of (json.logKeys as unknown[]).entries()) {
    const field = `logKeys[${i}]`;
    if (typeof k === 'string') {
      logKeys.push(k);
      continue;
    }
    if (!isRecord(k))
      return invalid(field, 'must be a verifier key string or {"verifierKey", "retired"?}');
    for (const name of Object.keys(k))
      if (!LOG_KEY_FIELDS.includes(name))
        return invalid(`${field}.${name}`, 'unknown field (expected verifierKey, retired)');
    if (typeof k.verifierKey !== 'string')
      return invalid(`${field}.verifierKey`, 'required, a string');
    if (k.retired !== undefined && typeof k.retired !== 'string')
      return invalid(`${field}.retired`, 'must be an RFC 3339 time string');
    logKeys.push({
      verifierKey: k.verifierKey,
      ...(k.retired !== undefined ? { retired: k.retired } : {}),
    });
  }
  const witnesses = json.witnesses ?? [];
  if (!Array.isArray(witnesses)) return invalid('witnesses', 'must be a list of verifier keys');
  for (const [i, w] of (witnesses as unknown[]).entries())
    if (typeof w !== 'string') return invalid(`witnesses[${i}]`, 'must be a verifier key string');
  if (json.quorum !== undefined && typeof json.quorum !== 'number')
    return invalid('quorum', 'must be a number');
  return trustPolicy({
    originPrefix: json.originPrefix,
    logKeys,
    witnesses: witnesses as string[],
    ...(json.quorum !== undefined ? { quorum: json.quorum } : {}),
  });
}

export type CheckpointTrustErrorCode =
  | 'malformed-note'
  | 'malformed-checkpoint'
  | 'unknown-log-key'
  | 'key-mismatch'
  | 'bad-signature'
  | 'retired-key'
  | 'origin-mismatch'
  | 'bad-cosignature'
  | 'quorum-not-met';

export interface TrustedCheckpoint {
  readonly checkpoint: Checkpoint & { readonly rootHash: Buffer };
  /** The note text (the checkpoint body), ending in "\n". */
  readonly body: string;
  /** Pinned log keys whose signature verified. */
  readonly logKeys: readonly string[];
  /** Valid cosignatures by pinned witnesses, one per witness. */
  readonly cosignatures: readonly { readonly witness: string; readonly timestamp: number }[];
  /** At least `quorum` of them (always true when the quorum was required). */
  readonly witnessed: boolean;
}

export type TrustedCheckpointResult =
  { readonly ok: true; readonly trusted: TrustedCheckpoint } | Failure<CheckpointTrustErrorCode>;

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/**
 * Checks one checkpoint note (the log's signature line(s), then any witness cosignature lines)
 * against `policy` for the log `logId`:
 * - it MUST carry a valid signature by a pinned log key. Signatures by unknown names are ignored;
 *   a signature under a pinned key's name with another key ID is 'key-mismatch' (a re-signed
 *   forgery), one by a pinned key that does not verify is 'bad-signature';
 * - a key with `retiredAt` counts only if at least max(quorum, 1) pinned witnesses cosigned the
 *   checkpoint with a timestamp < retiredAt (a witness timestamp is the only evidence of "signed
 *   before"); with no pinned witness a retired key is never enough ('retired-key');
 * - the origin MUST be exactly `<originPrefix>/<logId>`;
 * - a cosignature line by a pinned witness that does not verify is 'bad-cosignature'; lines by
 *   unknown witnesses are ignored;
 * - unless `requireQuorum` is false, at least `quorum` distinct pinned witnesses MUST have cosigned.
 * Never throws.
 */
export function verifyTrustedCheckpoint(
  note: string,
  policy: TrustPolicy,
  logId: string,
  options: { readonly requireQuorum?: boolean } = {},
): TrustedCheckpointResult {
  const bad = (code: CheckpointTrustErrorCode, message: string): TrustedCheckpointResult => ({
    ok: false,
    error: { code, message },
  });
  const verifiers = policy.logKeys.map((k) => k.verifier);
  const opened = openNote(note, verifiers);
  const witnessLine = (s: { name: string; keyHash: number }): boolean =>
    policy.witnesses.some(
      (w) => w.verifier.name === s.name && w.verifier.keyHash >>> 0 === s.keyHash >>> 0,
    );
  const pinnedNames = new Set(policy.logKeys.map((k) => k.verifier.name));
  if (!opened.ok) {
    if (opened.error.code === 'malformed') return bad('malformed-note', opened.error.message);
    if (opened.error.code === 'bad-signature') return bad('bad-signature', opened.error.message);
  }
  const unverified = opened.ok ? opened.note.unverified : splitUnverified(note);
  const impostor = unverified.find((s) => pinnedNames.has(s.name) && !witnessLine(s));
  if (impostor)
    return bad(
      'key-mismatch',
      `signed under the pinned key name ${impostor.name} with key ID ${hex8(impostor.keyHash)}, which is not a pinned key of that name`,
    );
  if (!opened.ok)
    return bad('unknown-log-key', `no signature by a pinned log key (${opened.error.message})`);

  const body = opened.note.text;
  const parsed = parseCheckpoint(body);
  if (!parsed.ok) return bad('malformed-checkpoint', parsed.error.message);
  const expected = `${policy.originPrefix}/${logId}`;
  if (parsed.checkpoint.origin !== expected)
    return bad(
      'origin-mismatch',
      `checkpoint origin ${parsed.checkpoint.origin} is not ${expected} (the log ${logId} under the pinned prefix)`,
    );

  const block = note.slice(body.length + 1);
  const cosigned = openCosignatures(
    body,
    block,
    policy.witnesses.map((w) => w.verifier),
  );
  if (!cosigned.ok)
    return bad(
      'bad-cosignature',
      `signature line ${cosigned.error.line}: ${cosigned.error.code}: ${cosigned.error.message}`,
    );
  const cosignatures = cosigned.cosignatures.verified.map((c) => {
    const witness = policy.witnesses.find((w) => w.verifier.name === c.name);
    return { witness: witness?.verifierKey ?? c.name, timestamp: c.timestamp };
  });

  const signedBy = opened.note.verified.map((s) =>
    policy.logKeys.find(
      (k) => k.verifier.name === s.name && k.verifier.keyHash >>> 0 === s.keyHash >>> 0,
    ),
  );
  const active = signedBy.filter((k) => k !== undefined && k.retiredAt === undefined);
  if (active.length === 0) {
    const retiredAt = Math.max(...signedBy.map((k) => k?.retiredAt ?? 0));
    const needed = Math.max(policy.quorum, 1);
    const before = cosignatures.filter((c) => c.timestamp < retiredAt).length;
    if (before < needed)
      return bad(
        'retired-key',
        `signed only by a key retired at ${new Date(retiredAt * 1000).toISOString()}; ` +
          (policy.witnesses.length === 0
            ? 'no witness is pinned, so nothing shows it was signed before that'
            : `${before} pinned witness cosignature(s) dated before it, ${needed} needed`),
      );
  }

  const witnessed = cosignatures.length >= policy.quorum;
  if (options.requireQuorum !== false && !witnessed)
    return bad(
      'quorum-not-met',
      `${cosignatures.length} valid cosignature(s) by pinned witnesses, quorum is ${policy.quorum}`,
    );
  return {
    ok: true,
    trusted: {
      checkpoint: parsed.checkpoint,
      body,
      logKeys: signedBy.flatMap((k) => (k ? [k.verifierKey] : [])),
      cosignatures,
      witnessed,
    },
  };
}

/** Name and key ID of every signature line of a note openNote found well-formed but unsigned. */
function splitUnverified(note: string): { name: string; keyHash: number }[] {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return [];
  const out: { name: string; keyHash: number }[] = [];
  for (const line of note.slice(split + 2).split('\n')) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/u.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const raw = Buffer.from(m[2], 'base64');
    if (raw.length >= 4) out.push({ name: m[1], keyHash: raw.readUInt32BE(0) });
  }
  return out;
}
