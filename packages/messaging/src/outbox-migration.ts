import type { MigrationInterface, QueryRunner } from 'typeorm';
import { dropOutboxTablesDdl, outboxTablesDdl, outboxTraceContextDdl } from './outbox';
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

/** Every app's outbox keeps the trace context of the request that wrote each row (tracing.md). */
export class OutboxTraceContext1795800000900 implements MigrationInterface {
  name = 'OutboxTraceContext1795800000900';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const ddl of outboxTraceContextDdl(schemaOf(queryRunner))) await queryRunner.query(ddl);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE ${migrationSchema(queryRunner)}.outbox DROP COLUMN trace_context`,
    );
  }
}
