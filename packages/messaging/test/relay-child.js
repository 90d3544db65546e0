// Runs one outbox relay pass and hangs right after Kafka acknowledged the batch, before the rows
// are marked published, so that the test can SIGKILL it at exactly that point.
'use strict';
const { DataSource } = require('typeorm');
const { OutboxRelay, createKafkaClient } = require('@tokenledger/messaging');

(async () => {
  const dataSource = new DataSource({ type: 'postgres', url: process.env.RELAY_DATABASE_URL });
  await dataSource.initialize();
  // KAFKA_CLIENT's library, as the spec that spawned it.
  const producer = createKafkaClient({
    brokers: process.env.RELAY_BROKERS,
    clientId: 'relay-child',
  }).eventProducer();
  await producer.connect();
  const relay = new OutboxRelay({
    dataSource,
    schema: process.env.RELAY_SCHEMA,
    producer,
    afterPublish: async () => {
      process.stdout.write('PUBLISHED\n');
      await new Promise(() => undefined);
    },
  });
  await relay.publishOnce();
})().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(2);
});
