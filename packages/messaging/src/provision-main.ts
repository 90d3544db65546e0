// `node packages/messaging/dist/provision-main.js`: provisions a Kafka cluster for Tokenledger,
// for a one-shot job (docker-compose's `kafka-setup`, a deploy step): every topic of TOPIC_PREFIX
// and, when KAFKA_SASL_USERNAME names the admin (a super user), every principal's ACLs
// (ACL_TABLE). Reads KAFKA_BROKERS, TOPIC_PREFIX, KAFKA_GROUP_PREFIX, TOPIC_PARTITIONS and the
// KAFKA_SASL_* / KAFKA_TLS_* variables as every client does. Idempotent; prints no credential.
import { kafkaSaslFromEnv } from './kafka-client';
import { provisionCluster } from './provision';

async function main(): Promise<void> {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set');
  const partitions = Number(process.env.TOPIC_PARTITIONS ?? 3);
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1000)
    throw new Error('TOPIC_PARTITIONS must be a whole number from 1 to 1000');
  const admin = kafkaSaslFromEnv() ?? null;
  const prefix = process.env.TOPIC_PREFIX ?? '';
  await provisionCluster({
    brokers,
    admin,
    prefix,
    groupPrefix: process.env.KAFKA_GROUP_PREFIX || undefined,
    partitions,
  });
  process.stdout.write(
    `kafka ready: topics of prefix '${prefix}'${admin ? `, ACLs granted as ${admin.username}` : ' (no SASL: no ACLs)'}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `provisioning Kafka failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
