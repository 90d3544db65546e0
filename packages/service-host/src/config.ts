import * as fs from 'node:fs';
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);

const BYTE_SIZE = /^(\d+)(kb|mb)$/;

/** `64kb` / `1mb` in bytes (the schema below has checked the form). */
function byteSize(size: string): number {
  const [, amount, unit] = BYTE_SIZE.exec(size) ?? [];
  return Number(amount) * (unit === 'mb' ? 1024 * 1024 : 1024);
}

const optionalText = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

/** Settings every Tokenledger app reads from its environment. */
export const baseConfigSchema = z.object({
  DATABASE_URL: z
    .string()
    .default('postgres://postgres@127.0.0.1:5432/tokenledger')
    .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// URL'),
  /**
   * The owner of the app's schema: creates it, runs the migrations and grants the login role of
   * DATABASE_URL what the app needs. Unset: DATABASE_URL does all of it (logged as a warning:
   * the app then owns its tables, which is not least privilege).
   */
  DATABASE_OWNER_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// URL')
      .optional(),
  ),
  /**
   * `boot`: migrate and grant at boot, then serve. `only`: migrate and grant, then exit 0 (a
   * one-shot job, so the serving process needs no owner credentials). `off`: never migrate;
   * refuse to boot when a migration is pending.
   */
  DB_MIGRATE: z.enum(['boot', 'only', 'off']).default('boot'),
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .refine(
      (v) => v.split(',').every((b) => /^[^\s:]+:\d{1,5}$/.test(b.trim())),
      'must be host:port[,host:port...]',
    ),
  /** The library that produces and consumes (docs/design/messaging.md, "Kafka client adapter"). */
  KAFKA_CLIENT: z.enum(['kafkajs', 'platformatic']).default('kafkajs'),
  HOST: z.string().min(1).default('127.0.0.1'),
  TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'may only contain letters, digits, ".", "_" and "-"')
    .default(''),
  /** Prefix of this app's consumer group ids (default: TOPIC_PREFIX). A new prefix replays from the start. */
  KAFKA_GROUP_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'may only contain letters, digits, ".", "_" and "-"')
    .optional(),
  TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(3),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Shared secret of the apps' internal service-to-service routes (at least 32 characters). */
  TOKENLEDGER_INTERNAL_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters (npm start generates one)'),
  /** The status authority that every other app asks about operator tokens. */
  REVOCATION_URL: z.url().default('http://127.0.0.1:4002'),
  /** Requests larger than this are refused with 413. `64kb` / `1mb` in the environment, bytes once parsed. */
  HTTP_BODY_LIMIT: z
    .string()
    .regex(BYTE_SIZE, 'must look like 64kb or 1mb')
    .default('64kb')
    .transform(byteSize),
  /**
   * Requests per RATE_LIMIT_WINDOW_MS from one client address (the TCP peer), on every route but
   * /health/*; 0 turns the limit off. Checked before authentication. The default is above what the
   * benchmarks send from one address (bench:introspect's constant route: about 9,000 req/s here).
   */
  RATE_LIMIT_PER_IP: z.coerce.number().int().min(0).default(20_000),
  /** Requests per RATE_LIMIT_WINDOW_MS with one credential (Authorization header); 0: off. */
  RATE_LIMIT_PER_PRINCIPAL: z.coerce.number().int().min(0).default(20_000),
  /** The window of both limits: a client gets its whole allowance back over this time. */
  RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(100).max(3_600_000).default(1000),
  /** `production` makes EVENT_SIGNING_KEY and EVENT_SIGNERS required (event-signing.md). */
  NODE_ENV: z.string().optional(),
  /** This app's event signing key, `<keyId>:<base64url seed>` (checked by eventSigningOf). */
  EVENT_SIGNING_KEY: optionalText,
  /** A file (0600) holding EVENT_SIGNING_KEY instead. */
  EVENT_SIGNING_KEY_FILE: optionalText,
  /** JSON list of {keyId, publicKey, types, sources}: whose events this app's consumers accept. */
  EVENT_SIGNERS: optionalText,
  /** After SIGTERM or SIGINT, the longest a graceful shutdown may take before the process exits anyway (code 1). */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(25_000),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration for ${service}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Variables that may be given as a file instead (Docker secrets): `<NAME>_FILE` names a file
 * whose content, trimmed, is the value. Setting both is refused. EVENT_SIGNING_KEY_FILE,
 * KAFKA_SASL_PASSWORD_FILE, LEDGER_SIGNING_KEY_FILE and ROOT_TOKEN_FILE are read where they are
 * used.
 */
