import { ConfigError, baseConfigSchema, loadConfig } from './config';

describe('HTTP_BODY_LIMIT', () => {
  const limit = baseConfigSchema.shape.HTTP_BODY_LIMIT;

  it('reads KiB and MiB into bytes, 64kb by default', () => {
    expect(limit.parse('64kb')).toBe(65_536);
    expect(limit.parse('1mb')).toBe(1_048_576);
    expect(limit.parse(undefined)).toBe(65_536);
  });

  it('refuses anything else', () => {
    for (const bad of ['64', '64KB', '1.5mb', '-1kb', ''])
      expect(() => limit.parse(bad)).toThrow(/64kb or 1mb/);
  });
});

describe('SHUTDOWN_TIMEOUT_MS', () => {
  const timeout = baseConfigSchema.shape.SHUTDOWN_TIMEOUT_MS;

  it('is 25 s by default and reads milliseconds', () => {
    expect(timeout.parse(undefined)).toBe(25_000);
    expect(timeout.parse('5000')).toBe(5000);
  });

  it('refuses what is not a whole number of ms between 1 s and 10 min', () => {
    for (const bad of ['abc', '999', '600001', '1.5']) expect(() => timeout.parse(bad)).toThrow();
  });
});

describe('DATABASE_OWNER_URL and DB_MIGRATE', () => {
  const { DATABASE_OWNER_URL: owner, DB_MIGRATE: migrate } = baseConfigSchema.shape;

  it('the owner URL is optional and must be a postgres:// URL', () => {
    expect(owner.parse(undefined)).toBeUndefined();
    expect(owner.parse('')).toBeUndefined(); // `DATABASE_OWNER_URL=` unsets it
    expect(owner.parse('postgres://tokenledger_owner:pw@db/tokenledger')).toBe(
      'postgres://tokenledger_owner:pw@db/tokenledger',
    );
    expect(() => owner.parse('mysql://x@db/y')).toThrow(/postgres:\/\//);
  });

  it('migrates at boot by default; only boot, only and off', () => {
    expect(migrate.parse(undefined)).toBe('boot');
    for (const mode of ['boot', 'only', 'off']) expect(migrate.parse(mode)).toBe(mode);
    expect(() => migrate.parse('yes')).toThrow();
  });
});

describe('loadConfig errors', () => {
  it('name every bad variable and never print its value (it may be a secret)', () => {
    const secret = 'too-short-but-secret-value';
    const url = 'mysql://user:hunter2-password@db/x';
    let error: unknown;
    try {
      loadConfig('test', baseConfigSchema, {
        TOKENLEDGER_INTERNAL_SECRET: secret,
        DATABASE_URL: url,
        LOG_LEVEL: 'loud-secret-level',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/TOKENLEDGER_INTERNAL_SECRET: must be at least 32 characters/);
    expect(message).toMatch(/DATABASE_URL: must be a postgres:\/\/ URL/);
    expect(message).toMatch(/LOG_LEVEL:/);
    for (const value of [secret, 'hunter2', 'loud-secret-level'])
      expect(message).not.toContain(value);
  });
});
