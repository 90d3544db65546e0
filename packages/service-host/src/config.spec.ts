import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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

describe('KAFKA_CLIENT', () => {
  it('is kafkajs by default; platformatic picks @platformatic/kafka; anything else stops the start naming it', () => {
    const secret = 'x'.repeat(32);
    expect(
      loadConfig('test', baseConfigSchema, { TOKENLEDGER_INTERNAL_SECRET: secret }).KAFKA_CLIENT,
    ).toBe('kafkajs');
    expect(
      loadConfig('test', baseConfigSchema, {
        TOKENLEDGER_INTERNAL_SECRET: secret,
        KAFKA_CLIENT: 'platformatic',
      }).KAFKA_CLIENT,
    ).toBe('platformatic');
    let error: unknown;
    try {
      loadConfig('test', baseConfigSchema, {
        TOKENLEDGER_INTERNAL_SECRET: secret,
        KAFKA_CLIENT: 'rdkafka',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^KAFKA_CLIENT: /)]);
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

describe('*_FILE variables (Docker secrets)', () => {
  const secret = 'file-secret-0123456789abcdef0123456789';
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-files-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, content, { mode: 0o600 });
    return f;
  };

  it('reads a secret from its file, trimmed', () => {
    const config = loadConfig('test', baseConfigSchema, {
      TOKENLEDGER_INTERNAL_SECRET_FILE: file('internal', `${secret}\n`),
    });
    expect(config.TOKENLEDGER_INTERNAL_SECRET).toBe(secret);
  });

  it('puts a password from a file into the database URL, URL-encoded', () => {
    const config = loadConfig('test', baseConfigSchema, {
      TOKENLEDGER_INTERNAL_SECRET: secret,
      DATABASE_URL: 'postgres://app@db:5432/tokenledger',
      DATABASE_PASSWORD_FILE: file('db', 'p@ss/word\n'),
      DATABASE_OWNER_URL: 'postgres://owner@db:5432/tokenledger',
      DATABASE_OWNER_PASSWORD_FILE: file('owner', 'owner-pw'),
    });
    expect(new URL(config.DATABASE_URL).password).toBe(encodeURIComponent('p@ss/word'));
    expect(decodeURIComponent(new URL(config.DATABASE_URL).password)).toBe('p@ss/word');
    expect(config.DATABASE_OWNER_URL).toBe('postgres://owner:owner-pw@db:5432/tokenledger');
  });

  it('a missing or empty file stops the start naming the variable, never a value', () => {
    let error: unknown;
    try {
      loadConfig('test', baseConfigSchema, {
        TOKENLEDGER_INTERNAL_SECRET_FILE: path.join(dir, 'absent'),
        DATABASE_URL: 'postgres://app@db/x',
        DATABASE_PASSWORD_FILE: file('empty', '\n'),
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual([
      `TOKENLEDGER_INTERNAL_SECRET_FILE: cannot read ${path.join(dir, 'absent')} (ENOENT)`,
      `DATABASE_PASSWORD_FILE: ${path.join(dir, 'empty')} is empty`,
    ]);
  });

  it('refuses a variable given both ways, and a password given twice, without the values', () => {
    let error: unknown;
    try {
      loadConfig('test', baseConfigSchema, {
        TOKENLEDGER_INTERNAL_SECRET: secret,
        TOKENLEDGER_INTERNAL_SECRET_FILE: file('internal', secret),
        DATABASE_URL: 'postgres://app:inline-pw@db/x',
        DATABASE_PASSWORD_FILE: file('db', 'file-pw'),
      });
    } catch (e) {
      error = e;
    }
    const message = (error as ConfigError).message;
    expect(message).toMatch(
      /TOKENLEDGER_INTERNAL_SECRET_FILE: set TOKENLEDGER_INTERNAL_SECRET or TOKENLEDGER_INTERNAL_SECRET_FILE, not both/,
    );
    expect(message).toMatch(/DATABASE_PASSWORD_FILE: DATABASE_URL already has a password/);
    for (const value of [secret, 'inline-pw', 'file-pw']) expect(message).not.toContain(value);
  });

  it('a value read from a file is checked like the variable itself', () => {
    expect(() =>
      loadConfig('test', baseConfigSchema, {
        TOKENLEDGER_INTERNAL_SECRET_FILE: file('short', 'short-file-secret'),
      }),
    ).toThrow(/TOKENLEDGER_INTERNAL_SECRET: must be at least 32 characters/);
  });
});
