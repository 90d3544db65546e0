export const KNOWN_SCOPES = [
  'tokens:issue',
  'tokens:read',
  'tokens:revoke',
  'tokens:introspect',
  'leaks:report',
  'policies:write',
  'ledger:read',
  'ledger:export',
  'replay:run',
  'anomalies:read',
  'usage:report',
  'webhooks:read',
  'webhooks:write',
  'admin',
] as const;

export type KnownScope = (typeof KNOWN_SCOPES)[number];

const ADMIN = 'admin';
const MAX_SCOPE_LENGTH = 128;
const CUSTOM_SCOPE_RE = /^[a-z][a-z0-9-]*(?::[a-z0-9-]+)+$/;
const KNOWN: ReadonlySet<string> = new Set(KNOWN_SCOPES);

export class InvalidScopeError extends RangeError {
  override readonly name = 'InvalidScopeError';
  readonly retryable = false;
  readonly code = 'invalid-scope';
  constructor(readonly scope: unknown) {
    super(`invalid scope ${typeof scope === 'string' ? JSON.stringify(scope) : String(scope)}`);
  }
}

/** A known scope, or a custom one for internal services such as `billing:read` (at most 128 chars). */
export function isValidScope(s: unknown): s is string {
  return (
    typeof s === 'string' &&
    (KNOWN.has(s) || (s.length <= MAX_SCOPE_LENGTH && CUSTOM_SCOPE_RE.test(s)))
  );
}

/** `admin` implies every valid scope; otherwise an exact match. An invalid `required` is never held. */
export function hasScope(granted: readonly string[], required: string): boolean {
  if (!isValidScope(required)) return false;
  return granted.includes(ADMIN) || granted.includes(required);
}

/**
 * The requested scopes the caller does not hold itself (deduplicated, sorted): a caller MUST NOT
 * grant more than it has. Empty when the caller holds `admin`.
 */
export function missingScopes(granted: readonly string[], requested: readonly string[]): string[] {
  if (granted.includes(ADMIN)) return [];
  const missing = new Set(requested.filter((s) => !granted.includes(s)));
  return [...missing].sort();
}

/** Deduplicated and sorted; throws {@link InvalidScopeError} naming the first invalid scope. */
export function normalizeScopes(scopes: readonly string[]): string[] {
  for (const s of scopes) {
    if (!isValidScope(s)) throw new InvalidScopeError(s);
  }
  return [...new Set(scopes)].sort();
}
