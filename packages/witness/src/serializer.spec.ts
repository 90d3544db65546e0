import { KeyedSerializer } from './state';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('KeyedSerializer', () => {
  it('runs tasks for one key one after another, in arrival order', async () => {
    const s = new KeyedSerializer();
    const events: string[] = [];
    const gate = deferred();
    const a = s.run('k', async () => {
      events.push('a start');
      await gate.promise;
      events.push('a end');
    });
    const b = s.run('k', () => {
      events.push('b');
      return Promise.resolve();
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(events).toEqual(['a start']);
    gate.resolve();
    await Promise.all([a, b]);
    expect(events).toEqual(['a start', 'a end', 'b']);
  });

  it('runs different keys in parallel, and a failed task does not block the next', async () => {
    const s = new KeyedSerializer();
    const gate = deferred();
    const blocked = s.run('x', () => gate.promise);
    await expect(s.run('y', () => Promise.resolve('y'))).resolves.toBe('y');
    const failed = s.run('x', () => Promise.reject(new Error('boom')));
    const after = s.run('x', () => Promise.resolve('after'));
    gate.resolve();
    await blocked;
    await expect(failed).rejects.toThrow('boom');
    await expect(after).resolves.toBe('after');
  });
});
