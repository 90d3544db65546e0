export type CanonicalJsonErrorCode =
  | 'non-finite-number'
  | 'bigint'
  | 'function'
  | 'symbol'
  | 'undefined'
  | 'cycle'
  | 'unsupported-object'
  /** A string or an object key holds an unpaired UTF-16 surrogate (RFC 8785 §3.2.2.2). */
  | 'lone-surrogate';

/**
 * The value cannot be represented as I-JSON / RFC 8785 canonical JSON.
 * `path` names the offending value, e.g. `$.data.items[2]`.
 */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
  readonly retryable = false;

  constructor(
    readonly code: CanonicalJsonErrorCode,
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}
