// Configuration, parsed once at start from an optional JSON file (WITNESS_CONFIG) and the
// environment (which wins); every problem is named.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isValidKeyName, parseVerifierKey, type NoteVerifier } from '@tokenledger/ledger-core';
import { z } from 'zod';
import type { LogConfig } from './decide';

export interface WitnessConfig {
  /** The witness's key name, e.g. `witness.example.org/w1`. */
  readonly name: string;
  readonly host: string;
  /** 0 picks a free port (logged at start). */
  readonly port: number;
  readonly stateDir: string;
  /** Where the seed is kept when WITNESS_SEED is not set; created on first start. */
  readonly seedFile: string;
  /** The seed itself (WITNESS_SEED, base64), when the key is kept out of the state directory. */
  readonly seed?: string;
  readonly bodyLimit: number;
  readonly logs: readonly LogConfig[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'invalid-config';
  readonly retryable = false;
  constructor(readonly problems: readonly string[]) {
    super(`invalid witness configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const singleLine = z
  .string()
  .min(1)
  .refine((o) => !o.includes('\n'), 'must be a single line');
const logSchema = z
  .object({
    origin: singleLine.optional(),
    /** Every origin `<originPrefix><name>` is a log (name of [A-Za-z0-9._-]). */
    originPrefix: singleLine.refine((o) => o.endsWith('/'), 'must end with "/"').optional(),
    keys: z.array(z.string()).min(1, 'needs at least one verifier key'),
  })
  .refine((l) => (l.origin === undefined) !== (l.originPrefix === undefined), {
    message: 'needs exactly one of "origin" and "originPrefix"',
  });

const schema = z.object({
  name: z.string().refine(isValidKeyName, 'must be a key name (no spaces, no "+")'),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(7380),
  stateDir: z.string().min(1),
  seedFile: z.string().min(1).optional(),
  seed: z.string().min(1).optional(),
  bodyLimit: z.coerce
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(64 * 1024),
  logs: z.array(logSchema).min(1, 'configure at least one log'),
});

/** Environment variable of each setting (also the names used in error messages). */
export const ENV = {
  name: 'WITNESS_NAME',
  host: 'WITNESS_HOST',
  port: 'WITNESS_PORT',
  stateDir: 'WITNESS_STATE_DIR',
  seedFile: 'WITNESS_SEED_FILE',
  seed: 'WITNESS_SEED',
  bodyLimit: 'WITNESS_BODY_LIMIT',
  logs: 'WITNESS_LOGS',
} as const;

function readSources(env: NodeJS.ProcessEnv, problems: string[]): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const file = env.WITNESS_CONFIG;
  if (file !== undefined && file !== '') {
    try {
      const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof json !== 'object' || json === null || Array.isArray(json))
        problems.push(`WITNESS_CONFIG: ${file} must hold a JSON object`);
      else Object.assign(raw, json);
    } catch (err) {
      problems.push(`WITNESS_CONFIG: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  for (const [key, variable] of Object.entries(ENV)) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    if (key !== 'logs') {
      raw[key] = value;
      continue;
    }
    try {
      raw.logs = JSON.parse(value);
    } catch {
      problems.push(`${variable}: must be a JSON array of {"origin" or "originPrefix", "keys"}`);
    }
  }
  return raw;
}

/** Parses the configuration; throws ConfigError listing every problem. Never echoes WITNESS_SEED. */
export function loadWitnessConfig(env: NodeJS.ProcessEnv = process.env): WitnessConfig {
  const problems: string[] = [];
  const raw = readSources(env, problems);
  const result = schema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const [head, ...rest] = issue.path.map(String);
      const where =
        head === undefined
          ? '(config)'
          : `${ENV[head as keyof typeof ENV] ?? head}${rest.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')}`;
      problems.push(`${where}: ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  const c = result.data;
  const logs: LogConfig[] = [];
  const seen = new Set<string>();
  for (const [i, log] of c.logs.entries()) {
    const origin = log.origin ?? log.originPrefix ?? '';
    const field = log.origin === undefined ? 'originPrefix' : 'origin';
    if (seen.has(origin))
      problems.push(`WITNESS_LOGS[${i}].${field}: ${origin} is configured twice`);
    seen.add(origin);
    const verifiers: NoteVerifier[] = [];
    for (const [j, key] of log.keys.entries()) {
      const parsed = parseVerifierKey(key);
      if (parsed.ok) verifiers.push(parsed.verifier);
      else
        problems.push(
          `WITNESS_LOGS[${i}].keys[${j}]: ${parsed.error.code}: ${parsed.error.message}`,
        );
    }
    logs.push(
      log.originPrefix === undefined ? { origin, verifiers } : { origin, prefix: true, verifiers },
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    name: c.name,
    host: c.host,
    port: c.port,
    stateDir: c.stateDir,
    seedFile: c.seedFile ?? join(c.stateDir, 'witness.seed'),
    ...(c.seed === undefined ? {} : { seed: c.seed }),
    bodyLimit: c.bodyLimit,
    logs,
  };
}
