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
    // Another instance created some of them in between, or (a loaded broker) the wait for leaders
    // met "This server does not host this topic-partition" before the broker's metadata caught up
    // with the created topics: fine, as long as they all exist with leaders soon.
    if (
      !(await leadersWithin(
        admin,
        missing.map((t) => t.topic),
        LEADER_WAIT_MS,
      ))
    )
      throw error;
  }
  return missing.map((t) => t.topic);
}

const LEADER_WAIT_MS = 30_000;

/** Whether every partition of `topics` has a leader within `ms` (polling the metadata). */
async function leadersWithin(admin: Admin, topics: string[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    // Fails while any of them is unknown to the broker's metadata.
    const metadata = await admin.fetchTopicMetadata({ topics }).catch(() => undefined);
    const led = metadata?.topics.every(
      (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
    );
    if (led) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}
