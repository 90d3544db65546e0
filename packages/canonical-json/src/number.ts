import { CanonicalJsonError } from './errors';

/**
 * RFC 8785 §3.2.2.3: numbers are serialized exactly as ECMAScript's Number::toString
 * (shortest round-tripping digits; -0 becomes "0"). NaN and ±Infinity are not JSON.
 */
export function serializeNumber(value: number, path: string): string {
  if (!Number.isFinite(value)) {
    throw new CanonicalJsonError('non-finite-number', path, `${String(value)} is not a JSON number`);
  }
  // ECMAScript Number::toString is the algorithm RFC 8785 adopts; String(-0) is already "0".
  return String(value);
}
