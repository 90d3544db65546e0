/**
 * The console's configuration, parsed once at boot; every problem is named. The console holds no
 * credential of its own: it only knows where the four services are and which keys it trusts.
 */
export const APPS = ['issuance', 'revocation', 'anomaly', 'ledger'] as const;
export type ConsoleApp = (typeof APPS)[number];

export interface ConsoleConfig {
  port: number;
  host: string;
  upstreams: Record<ConsoleApp, URL>;
  /** Served to the browser as /config.json: what the browser verifies against. */
  trust: {
    /** Ledger checkpoint verifier keys (C2SP `name+hash+base64`). */
    logKeys: string[];
    /** Witness cosignature verifier keys (`name+hash+base64(0x04 || key)`). */
    witnessKeys: string[];
    /** Verified cosignatures a checkpoint needs to count as witnessed. */
    witnessQuorum: number;
  };
  staticDir: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const DEFAULT_PORTS: Record<ConsoleApp, number> = {
  issuance: 4001,
  revocation: 4002,
  anomaly: 4003,
  ledger: 4004,
};

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const KEY = /^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/;

export function parseConfig(env: NodeJS.ProcessEnv, staticDir: string): ConsoleConfig {
  const problems: string[] = [];
  const port = Number(env.CONSOLE_PORT ?? env.PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    problems.push(`CONSOLE_PORT must be a port number, got ${JSON.stringify(env.CONSOLE_PORT)}`);
  const upstreams = {} as Record<ConsoleApp, URL>;
  for (const app of APPS) {
    const name = `${app.toUpperCase()}_URL`;
    const raw = env[name] ?? `http://127.0.0.1:${DEFAULT_PORTS[app]}`;
    try {
      const url = new URL(raw);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
      upstreams[app] = url;
    } catch {
      problems.push(`${name} must be an http(s) URL, got ${JSON.stringify(raw)}`);
    }
  }
  const logKeys = list(env.CONSOLE_LOG_KEYS);
  const witnessKeys = list(env.CONSOLE_WITNESS_KEYS);
  for (const [name, keys] of [
    ['CONSOLE_LOG_KEYS', logKeys],
    ['CONSOLE_WITNESS_KEYS', witnessKeys],
  ] as const)
    for (const key of keys)
      if (!KEY.test(key)) problems.push(`${name}: ${JSON.stringify(key)} is not name+hash+base64`);
  const witnessQuorum = Number(env.CONSOLE_WITNESS_QUORUM ?? (witnessKeys.length > 0 ? 1 : 0));
  if (!Number.isInteger(witnessQuorum) || witnessQuorum < 0 || witnessQuorum > witnessKeys.length)
    problems.push(
      `CONSOLE_WITNESS_QUORUM must be an integer from 0 to the number of CONSOLE_WITNESS_KEYS (${witnessKeys.length})`,
    );
  if (problems.length > 0)
    throw new ConfigError(`invalid console configuration:\n  ${problems.join('\n  ')}`);
  return {
    port,
    host: env.CONSOLE_HOST ?? '127.0.0.1',
    upstreams,
    trust: { logKeys, witnessKeys, witnessQuorum },
    staticDir,
  };
}
