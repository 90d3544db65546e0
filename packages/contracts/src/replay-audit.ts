import type { Clock, IdSource } from './clock';
import type { OpsReplayFinishedV1, OpsReplayStartedV1 } from './events/ops-audit';

/**
 * How one replay or projection rebuild is recorded in ops.audit: a new replayId, then a
 * `replay-started` and a `replay-finished` event with that id, each stamped by `clock` when made.
 */
export class ReplayAudit {
  readonly replayId: string;

  constructor(
    ids: IdSource,
    private readonly clock: Clock,
    private readonly what: Omit<OpsReplayStartedV1, 'replayId' | 'startedAt'>,
  ) {
    this.replayId = ids.next();
  }

  started(): { type: 'tokenledger.ops.replay-started.v1'; data: OpsReplayStartedV1 } {
    return {
      type: 'tokenledger.ops.replay-started.v1',
      data: { replayId: this.replayId, ...this.what, startedAt: this.at() },
    };
  }

  finished(
    outcome: OpsReplayFinishedV1['outcome'],
    recordsReplayed: number,
    error?: string,
  ): { type: 'tokenledger.ops.replay-finished.v1'; data: OpsReplayFinishedV1 } {
    return {
      type: 'tokenledger.ops.replay-finished.v1',
      data: {
        replayId: this.replayId,
        outcome,
        recordsReplayed,
        finishedAt: this.at(),
        ...(error ? { error } : {}),
      },
    };
  }

  private at(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
