import { CatchUpTracker, type CatchUpSource, type PartitionOffset } from './catch-up';

function source(ends: Array<PartitionOffset & { low: string }>) {
  const committed: PartitionOffset[] = [];
  const fake: CatchUpSource = {
    endOffsets: () => Promise.resolve(ends),
    committed: () => Promise.resolve([...committed]),
  };
  return { fake, committed };
}

const end = (partition: number, low: string, offset: string) => ({
  topic: 't',
  partition,
  low,
  offset,
});

describe('CatchUpTracker', () => {
  it('is not caught up before it knows the targets', () => {
    const tracker = new CatchUpTracker(source([]).fake, 'g', ['t']);
    expect(tracker.state()).toEqual({ caughtUp: false, behind: undefined });
  });

  it('empty partitions (nothing between log start and end) need nothing', async () => {
    let done = 0;
    const tracker = new CatchUpTracker(
      source([end(0, '0', '0'), end(1, '7', '7')]).fake,
      'g',
      ['t'],
      {
        onCaughtUp: () => (done += 1),
      },
    );
    await tracker.start();
    expect(tracker.state()).toEqual({ caughtUp: true, behind: 0 });
    expect(done).toBe(1);
  });

  it('waits for every partition to reach the end it had at start, by local progress', async () => {
    const tracker = new CatchUpTracker(source([end(0, '0', '10'), end(1, '0', '3')]).fake, 'g', [
      't',
    ]);
    await tracker.start();
    tracker.progress('t', 0, '9');
    expect(tracker.state()).toEqual({ caughtUp: false, behind: 2 });
    tracker.progress('t', 0, '10');
    tracker.progress('t', 1, '2');
    expect(tracker.state()).toEqual({ caughtUp: false, behind: 1 });
    tracker.progress('t', 1, '3');
    expect(tracker.state().caughtUp).toBe(true);
    tracker.stop();
  });

  it('counts partitions that another member of the group consumed (committed offsets)', async () => {
    const s = source([end(0, '0', '10'), end(1, '0', '5')]);
    const tracker = new CatchUpTracker(s.fake, 'g', ['t']);
    await tracker.start();
    tracker.progress('t', 0, '10');
    s.committed.push({ topic: 't', partition: 1, offset: '-1' });
    await tracker.poll();
    expect(tracker.state().caughtUp).toBe(false);
    s.committed.splice(0, 1, { topic: 't', partition: 1, offset: '5' });
    await tracker.poll();
    expect(tracker.state().caughtUp).toBe(true);
  });

  it('a group that stores its own positions is caught up by them, whatever it committed', async () => {
    const s = source([end(0, '0', '10'), end(1, '0', '5')]);
    // A commit lost in a rebalance: Kafka's committed offsets stay behind for good.
    s.committed.push(
      { topic: 't', partition: 0, offset: '3' },
      { topic: 't', partition: 1, offset: '5' },
    );
    const stored = new Map([
      [0, 10],
      [1, 4],
    ]);
    const asked: number[] = [];
    const tracker = new CatchUpTracker(s.fake, 'g', ['t'], {
      positions: (_topic, partition) => {
        asked.push(partition);
        return Promise.resolve(stored.get(partition) ?? 0);
      },
    });
    await tracker.start();
    await tracker.poll();
    // Partition 1 committed 5, but its stored position is 4: not caught up.
    expect(tracker.state()).toEqual({ caughtUp: false, behind: 1 });
    stored.set(1, 5);
    await tracker.poll();
    expect(tracker.state().caughtUp).toBe(true);
    expect(asked).toEqual([0, 1, 1]);
  });

  it('records written after the start do not move the target', async () => {
    const ends = [end(0, '0', '4')];
    const s = source(ends);
    const tracker = new CatchUpTracker(s.fake, 'g', ['t']);
    await tracker.start();
    ends.splice(0, 1, end(0, '0', '100')); // the topic grew since
    await tracker.start(); // a restarted consumer keeps the first targets
    tracker.progress('t', 0, '4');
    expect(tracker.state().caughtUp).toBe(true);
  });

  it('polls the group on its own until caught up', async () => {
    const s = source([end(0, '0', '2')]);
    const tracker = new CatchUpTracker(s.fake, 'g', ['t'], { pollMs: 5 });
    await tracker.start();
    s.committed.push({ topic: 't', partition: 0, offset: '2' });
    for (let i = 0; i < 200 && !tracker.state().caughtUp; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(tracker.state().caughtUp).toBe(true);
  });

  it('retries fetching the end offsets (a partition without a leader yet), then gives up', async () => {
    let calls = 0;
    const flaky: CatchUpSource = {
      endOffsets: () =>
        ++calls < 3
          ? Promise.reject(new Error('not the leader'))
          : Promise.resolve([end(0, '0', '1')]),
      committed: () => Promise.resolve([]),
    };
    const tracker = new CatchUpTracker(flaky, 'g', ['t'], { attempts: 5 });
    await tracker.start();
    expect(tracker.state()).toEqual({ caughtUp: false, behind: 1 });
    tracker.stop();
    const down: CatchUpSource = { ...flaky, endOffsets: () => Promise.reject(new Error('down')) };
    await expect(new CatchUpTracker(down, 'g', ['t'], { attempts: 2 }).start()).rejects.toThrow(
      'down',
    );
  });
});
