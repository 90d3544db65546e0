export { WhereBuilder, migrationSchema, migrationSchemaName, quoteIdent } from './sql';
export { arrayLiteral } from './array-literal';
export { UnitOfWork, inTransaction, type Tx } from './unit-of-work';
export { SchemaRepository, type PageQuery } from './schema-repository';
