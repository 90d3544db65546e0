import { baseConfigSchema } from './config';

describe('HTTP_BODY_LIMIT', () => {
  const limit = baseConfigSchema.shape.HTTP_BODY_LIMIT;

  it('reads KiB and MiB into bytes, 64kb by default', () => {
    expect(limit.parse('64kb')).toBe(65_536);
    expect(limit.parse('1mb')).toBe(1_048_576);
    expect(limit.parse(undefined)).toBe(65_536);
  });

  it('refuses anything else', () => {
    for (const bad of ['64', '64KB', '1.5mb', '-1kb', '']) expect(() => limit.parse(bad)).toThrow(/64kb or 1mb/);
  });
});
