import { createUuidV7Generator, type RandomBytes } from './uuidv7';

/**
 * Where services read the time: Unix milliseconds, the unit event times, UUIDv7 timestamps and
 * cache ages are already in. Injected so a unit test can fix it.
 */
export interface Clock {
  now(): number;
}

/** Where services get new ids (token ids, replay ids). Injected so a unit test can fix them. */
export interface IdSource {
  next(): string;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that stands still at `at` until the test moves it. */
export class FixedClock implements Clock {
  private at: number;

  constructor(at: number | string | Date) {
    this.at = typeof at === 'number' ? at : new Date(at).getTime();
  }

  now(): number {
    return this.at;
  }

  advance(ms: number): void {
    this.at += ms;
  }
}

/** UUIDv7 ids stamped by `clock`, strictly increasing within this process. */
export function uuidv7Ids(clock: Clock = systemClock, random?: RandomBytes): IdSource {
  const next = createUuidV7Generator(random);
  return { next: () => next(clock.now()) };
}
