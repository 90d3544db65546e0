/** A verification outcome: either `{ ok: true }` or a typed error saying what failed. */
export type Verification<Code extends string> = { readonly ok: true } | Failure<Code>;

export interface VerificationError<Code extends string> {
  readonly code: Code;
  readonly message: string;
}

/** The failing half of every `{ ok }` result in this package. */
export interface Failure<Code extends string> {
  readonly ok: false;
  readonly error: VerificationError<Code>;
}

export function fail<Code extends string>(code: Code, message: string): Failure<Code> {
  return { ok: false, error: { code, message } };
}

export const OK: { readonly ok: true } = Object.freeze({ ok: true });
