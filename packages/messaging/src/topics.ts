import { AUDITED_TOPICS, TOPICS, topicName } from '@tokenledger/contracts';
import type { Admin, ITopicConfig } from 'kafkajs';

export interface TopicProvisioning {
  /** Prepended to every topic name (fresh topics per test); '' in production. */
  prefix?: string;
  /** Partitions of each topic (default 3). */
  partitions?: number;
}

/** Audited topics, and checkpoints/DLQ whose records audited leaves refer to, are kept forever. */
const FOREVER = [
  { name: 'retention.ms', value: '-1' },
  { name: 'retention.bytes', value: '-1' },
];

export function topicPlan(options: TopicProvisioning = {}): ITopicConfig[] {
  const prefix = options.prefix ?? '';
  const numPartitions = options.partitions ?? 3;
  const audited = new Set<string>(AUDITED_TOPICS);
  return Object.values(TOPICS).map((base) => ({
    topic: topicName(base, prefix),
    numPartitions,
    replicationFactor: -1,
    configEntries: audited.has(base)
      ? [{ name: 'message.timestamp.type', value: 'LogAppendTime' }, ...FOREVER]
      : FOREVER,
  }));
}

/**
 * Creates every Tokenledger topic that does not exist yet. Idempotent: existing topics are left as
 * they are (their partition count is never shrunk). Returns the names it created.
 */
export async function provisionTopics(
  admin: Admin,
  options: TopicProvisioning = {},
): Promise<string[]> {
  const plan = topicPlan(options);
  const existing = new Set(await admin.listTopics());
  const missing = plan.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return [];
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (error) {
    // Another instance created some of them in between: fine, as long as they all exist now.
    const now = new Set(await admin.listTopics());
    if (missing.some((t) => !now.has(t.topic))) throw error;
  }
  return missing.map((t) => t.topic);
}
