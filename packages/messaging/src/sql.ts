/** Quotes a schema or table name after checking it is a plain identifier (never user input). */
export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`invalid SQL identifier "${name}": use lower-case letters, digits and _`);
  }
  return `"${name}"`;
}
