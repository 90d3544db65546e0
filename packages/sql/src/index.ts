export { WhereBuilder, migrationSchema, migrationSchemaName, quoteIdent } from './sql';
export { arrayLiteral } from './array-literal';
export { UnitOfWork, inTransaction, type Tx } from './unit-of-work';
export { SchemaRepository, type PageQuery } from './schema-repository';
export {
  APPEND_ONLY,
  MIGRATIONS_TABLE,
  applySchemaGrants,
  planGrants,
  privilegeSql,
  type SchemaGrants,
  type TablePrivilege,
} from './grants';
export {
  migrateSchema,
  pendingMigrations,
  type MigrateSchemaOptions,
  type MigratedSchema,
  type MigrationClass,
} from './schema-migration';
