/** A verification outcome: either `{ ok: true }` or a typed error saying what failed. */
export type Verification<Code extends string> =
  { readonly ok: true } | { readonly ok: false; readonly error: VerificationError<Code> };

export interface VerificationError<Code extends string> {
  readonly code: Code;
  readonly message: string;
}

export function fail<Code extends string>(
  code: Code,
  message: string,
): { readonly ok: false; readonly error: VerificationError<Code> } {
  return { ok: false, error: { code, message } };
}

export const OK: { readonly ok: true } = Object.freeze({ ok: true });
