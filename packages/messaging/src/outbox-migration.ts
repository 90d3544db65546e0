import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dropOutboxTablesDdl, outboxTablesDdl } from './outbox';
import { migrationSchema, migrationSchemaName as schemaOf } from '@tokenledger/sql';

/** First migration of every app: its schema, its outbox and its inbox. */
export class CreateSchemaAndOutbox1795800000000 implements MigrationInterface {
  name = 'CreateSchemaAndOutbox1795800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const schema = schemaOf(queryRunner);
    await queryRunner.query(`CREATE SCHEMA IF NOT EXISTS ${migrationSchema(queryRunner)}`);
    for (const ddl of outboxTablesDdl(schema)) await queryRunner.query(ddl);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const ddl of dropOutboxTablesDdl(schemaOf(queryRunner))) await queryRunner.query(ddl);
  }
}
