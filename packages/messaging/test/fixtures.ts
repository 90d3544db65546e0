import { buildEvent, uuidv7, type EventEnvelope } from '@tokenledger/contracts';
import { DataSource } from 'typeorm';
import { CreateSchemaAndOutbox1795800000000, OutboxTraceContext1795800000900 } from '../src';

export const SCHEMA = 'app';

/** A DataSource on `url` with the outbox/inbox migration applied in schema `app`. */
export async function migratedDataSource(url: string): Promise<DataSource> {
  const bootstrap = new DataSource({ type: 'postgres', url });
  await bootstrap.initialize();
  await bootstrap.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
  await bootstrap.query(
    `CREATE TABLE ${SCHEMA}.effects (event_id uuid PRIMARY KEY, token_id text NOT NULL)`,
  );
  await bootstrap.destroy();
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    schema: SCHEMA,
    migrations: [CreateSchemaAndOutbox1795800000000, OutboxTraceContext1795800000900],
    migrationsRun: true,
  });
  await dataSource.initialize();
  return dataSource;
}

/** A valid `token.expired` event for a fresh token id. */
export function sampleEvent(tokenId = uuidv7()): EventEnvelope {
  return buildEvent({
    type: 'tokenledger.token.expired.v1',
    source: '/tokenledger/test',
    actor: 'system',
    subject: tokenId,
    data: { tokenId, expiredAt: '2026-11-27T00:00:00Z' },
  });
}
