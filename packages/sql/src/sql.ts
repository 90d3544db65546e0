/** Quotes a schema or table name after checking it is a plain identifier (never user input). */
export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`invalid SQL identifier "${name}": use lower-case letters, digits and _`);
  }
  return `"${name}"`;
}

/**
 * Collects optional filter conditions with numbered parameters: `where.add('owner_id = ?', id)`
 * becomes `owner_id = $1`. `sql()` is `WHERE a AND b` (or '' when nothing was added); `param()`
 * appends one more parameter (e.g. a LIMIT) and returns its placeholder.
 */
export class WhereBuilder {
  readonly params: unknown[] = [];
  private readonly conditions: string[] = [];

  constructor(fixed: string[] = []) {
    this.conditions.push(...fixed);
  }

  add(condition: string, ...values: unknown[]): this {
    let out = condition;
    for (const value of values) out = out.replace('?', this.param(value));
    this.conditions.push(out);
    return this;
  }

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  sql(): string {
    return this.conditions.length > 0 ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }
}

/** The schema a migration runs in: the DataSource's `schema`. Every app owns one. */
export function migrationSchemaName(queryRunner: { connection: { options: object } }): string {
  const schema = (queryRunner.connection.options as { schema?: string }).schema;
  if (!schema)
    throw new Error('the DataSource must set `schema`: every app owns one PostgreSQL schema');
  return schema;
}

/** {@link migrationSchemaName}, quoted for SQL. */
export function migrationSchema(queryRunner: { connection: { options: object } }): string {
  return quoteIdent(migrationSchemaName(queryRunner));
}
