/** What armShutdownDeadline needs of `process` (injected so that it can be tested). */
export interface SignalSource {
  once(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

/**
 * After the first SIGTERM or SIGINT, waits `ms` and then calls `onTimeout` (log, then exit). The
 * timer does not keep the process alive: a shutdown that finishes in time ends the process before it fires.
 */
export function armShutdownDeadline(
  source: SignalSource,
  ms: number,
  onTimeout: (signal: 'SIGTERM' | 'SIGINT') => void,
): void {
  let armed = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    source.once(signal, () => {
      if (armed) return;
      armed = true;
      setTimeout(() => onTimeout(signal), ms).unref();
    });
  }
}
