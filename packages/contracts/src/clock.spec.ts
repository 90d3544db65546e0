import { FixedClock, uuidv7Ids } from './clock';
import { isUuidV7, uuidv7Timestamp } from './uuidv7';

describe('uuidv7Ids', () => {
  it('stamps ids with its clock and keeps them increasing while the clock stands still', () => {
    const clock = new FixedClock('2026-12-01T10:00:00.000Z');
    const ids = uuidv7Ids(clock);
    const made = Array.from({ length: 50 }, () => ids.next());
    expect(made.every(isUuidV7)).toBe(true);
    expect(made.every((id) => uuidv7Timestamp(id) === clock.now())).toBe(true);
    expect([...made].sort()).toEqual(made);
  });
});
