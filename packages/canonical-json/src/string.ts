/**
 * RFC 8785 §3.2.2.2: JSON string literal as ECMAScript's JSON.stringify writes it: `"` and `\`
 * escaped, \b \f \n \r \t short forms, other controls as lowercase \u00xx, everything else
 * (including non-ASCII) verbatim. Lone surrogates become \udxxx (well-formed JSON.stringify,
 * ES2019), so the output is always valid UTF-8.
 */
export function serializeString(value: string): string {
  return JSON.stringify(value);
}
