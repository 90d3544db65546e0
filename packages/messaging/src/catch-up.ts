import type { Admin, Kafka } from 'kafkajs';

/** Where a partition ended (its high watermark) or where a group will continue in it. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

/** What the tracker needs from Kafka (an admin client in production, a fake in unit tests). */
export interface CatchUpSource {
  /** Each partition's log start and high watermark, now. */
  endOffsets(topics: readonly string[]): Promise<Array<PartitionOffset & { low: string }>>;
  /** The group's committed offsets ('-1' or absent when none). */
  committed(groupId: string, topics: readonly string[]): Promise<PartitionOffset[]>;
}

export interface CatchUpState {
  /** True once every partition was consumed up to where it ended when the tracker started. */
  caughtUp: boolean;
  /** Partitions still behind their target; undefined before the targets are known. */
  behind: number | undefined;
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/**
 * Tells when a consumer group has caught up with Kafka as of the moment the tracker started:
 * every partition of its topics consumed (by this member, or by another member of its group,
 * seen through the group's committed offsets) up to the high watermark it had then. Once caught
 * up, it stays caught up: later records are ordinary lag, reported by the lag metric.
 *
 * A readiness check built on it MUST NOT report ready before `start()` has fetched the targets.
 */
export class CatchUpTracker {
  private targets: Map<string, { topic: string; partition: number; end: bigint }> | undefined;
  private polling: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly source: CatchUpSource,
    private readonly groupId: string,
    private readonly topics: readonly string[],
    private readonly options: {
      pollMs?: number;
      attempts?: number;
      onCaughtUp?: () => void;
      /**
       * Where the group continues in a partition, when its position is kept outside Kafka (a
       * consumer that seeks on assignment to offsets it stores itself, like the ledger's). Polled
       * instead of the group's committed offsets, which are then only hints: a commit lost in a
       * rebalance would otherwise hold readiness back until the partition gets a new record.
       */
      positions?: (topic: string, partition: number) => Promise<string | number>;
    } = {},
  ) {}

  state(): CatchUpState {
    const behind = this.targets?.size;
    return { caughtUp: behind === 0, behind };
  }

  /** Fetches the targets (once; later calls do nothing), then polls the group until caught up. */
  async start(): Promise<void> {
    if (this.targets) return;
    const ends = await this.endOffsets();
    const targets = new Map<string, { topic: string; partition: number; end: bigint }>();
    for (const end of ends)
      if (BigInt(end.offset) > BigInt(end.low))
        targets.set(key(end.topic, end.partition), {
          topic: end.topic,
          partition: end.partition,
          end: BigInt(end.offset),
        });
    this.targets = targets;
    if (targets.size === 0) {
      this.stop();
      this.options.onCaughtUp?.();
      return;
    }
    this.schedule();
  }

  /**
   * Right after a topic is created its partitions may have no leader for a moment ("not the
   * leader", or "does not host this topic-partition" until the broker has the new metadata; on a
   * loaded 2-core machine that took over 5 s): retried for up to 30 s, as kafkajs retries the
   * consumer's own first fetches. Readiness stays false meanwhile.
   */
  private async endOffsets(): Promise<Array<PartitionOffset & { low: string }>> {
    const attempts = this.options.attempts ?? 120;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.source.endOffsets(this.topics);
      } catch (error) {
        if (attempt >= attempts) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** This member consumed a partition up to (excluding) `next`. */
  progress(topic: string, partition: number, next: string): void {
    const k = key(topic, partition);
    const target = this.targets?.get(k);
    if (target !== undefined && BigInt(next) >= target.end) this.targets?.delete(k);
    if (this.targets?.size === 0 && !this.stopped) {
      this.stop();
      this.options.onCaughtUp?.();
    }
  }

  /** One look at the group's positions (also what the poll does). */
  async poll(): Promise<void> {
    if (!this.targets || this.targets.size === 0) return;
    const positions = this.options.positions;
    if (positions) {
      for (const { topic, partition } of [...this.targets.values()])
        this.progress(topic, partition, String(await positions(topic, partition)));
      return;
    }
    for (const c of await this.source.committed(this.groupId, this.topics))
      if (c.offset !== '' && BigInt(c.offset) >= 0n) this.progress(c.topic, c.partition, c.offset);
  }

  stop(): void {
    this.stopped = true;
    if (this.polling) clearTimeout(this.polling);
    this.polling = undefined;
  }

  private schedule(): void {
    if (this.stopped || this.targets?.size === 0) return;
    this.polling = setTimeout(() => {
      this.poll()
        .catch(() => undefined) // the next poll tries again; local progress counts meanwhile
        .finally(() => this.schedule());
    }, this.options.pollMs ?? 250);
    this.polling.unref();
  }
}

/** A CatchUpSource over one admin client of `kafka`, connected on first use. */
export function kafkaCatchUpSource(kafka: Kafka): CatchUpSource & { close(): Promise<void> } {
  let admin: Admin | undefined;
  const connected = async (): Promise<Admin> => {
    if (!admin) {
      const a = kafka.admin();
      await a.connect();
      admin = a;
    }
    return admin;
  };
  return {
    async endOffsets(topics) {
      const a = await connected();
      const all = await Promise.all(
        topics.map(async (topic) =>
          (await a.fetchTopicOffsets(topic)).map((p) => ({
            topic,
            partition: p.partition,
            offset: p.high,
            low: p.low,
          })),
        ),
      );
      return all.flat();
    },
    async committed(groupId, topics) {
      const a = await connected();
      const groups = await a.fetchOffsets({ groupId, topics: [...topics] });
      return groups.flatMap((g) =>
        g.partitions.map((p) => ({ topic: g.topic, partition: p.partition, offset: p.offset })),
      );
    },
    async close() {
      const a = admin;
      admin = undefined;
      await a?.disconnect();
    },
  };
}
