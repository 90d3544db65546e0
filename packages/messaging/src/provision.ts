import { applyAcls } from './acls';
import { createKafka, type KafkaSasl } from './kafka-client';
import { provisionTopics } from './topics';

export interface ClusterProvisioning {
  brokers: string;
  /** The admin principal (a super user). null or absent: a broker without SASL, no ACLs. */
  admin?: KafkaSasl | null;
  /** Topic prefix, as TOPIC_PREFIX ('' in production). */
  prefix?: string;
  /** Consumer group prefix, as KAFKA_GROUP_PREFIX (default: the topic prefix). */
  groupPrefix?: string;
  /** Partitions of each topic created (default 3, as TOPIC_PARTITIONS). */
  partitions?: number;
}

/**
 * What an operator does once per cluster (and `npm start`, the e2e harness, chaos and the
 * benchmarks do per topic prefix) before the apps start: create every topic and, on a SASL
 * cluster, grant each principal its ACLs (ACL_TABLE). The apps' own principals cannot create
 * topics. Idempotent.
 */
export async function provisionCluster(options: ClusterProvisioning): Promise<void> {
  const kafka = createKafka({
    brokers: options.brokers,
    clientId: 'tokenledger-provisioning',
    sasl: options.admin ?? null,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await provisionTopics(admin, { prefix: options.prefix, partitions: options.partitions });
    if (options.admin)
      await applyAcls(admin, { prefix: options.prefix, groupPrefix: options.groupPrefix });
  } finally {
    await admin.disconnect();
  }
}
