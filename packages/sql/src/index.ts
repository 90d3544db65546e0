export { WhereBuilder, migrationSchema, migrationSchemaName, quoteIdent } from './sql';
export { arrayLiteral } from './array-literal';
