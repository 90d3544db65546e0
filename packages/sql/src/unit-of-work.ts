import type { DataSource, EntityManager } from 'typeorm';

/**
 * The transaction a unit of work runs in. Repositories take it as their first argument and run
 * every statement of the unit on it; it MUST NOT be kept or used once the unit has settled.
 */
export type Tx = EntityManager;

/**
 * Runs `work` in one PostgreSQL transaction: it commits when `work` resolves and rolls back when
 * it rejects (the rejection is passed on). Everything `work` writes through `tx`, including an
 * outbox row, commits or vanishes together.
 */
export function inTransaction<T>(dataSource: DataSource, work: (tx: Tx) => Promise<T>): Promise<T> {
  return dataSource.transaction(work);
}

/** {@link inTransaction} bound to one DataSource, for injection into services. */
export class UnitOfWork {
  constructor(private readonly dataSource: DataSource) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return inTransaction(this.dataSource, work);
  }
}
