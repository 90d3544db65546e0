/**
 * RFC 8785 §3.2.2.2: JSON string literal as ECMAScript's JSON.stringify writes it: `"` and `\\`
 * escaped, \b \f \n \r \t short forms, other controls as lowercase \u00xx, everything else
 * (including non-ASCII) verbatim. Callers MUST have checked {@link isWellFormed} first: RFC 8785
 * requires lone surrogates to be rejected, not escaped.
 */
export function serializeString(value: string): string {
  return JSON.stringify(value);
}

type WellFormedString = string & { isWellFormed?: () => boolean };
const LONE_SURROGATE = /\p{Surrogate}/u;

/** False when `value` holds a lone (unpaired) UTF-16 surrogate, which has no UTF-8 form. */
export function isWellFormed(value: string): boolean {
  const s = value as WellFormedString;
  // String.prototype.isWellFormed (ES2024, Node 20) is native; the regex is the fallback.
  return s.isWellFormed ? s.isWellFormed() : !LONE_SURROGATE.test(value);
}
