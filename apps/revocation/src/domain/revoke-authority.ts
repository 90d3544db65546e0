import { DomainError } from '@tokenledger/errors';
import { missingScopes, ownerReach, type OwnerReach } from '@tokenledger/token-core';

/**
 * Who asks for a revocation. An operator call carries the caller's scopes and MUST pass
 * {@link assertMayRevoke} for every token it revokes; `system` (a `token.revoke-requested`
 * command, a rotation grace end) is not checked here.
 */
export type RevokeAuthority = { scopes: readonly string[] } | 'system';

/** Whose tokens `authority` may revoke (`tokens:revoke@<owner>` narrows it to those owners). */
export function revokeReach(authority: RevokeAuthority): OwnerReach {
  return authority === 'system' ? { all: true } : ownerReach(authority.scopes, 'tokens:revoke');
}

/** The scopes held by `target` that `authority` lacks (none for `system` or an `admin` caller). */
export function scopesLackedFor(authority: RevokeAuthority, target: readonly string[]): string[] {
  return authority === 'system' ? [] : missingScopes(authority.scopes, target);
}

/**
 * A caller MUST NOT revoke a token that holds a scope it lacks: `tokens:revoke` alone cannot
 * revoke an admin or root token (scope `admin`), which only `admin` can. Throws
 * `insufficient_scope` (HTTP 403) naming the lacking scopes, never the token.
 */
export function assertMayRevoke(
  authority: RevokeAuthority,
  targets: ReadonlyArray<{ scopes: readonly string[] }>,
  by: 'tokenId' | 'selector' = 'tokenId',
): void {
  const lacked = new Set<string>();
  let refused = 0;
  for (const target of targets) {
    const missing = scopesLackedFor(authority, target.scopes);
    if (missing.length === 0) continue;
    refused += 1;
    for (const scope of missing) lacked.add(scope);
  }
  if (refused === 0) return;
  const scopes = [...lacked].sort();
  throw new DomainError(
    'insufficient_scope',
    by === 'tokenId'
      ? `this token holds scopes the caller lacks: ${scopes.join(', ')}`
      : `${refused} of the ${targets.length} matching tokens hold scopes the caller lacks (${scopes.join(', ')}); nothing was revoked: narrow the selector or ask an operator who holds them`,
    false,
    { lacked: scopes, refused },
  );
}
