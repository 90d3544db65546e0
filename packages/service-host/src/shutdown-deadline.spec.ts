import { EventEmitter } from 'node:events';
import { armShutdownDeadline } from './shutdown-deadline';

describe('armShutdownDeadline', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('calls onTimeout once, the given time after the first signal, and not before', () => {
    const signals = new EventEmitter();
    const timeouts: string[] = [];
    armShutdownDeadline(signals, 25_000, (signal) => timeouts.push(signal));
    jest.advanceTimersByTime(60_000);
    expect(timeouts).toEqual([]); // no signal, no deadline
    signals.emit('SIGTERM');
    jest.advanceTimersByTime(24_999);
    expect(timeouts).toEqual([]);
    signals.emit('SIGINT'); // a second signal does not start a second deadline
    jest.advanceTimersByTime(1);
    expect(timeouts).toEqual(['SIGTERM']);
    jest.advanceTimersByTime(60_000);
    expect(timeouts).toEqual(['SIGTERM']);
  });
});
