import { bodyLimitBytes } from './bootstrap';

describe('bodyLimitBytes', () => {
  it('reads HTTP_BODY_LIMIT in KiB and MiB', () => {
    expect(bodyLimitBytes('64kb')).toBe(65_536);
    expect(bodyLimitBytes('1mb')).toBe(1_048_576);
  });

  it('refuses anything else', () => {
    for (const bad of ['64', '64KB', '1.5mb', '-1kb', '']) expect(() => bodyLimitBytes(bad)).toThrow(/64kb or 1mb/);
  });
});
