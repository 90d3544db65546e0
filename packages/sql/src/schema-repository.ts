import type { DataSource, EntityManager } from 'typeorm';
import { quoteIdent, type WhereBuilder } from './sql';

/** One filtered, ordered, limited SELECT on a table of the repository's schema. */
export interface PageQuery {
  columns: string;
  table: string;
  where: WhereBuilder;
  orderBy: string;
  limit: number;
  forUpdate?: boolean;
}

/**
 * Base of an app's repositories: the DataSource (reads outside a transaction) and the app's
 * quoted schema, plus the filter-and-page query that list endpoints and selectors share.
 */
export abstract class SchemaRepository {
  /** The quoted schema, for `${this.s}.table`. */
  protected readonly s: string;

  protected constructor(
    protected readonly dataSource: DataSource,
    schema: string,
  ) {
    this.s = quoteIdent(schema);
  }

  /** `SELECT columns FROM schema.table WHERE … ORDER BY … LIMIT n [FOR UPDATE]`, on `m`. */
  protected page<R>(query: PageQuery, m: EntityManager = this.dataSource.manager): Promise<R[]> {
    const { columns, table, where, orderBy } = query;
    const limit = where.param(query.limit);
    return m.query<R[]>(
      `SELECT ${columns} FROM ${this.s}.${table} ${where.sql()} ORDER BY ${orderBy} LIMIT ${limit}${query.forUpdate ? ' FOR UPDATE' : ''}`,
      where.params,
    );
  }
}
