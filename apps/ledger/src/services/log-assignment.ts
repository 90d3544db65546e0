import { Injectable } from '@nestjs/common';
import { logIdOf } from '@tokenledger/ledger-core';

/**
 * Which logs this instance takes care of beyond appending (signing their checkpoints, submitting
 * them to witnesses): the partitions Kafka's group protocol assigned to this instance's ingest
 * consumer. With several instances, each then signs and witnesses the logs it appends to, so the
 * work is spread by the consumer group and nobody duplicates it.
 *
 * A hint, never a lock: around a rebalance two instances can both believe they hold a partition
 * (one has not noticed it lost it yet), so correctness comes from PostgreSQL (the head lock for
 * appends, a per-log advisory lock for signing; see CheckpointerService). A process without an
 * ingest consumer (a test context, a tool) has no assignment and takes care of every log.
 */
@Injectable()
export class LogAssignment {
  /** undefined: this process never ran an ingest consumer; {} while joining or rebalancing. */
  private assigned: ReadonlySet<string> | undefined;

  /** The ingest consumer's assignment (full topic name -> partitions), `{}` around rebalances. */
  update(assignment: Readonly<Record<string, readonly number[]>>): void {
    this.assigned = new Set(
      Object.entries(assignment).flatMap(([topic, partitions]) =>
        partitions.map((p) => logIdOf(topic, p)),
      ),
    );
  }

  /** Whether this instance signs and witnesses `logId` now. */
  owns(logId: string): boolean {
    return this.assigned === undefined || this.assigned.has(logId);
  }

  /** The logs assigned to this instance (undefined: no consumer in this process, so all). */
  logs(): string[] | undefined {
    return this.assigned && [...this.assigned].sort();
  }
}
