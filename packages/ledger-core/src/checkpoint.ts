// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) bodies: origin, size, root, extensions.
import { decodeBase64 } from './base64';
import { openNote, type NoteErrorCode, type NoteVerifier, type OpenedNote } from './note';
import type { Failure } from './result';
import { HASH_SIZE } from './rfc6962';

export interface Checkpoint {
  /** Unique log identity, e.g. `example.test/tokenledger/tokens.lifecycle-0`. */
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** Optional non-empty extension lines after the root. */
  readonly extensions?: readonly string[];
}

export type CheckpointErrorCode =
  'malformed-checkpoint' | 'bad-origin' | 'bad-size' | 'bad-root-hash';

export type ParseCheckpointResult =
  | {
      readonly ok: true;
      readonly checkpoint: Checkpoint & {
        readonly rootHash: Buffer;
        readonly extensions: readonly string[];
      };
    }
  | Failure<CheckpointErrorCode>;

/** Thrown by formatCheckpoint for a checkpoint that has no valid text form. */
export class CheckpointArgumentError extends TypeError {
  override readonly name = 'CheckpointArgumentError';
  readonly code = 'invalid-argument';
  readonly retryable = false;
}

const SIZE = /^(?:0|[1-9][0-9]*)$/;

/** `<origin>\n<size>\n<base64 root>\n` followed by one line per extension. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions = [] } = checkpoint;
  if (origin.length === 0 || origin.includes('\n'))
    throw new CheckpointArgumentError('origin must be a non-empty single line');
  if (!Number.isSafeInteger(size) || size < 0)
    throw new CheckpointArgumentError(`size ${size} is not a non-negative safe integer`);
  if (rootHash.length !== HASH_SIZE)
    throw new CheckpointArgumentError(`root hash must be ${HASH_SIZE} bytes`);
  for (const e of extensions) {
    if (e.length === 0 || e.includes('\n'))
      throw new CheckpointArgumentError('extension lines must be non-empty single lines');
  }
  return [origin, String(size), Buffer.from(rootHash).toString('base64'), ...extensions]
    .map((l) => `${l}\n`)
    .join('');
}

/** Parses a checkpoint body (the text of a signed note); never throws. */
export function parseCheckpoint(text: string): ParseCheckpointResult {
  const bad = (code: CheckpointErrorCode, message: string): ParseCheckpointResult => ({
    ok: false,
    error: { code, message },
  });
  if (!text.endsWith('\n'))
    return bad('malformed-checkpoint', 'checkpoint must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3)
    return bad('malformed-checkpoint', 'checkpoint needs origin, size and root lines');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [
    string,
    string,
    string,
    ...string[],
  ];
  if (origin.length === 0) return bad('bad-origin', 'origin line is empty');
  if (!SIZE.test(sizeLine))
    return bad(
      'bad-size',
      `size line ${JSON.stringify(sizeLine)} is not a decimal without leading zeros`,
    );
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) return bad('bad-size', `size ${sizeLine} exceeds 2^53 - 1`);
  const rootHash = decodeBase64(rootLine);
  if (rootHash === undefined || rootHash.length !== HASH_SIZE) {
    return bad('bad-root-hash', `root line is not the standard base64 of ${HASH_SIZE} bytes`);
  }
  if (extensions.some((e) => e.length === 0))
    return bad('malformed-checkpoint', 'extension lines must not be empty');
  return { ok: true, checkpoint: { origin, size, rootHash, extensions } };
}

export type OpenCheckpointResult =
  | {
      readonly ok: true;
      readonly checkpoint: Checkpoint & { readonly rootHash: Buffer };
      readonly note: OpenedNote;
    }
  | Failure<NoteErrorCode | CheckpointErrorCode | 'origin-mismatch'>;

/**
 * Verifies a signed checkpoint note and parses its body. When `origin` is given the checkpoint
 * MUST name exactly that log. Never throws.
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
  origin?: string,
): OpenCheckpointResult {
  const opened = openNote(note, verifiers);
  if (!opened.ok) return opened;
  const parsed = parseCheckpoint(opened.note.text);
  if (!parsed.ok) return parsed;
  if (origin !== undefined && parsed.checkpoint.origin !== origin) {
    return {
      ok: false,
      error: {
        code: 'origin-mismatch',
        message: `checkpoint is for ${parsed.checkpoint.origin}, expected ${origin}`,
      },
    };
  }
  return { ok: true, checkpoint: parsed.checkpoint, note: opened.note };
}
