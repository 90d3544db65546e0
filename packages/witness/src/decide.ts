// The witness's decision on one add-checkpoint request (c2sp.org/tlog-witness), pure: given the
// request, the log's configuration and what was last cosigned for it, cosign or refuse (and why).
import {
  emptyRoot,
  openCheckpoint,
  verifyConsistency,
  type Checkpoint,
  type NoteVerifier,
} from '@tokenledger/ledger-core';
import type { AddCheckpointRequest } from './request';

export interface LogConfig {
  /**
   * The log's origin; with `prefix`, the origin prefix (ending in "/"): every origin
   * `<prefix><name>` (name of [A-Za-z0-9._-]) is a log of its own, with its own state.
   */
  readonly origin: string;
  readonly prefix?: boolean;
  /** The log's checkpoint keys; a checkpoint needs a valid signature by one of them. */
  readonly verifiers: readonly NoteVerifier[];
}

const LOG_NAME = /^[A-Za-z0-9._-]{1,255}$/;

/**
 * The configured log `origin` belongs to, as a log of exactly that origin: an exact entry first,
 * else the entry whose prefix it extends by one name. Undefined if none.
 */
export function logFor(
  origin: string,
  exact: ReadonlyMap<string, LogConfig>,
  prefixes: readonly LogConfig[],
): LogConfig | undefined {
  const found = exact.get(origin);
  if (found !== undefined) return found;
  const entry = prefixes.find(
    (p) => origin.startsWith(p.origin) && LOG_NAME.test(origin.slice(p.origin.length)),
  );
  return entry === undefined ? undefined : { origin, verifiers: entry.verifiers };
}

/** What the witness last cosigned for one origin. */
export interface LogState {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Buffer;
  /** The checkpoint note as the log submitted it (for the monitoring endpoint). */
  readonly note: string;
  /** The cosignature line returned for it (absent only in a state not yet cosigned). */
  readonly cosignature?: string;
}

export type RejectCode =
  | 'malformed-request'
  | 'unknown-origin'
  | 'bad-signature'
  | 'old-size-too-large'
  | 'old-size-mismatch'
  | 'bad-empty-root'
  | 'bad-consistency-proof';

export type Decision =
  | {
      readonly kind: 'cosign';
      /** The note text (checkpoint body) to cosign. */
      readonly body: string;
      readonly checkpoint: Checkpoint & { readonly rootHash: Buffer };
      /** The state to persist before answering; undefined when it is unchanged. */
      readonly next: LogState | undefined;
    }
  | {
      readonly kind: 'reject';
      readonly code: RejectCode;
      readonly message: string;
      /** With 'old-size-mismatch': the size the witness last cosigned (0 if none). */
      readonly currentSize?: number;
    };

/** HTTP status the spec assigns to each refusal. */
export const REJECT_STATUS: Readonly<Record<RejectCode, 400 | 403 | 404 | 409 | 422>> = {
  'malformed-request': 400,
  'unknown-origin': 404,
  'bad-signature': 403,
  'old-size-too-large': 400,
  'old-size-mismatch': 409,
  'bad-empty-root': 422,
  'bad-consistency-proof': 422,
};

const reject = (code: RejectCode, message: string, currentSize?: number): Decision =>
  currentSize === undefined
    ? { kind: 'reject', code, message }
    : { kind: 'reject', code, message, currentSize };

/** The origin line of a checkpoint note, to find its log before anything is verified. */
export function noteOrigin(note: string): string | undefined {
  const end = note.indexOf('\n');
  return end > 0 ? note.slice(0, end) : undefined;
}

/**
 * Decides on `request` for `log`, whose last cosigned state is `state` (undefined: never cosigned).
 * MUST be called with the origin's lock held, and the state it returns MUST be durable before the
 * cosignature is returned: otherwise two inconsistent checkpoints could both be cosigned.
 */
export function decideAddCheckpoint(
  request: AddCheckpointRequest,
  log: LogConfig,
  state: LogState | undefined,
): Decision {
  const opened = openCheckpoint(request.note, log.verifiers, log.origin);
  if (!opened.ok) {
    switch (opened.error.code) {
      case 'unknown-key':
      case 'bad-signature':
        return reject('bad-signature', opened.error.message);
      case 'origin-mismatch':
        return reject('unknown-origin', opened.error.message);
      case 'malformed':
      case 'malformed-checkpoint':
      case 'bad-origin':
      case 'bad-size':
      case 'bad-root-hash':
        return reject('malformed-request', opened.error.message);
    }
  }
  const { checkpoint } = opened;
  const { oldSize, proof } = request;
  if (oldSize > checkpoint.size)
    return reject(
      'old-size-too-large',
      `old size ${oldSize} exceeds the checkpoint size ${checkpoint.size}`,
    );
  const current = state?.size ?? 0;
  if (oldSize !== current)
    return reject(
      'old-size-mismatch',
      `old size ${oldSize} is not the last cosigned size ${current}`,
      current,
    );
  if (checkpoint.size === 0 && !checkpoint.rootHash.equals(emptyRoot()))
    return reject('bad-empty-root', 'a checkpoint of size 0 must have the root of the empty tree');
  const oldRoot = state?.rootHash ?? emptyRoot();
  const consistent = verifyConsistency(
    oldSize,
    checkpoint.size,
    proof,
    oldRoot,
    checkpoint.rootHash,
  );
  if (!consistent.ok)
    return reject(
      'bad-consistency-proof',
      `${oldSize} -> ${checkpoint.size}: ${consistent.error.code}: ${consistent.error.message}`,
    );
  const unchanged = state !== undefined && state.size === checkpoint.size;
  return {
    kind: 'cosign',
    body: opened.note.text,
    checkpoint,
    next: unchanged
      ? undefined
      : {
          origin: log.origin,
          size: checkpoint.size,
          rootHash: checkpoint.rootHash,
          note: request.note,
        },
  };
}
