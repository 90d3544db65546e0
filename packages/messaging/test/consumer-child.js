// A batch-consumer group member that reports each batch it is handed as a line
// `BATCH <first offset> <last offset>` and SIGKILLs itself inside the handler of batch number
// CRASH_AT (counted from 1), after its effects and before the offset is committed.
'use strict';
const { BatchConsumer, createKafkaClient } = require('@tokenledger/messaging');

(async () => {
  // KAFKA_CLIENT's library, as the spec that spawned it.
  const kafka = createKafkaClient({
    brokers: process.env.CHILD_BROKERS,
    clientId: 'consumer-child',
  });
  const producer = kafka.eventProducer();
  await producer.connect();
  const crashAt = Number(process.env.CRASH_AT);
  let batches = 0;
  const consumer = new BatchConsumer({
    kafka,
    groupId: process.env.CHILD_GROUP,
    topics: [process.env.CHILD_TOPIC],
    producer,
    dlqTopic: process.env.CHILD_DLQ,
    sessionTimeoutMs: 6000,
    handle: async (events) => {
      batches += 1;
      // stdout to a pipe is synchronous on Linux: the line is out before the kill.
      process.stdout.write(`BATCH ${events[0].offset} ${events[events.length - 1].offset}\n`);
      if (batches === crashAt) process.kill(process.pid, 'SIGKILL');
    },
  });
  await consumer.start();
})().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(2);
});