export const FILE_VARIABLES = [
  'TOKENLEDGER_INTERNAL_SECRET',
  'TOKEN_PEPPER',
  'EVENT_SIGNERS',
  // The ledger's pinned witnesses (docker-compose: written by `witness-keys` into its volume).
  'LEDGER_WITNESSES',
] as const;

/** `<URL variable>` -> the variable naming a file with the password to put into that URL. */
export const PASSWORD_FILE_VARIABLES = {
  DATABASE_URL: 'DATABASE_PASSWORD_FILE',
  DATABASE_OWNER_URL: 'DATABASE_OWNER_PASSWORD_FILE',
} as const;

/** A secret file's content, trimmed; problems name the variable (and the path), never content. */
function readSecretFile(variable: string, file: string, problems: string[]): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push(`${variable}: cannot read ${file} (${code})`);
    return undefined;
  }
  if (text === '') {
    problems.push(`${variable}: ${file} is empty`);
    return undefined;
  }
  return text;
}

/**
 * The environment with the `*_FILE` variables resolved ({@link FILE_VARIABLES},
 * {@link PASSWORD_FILE_VARIABLES}), and the problems found, each naming its variable.
 */
export function resolveFileVariables(env: NodeJS.ProcessEnv): {
  env: NodeJS.ProcessEnv;
  problems: string[];
} {
  const out: NodeJS.ProcessEnv = { ...env };
  const problems: string[] = [];
  const given = (name: string): boolean => env[name] !== undefined && env[name] !== '';
  for (const name of FILE_VARIABLES) {
    const fileVariable = `${name}_FILE`;
    const file = env[fileVariable];
    if (file === undefined || file === '') continue;
    if (given(name)) {
      problems.push(`${fileVariable}: set ${name} or ${fileVariable}, not both`);
      continue;
    }
    const value = readSecretFile(fileVariable, file, problems);
    if (value !== undefined) out[name] = value;
  }
  for (const [urlVariable, fileVariable] of Object.entries(PASSWORD_FILE_VARIABLES)) {
    const file = env[fileVariable];
    if (file === undefined || file === '') continue;
    const url = env[urlVariable];
    if (url === undefined || url === '') {
      problems.push(`${fileVariable}: ${urlVariable} must be set too (the URL without password)`);
      continue;
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      continue; // the schema reports the URL
    }
    if (parsed.password !== '') {
      problems.push(`${fileVariable}: ${urlVariable} already has a password; give only one`);
      continue;
    }
    const password = readSecretFile(fileVariable, file, problems);
    if (password === undefined) continue;
    parsed.password = encodeURIComponent(password);
    out[urlVariable] = parsed.toString();
  }
  return { env: out, problems };
}

/**
 * Parses the environment once, at boot, into a typed config (`*_FILE` variables resolved first,
 * see {@link resolveFileVariables}). Every problem is reported at once,
 * each naming the variable and what is wrong, e.g. `PORT: expected number, received NaN`. The
 * rejected value MUST NOT be printed: it may be a secret (TOKEN_PEPPER, TOKENLEDGER_INTERNAL_SECRET,
 * a DATABASE_URL with a password), and boot errors end up in log files and CI output.
 */
export function loadConfig<S extends z.ZodType>(
  service: string,
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const files = resolveFileVariables(env);
  const result = schema.safeParse(files.env);
  if (result.success && files.problems.length === 0) return result.data;
  const problems = [
    ...files.problems,
    ...(result.success
      ? []
      : result.error.issues
          // A variable whose file could not be read is reported once, as its _FILE variable.
          .filter(
            (issue) => !files.problems.some((p) => p.startsWith(`${String(issue.path[0])}_FILE:`)),
          )
          .map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`)),
  ];
  throw new ConfigError(service, problems);
}

/** The config schema of an app listening on `defaultPort` with its own PostgreSQL schema. */
export function serviceConfigSchema(defaultPort: number, defaultSchema: string) {
  return baseConfigSchema.extend({
    PORT: port.default(defaultPort),
    DB_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
      .default(defaultSchema),
  });
}

export type ServiceConfig = z.infer<ReturnType<typeof serviceConfigSchema>>;
