import { DomainError } from '@tokenledger/errors';

type Part = 'string' | 'integer';
type Value<P extends Part> = P extends 'string' ? string : number;

/** An opaque page cursor: the sort key of the last row, as base64url JSON. */
export function encodeCursor(parts: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/**
 * Reads a cursor made by {@link encodeCursor}, checking each part's type; anything else is a
 * `bad_cursor` domain error (400), never a value that reaches SQL.
 */
export function decodeCursor<const S extends readonly Part[]>(
  cursor: string,
  shape: S,
): { [K in keyof S]: Value<S[K]> } {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parts = undefined;
  }
  const ok =
    Array.isArray(parts) &&
    parts.length === shape.length &&
    shape.every((kind, i) =>
      kind === 'string' ? typeof parts[i] === 'string' : Number.isInteger(parts[i]),
    );
  if (!ok) throw new DomainError('bad_cursor', 'cursor is not one this API returned');
  return parts as { [K in keyof S]: Value<S[K]> };
}
