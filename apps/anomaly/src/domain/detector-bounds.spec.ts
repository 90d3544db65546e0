import {
  detectInPlace,
  emptyState,
  windowMsOf,
  type DetectorEvent,
  type DetectorState,
} from './detector';
import { defaultRules } from './rules';

// Issue 15 point 6: 60,000 uses of one token sent newest-first kept every rate bucket (2.4 MB of
// state) and took 268 s. The same flood, in order and reversed, through what DetectionService
// runs per event (detectInPlace on the token's state).
const tokenId = '01900000-0000-7000-8000-0000000000bb';
const T0 = Date.parse('2026-11-01T00:00:00.000Z');
const COUNT = 60_000;

function flood(): DetectorEvent[] {
  const events: DetectorEvent[] = [];
  for (let i = 0; i < COUNT; i++) {
    events.push({
      kind: 'used',
      id: `01900000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
      data: {
        tokenId,
        service: 'api',
        operation: 'GET /x',
        ip: '10.0.0.1',
        scopesRequested: [],
        outcome: 'accepted',
        // One use a second: 1,000 one-minute buckets.
        at: new Date(T0 + i * 1000).toISOString(),
      },
    });
  }
  return events;
}

function run(events: DetectorEvent[]): {
  ms: number;
  state: DetectorState;
  outside: number;
  maxBytes: number;
} {
  const rules = defaultRules();
  const state = emptyState(tokenId);
  let outside = 0;
  let maxBytes = 0;
  const started = process.hrtime.bigint();
  for (const [i, event] of events.entries()) {
    if (detectInPlace(state, event, rules).outsideWindow) outside += 1;
    // The state as DetectionService stores it (jsonb), sampled: never above the cap, at any point.
    if (i % 5_000 === 0) maxBytes = Math.max(maxBytes, JSON.stringify(state).length);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { ms, state, outside, maxBytes: Math.max(maxBytes, JSON.stringify(state).length) };
}

describe('detector state under a reversed-time flood', () => {
  it('is bounded, drops and counts the uses outside the window, and costs at most 10x the same uses in order', () => {
    const events = flood();
    const inOrder = run(events);
    const reversed = run([...events].reverse());

    const rules = defaultRules();
    const history = rules['rate-spike'].params.historyBuckets;
    const windowUses = windowMsOf(rules) / 1000; // one use a second
    for (const { state, maxBytes } of [inOrder, reversed]) {
      expect(state.uses).toBe(COUNT);
      expect(Object.keys(state.rate?.counts ?? {}).length).toBeLessThanOrEqual(2 * history + 1);
      expect(Object.keys(state.rate?.ids ?? {}).length).toBeLessThanOrEqual(history + 1);
      expect(state.recent?.length).toBeLessThanOrEqual(100);
      // 61 buckets of at most 50 evidence ids (~39 bytes each) and the rest: well under 200 KB,
      // against 2.4 MB before.
      expect(maxBytes).toBeLessThan(200_000);
    }
    // In order nothing is late; reversed, everything older than the newest use by more than the
    // window (60 min) is dropped from the windowed rules, and counted.
    expect(inOrder.outside).toBe(0);
    expect(reversed.outside).toBe(COUNT - windowUses - 1);

    process.stdout.write(
      `detector flood of ${COUNT} uses: in order ${inOrder.ms.toFixed(0)} ms, reversed ${reversed.ms.toFixed(0)} ms, state ${inOrder.maxBytes} / ${reversed.maxBytes} bytes\n`,
    );
    expect(reversed.ms).toBeLessThanOrEqual(10 * inOrder.ms);
  });
});
