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

/**
 * Scopes that may be narrowed to owners: `tokens:read@team-a` reaches only the tokens whose
 * owner id is `team-a` (one owner per scope; grant several for several owners).
 */
export const OWNER_SCOPABLE = [
  'tokens:issue',
  'tokens:read',
  'tokens:revoke',
  'anomalies:read',
] as const;
export type OwnerScopable = (typeof OWNER_SCOPABLE)[number];
/** Owner ids an owner-scoped scope can name. */
export const OWNER_IN_SCOPE_RE = /^[A-Za-z0-9._-]{1,64}$/;

const ADMIN = 'admin';
const OWNER_SCOPABLE_SET: ReadonlySet<string> = new Set(OWNER_SCOPABLE);
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

/** `tokens:read@team-a` -> ['tokens:read', 'team-a']; undefined when not a valid owner-scoped scope. */
export function parseOwnerScope(s: string): [OwnerScopable, string] | undefined {
  const at = s.indexOf('@');
  if (at < 0) return undefined;
  const base = s.slice(0, at);
  const owner = s.slice(at + 1);
  if (!OWNER_SCOPABLE_SET.has(base) || !OWNER_IN_SCOPE_RE.test(owner)) return undefined;
  return [base as OwnerScopable, owner];
}

/**
 * A known scope, a custom one for internal services such as `billing:read` (at most 128 chars),
 * or an owner-scoped one such as `tokens:issue@team-a` ({@link OWNER_SCOPABLE}).
 */
export function isValidScope(s: unknown): s is string {
  return (
    typeof s === 'string' &&
    s.length <= MAX_SCOPE_LENGTH &&
    (KNOWN.has(s) || CUSTOM_SCOPE_RE.test(s) || parseOwnerScope(s) !== undefined)
  );
}

/** Which owners' tokens `granted` reaches with `base`: all of them, or only those named. */
export type OwnerReach = { all: true } | { all: false; owners: string[] };

/** `admin` or `base` itself reach every owner; `base@x` scopes reach owner x each. */
export function ownerReach(granted: readonly string[], base: OwnerScopable): OwnerReach {
  if (granted.includes(ADMIN) || granted.includes(base)) return { all: true };
  const owners = new Set<string>();
  for (const g of granted) {
    const parsed = parseOwnerScope(g);
    if (parsed && parsed[0] === base) owners.add(parsed[1]);
  }
  return { all: false, owners: [...owners].sort() };
}

export function reaches(reach: OwnerReach, ownerId: string): boolean {
  return reach.all || reach.owners.includes(ownerId);
}

/**
 * `required` held for at least one owner: `hasScope`, or `required@<owner>` for some owner. For
 * routes that narrow what they do to {@link ownerReach}; every other route uses `hasScope`.
 */
export function hasScopeForSomeOwner(granted: readonly string[], required: string): boolean {
  if (hasScope(granted, required)) return true;
  if (!OWNER_SCOPABLE_SET.has(required)) return false;
  const reach = ownerReach(granted, required as OwnerScopable);
  return reach.all || reach.owners.length > 0;
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
