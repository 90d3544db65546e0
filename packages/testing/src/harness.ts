import { randomBytes } from 'node:crypto';
import {
  createDatabaseIfMissing,
  provisionRoles,
  withDatabase,
  type AppName,
  type KafkaCredentials,
  type KafkaPrincipal,
} from '@tokenledger/infra';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { Client } from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(
      `${name} is not set: run this test through jest with the @tokenledger/testing global setup`,
    );
  return value;
}

/** Broker list of the run's Kafka (set by the global setup). */
export function kafkaBrokers(): string {
  return required('TL_TEST_KAFKA_BROKERS');
}

export function adminDatabaseUrl(): string {
  return required('TL_TEST_ADMIN_DATABASE_URL');
}

/** A fresh topic prefix such as `t5f2a9c1e.`, so that each spec file has its own topics. */
export function freshTopicPrefix(): string {
  return `t${randomBytes(4).toString('hex')}.`;
}

export interface TestDatabase {
  name: string;
  /** As the server's superuser (the test's own view: setup, assertions, an insider's tampering). */
  url: string;
  /** As `tokenledger_owner`, the owner of the app schemas (DATABASE_OWNER_URL). */
  ownerUrl: string;
  /** As the app's login role (its DATABASE_URL). */
  appUrls: Record<AppName, string>;
  drop(): Promise<void>;
}

/**
 * Creates an empty database for one spec file, with the database roles provisioned for it as
 * `npm start` does (infra's provisionRoles); `drop()` removes it (and ends its sessions).
 */
export async function freshDatabase(): Promise<TestDatabase> {
  const admin = adminDatabaseUrl();
  const name = `tl_test_${randomBytes(5).toString('hex')}`;
  await createDatabaseIfMissing(admin, name);
  const url = withDatabase(admin, name);
  const roles = await provisionRoles({ adminUrl: url });
  return {
    name,
    url,
    ownerUrl: roles.ownerUrl,
    appUrls: roles.appUrls,
    drop: async () => {
      const client = new Client({ connectionString: admin });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * The run's Kafka principals (admin and one per client) when the broker is the SASL one, as set
 * by the global setup; undefined on a broker without SASL.
 */
export function kafkaTestCredentials(): Record<KafkaPrincipal, KafkaCredentials> | undefined {
  const json = process.env.TL_TEST_KAFKA_CREDENTIALS;
  return json ? (JSON.parse(json) as Record<KafkaPrincipal, KafkaCredentials>) : undefined;
}

/** A client of the run's broker as the admin principal (or unauthenticated without SASL). */
export function testKafka(clientId = 'tokenledger-test'): Kafka {
  const admin = kafkaTestCredentials()?.admin;
  return new Kafka({
    clientId,
    brokers: kafkaBrokers().split(','),
    logLevel: logLevel.NOTHING,
    ...(admin ? { sasl: admin } : {}),
  });
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

/**
 * Reads every record of `topic` from the beginning until `until(records)` holds or `timeoutMs`
 * passes; resolves with what it read (the caller asserts on it).
 */
export async function readTopic(
  topic: string,
  until: (records: ReadRecord[]) => boolean,
  timeoutMs = 20_000,
): Promise<ReadRecord[]> {
  const kafka = testKafka();
  const consumer = kafka.consumer({ groupId: `reader-${randomBytes(6).toString('hex')}` });
  const records: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          records.push(toRecord(partition, message));
          if (until(records)) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

function toRecord(partition: number, message: KafkaMessage): ReadRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    if (v !== undefined) headers[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
  }
  return {
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    value: message.value,
    headers,
    timestamp: message.timestamp,
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}

/**
 * A DataSource on `url` whose `schema` exists (created when missing) and holds `migrations`, run
 * in order: the database state of one app, as the app would leave it at boot.
 */
export async function migratedDataSource(
  url: string,
  schema: string,
  migrations: NonNullable<DataSourceOptions['migrations']>,
): Promise<DataSource> {
  const ds = await new DataSource({ type: 'postgres', url, schema, migrations }).initialize();
  const runner = ds.createQueryRunner();
  try {
    await runner.createSchema(schema, true);
  } finally {
    await runner.release();
  }
  await ds.runMigrations();
  return ds;
}
