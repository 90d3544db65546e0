import { FixedClock } from './clock';
import { opsReplayFinishedV1Schema, opsReplayStartedV1Schema } from './events/ops-audit';
import { ReplayAudit } from './replay-audit';

describe('ReplayAudit', () => {
  it('gives both events one replayId from the id source and the clock time when each is made', () => {
    const clock = new FixedClock('2026-12-01T10:00:00.000Z');
    const audit = new ReplayAudit({ next: () => '019ad9a0-0000-7000-8000-000000000001' }, clock, {
      topic: 'tokens.lifecycle',
      target: 'projection:x',
      reason: 'rebuild',
    });
    const started = audit.started();
    clock.advance(1500);
    const finished = audit.finished('completed', 3);
    expect(started.data).toEqual({
      replayId: audit.replayId,
      topic: 'tokens.lifecycle',
      target: 'projection:x',
      reason: 'rebuild',
      startedAt: '2026-12-01T10:00:00.000Z',
    });
    expect(finished.data).toEqual({
      replayId: audit.replayId,
      outcome: 'completed',
      recordsReplayed: 3,
      finishedAt: '2026-12-01T10:00:01.500Z',
    });
    expect(opsReplayStartedV1Schema.safeParse(started.data).success).toBe(true);
    expect(opsReplayFinishedV1Schema.safeParse(finished.data).success).toBe(true);
    expect(audit.finished('failed', 0, 'broker gone').data.error).toBe('broker gone');
    expect(audit.finished('completed', 0).data).not.toHaveProperty('error');
  });
});
