/**
 * The exit codes of `tokenledger` (documented in the README and `tokenledger --help`), and the
 * errors that map to them. Scripts rely on them: keep them stable.
 */
export const EXIT = {
  /** The command did what it was asked and every check passed. */
  ok: 0,
  /** A verification failed or a monitor raised an ALERT (or a replay did not complete). */
  failed: 1,
  /** The command line does not fit the usage, or an input file cannot be read. */
  usage: 2,
  /** The ledger, a witness or Kafka could not be reached (connection, DNS, timeout). */
  unreachable: 3,
  /** The server answered with an error (HTTP 4xx or 5xx: a bad token, a missing scope...). */
  refused: 4,
  /** A bug in tokenledger itself. */
  internal: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A command line that does not fit the usage: exit 2. */
export class UsageError extends Error {}

/**
 * What an error answer said: RFC 9457 problem details (`code`, `detail`, `requestId`), read by
 * refusal.ts (the same shape as @tokenledger/errors' ProblemDetails; this file imports nothing).
 */
export interface Refusal {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  requestId?: string;
}

/** The server answered, with an HTTP error status: exit 4. */
export class RefusedError extends Error {
  constructor(
    readonly what: string,
    readonly status: number,
    detail = '',
    readonly problem?: Refusal,
  ) {
    super(`${what}: HTTP ${status}${detail ? ` ${detail}` : ''}`);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/**
 * Whether an error means "could not reach the server": fetch's `TypeError: fetch failed` with a
 * network cause, a timeout, or a Kafka connection failure. An answer with an error status is not
 * this (RefusedError).
 */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return true;
  if (/^KafkaJS(Connection|NumberOfRetriesExceeded|BrokerNotFound)/.test(error.name)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (error.cause !== undefined && error.cause !== error) return isUnreachable(error.cause);
  return error instanceof TypeError && error.message === 'fetch failed';
}

/** The exit code and a short kind for an error that ended a command. */
export function classify(error: unknown): {
  code: ExitCode;
  kind: 'usage' | 'unreachable' | 'refused' | 'internal';
} {
  if (error instanceof UsageError) return { code: EXIT.usage, kind: 'usage' };
  if (error instanceof RefusedError) return { code: EXIT.refused, kind: 'refused' };
  if (isUnreachable(error)) return { code: EXIT.unreachable, kind: 'unreachable' };
  return { code: EXIT.internal, kind: 'internal' };
}

/** The message of an error, with the network cause fetch hides in `cause`. */
export function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : '';
  return cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
}
