const NEEDS_QUOTES = /[{}",\\\s]|^$|^null$/i;

/**
 * A PostgreSQL array literal (`{a,"b c",NULL}`), built with one join. pg's own array encoding
 * concatenates element by element, which was a large share of the ledger append's allocations.
 */
export function arrayLiteral(values: ReadonlyArray<string | number | null | undefined>): string {
  return `{${values
    .map((v) => {
      if (v === null || v === undefined) return 'NULL';
      if (typeof v === 'number') return String(v);
      return NEEDS_QUOTES.test(v) ? `"${v.replace(/[\\"]/g, '\\$&')}"` : v;
    })
    .join(',')}}`;
}
