/** Who is calling, as established from an operator token. Never carries the token or its hash. */
export interface Principal {
  tokenId: string;
  scopes: string[];
  /** `operator:<tokenId>`, for the `actor` of events the call causes. */
  actor: string;
}

/**
 * How the token was presented (RFC 9449 §7.1): the `Authorization` scheme and, for `DPoP`,
 * the `DPoP` header's proof with the method and URL of the request that carried it.
 */
export interface Presentation {
  scheme: 'Bearer' | 'DPoP';
  proof?: string;
  htm: string;
  htu: string;
}

/**
 * `dpop`: the token is DPoP-bound and was presented without `Authorization: DPoP` and a valid
 * proof of its key for this request (or a token that is not bound was presented as DPoP).
 */
export type AuthenticationResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'malformed' | 'unknown' | 'inactive' | 'dpop' };

/**
 * Turns a presented operator token into a principal. The revocation app answers from its own
 * status projection and DPoP jti store; every other app asks the revocation app (see
 * RemoteAuthenticator). Implementations MUST reflect a revocation within 1 s, and MUST refuse
 * a DPoP-bound token unless `presentation` is `DPoP` with a proof that passes the same checks
 * as introspection (one jti store for both). No presentation means Bearer without a proof.
 */
export abstract class TokenAuthenticator {
  abstract authenticate(token: string, presentation?: Presentation): Promise<AuthenticationResult>;
}

const OPERATOR_ACTOR_PREFIX = 'operator:';

export function operatorActor(tokenId: string): string {
  return `${OPERATOR_ACTOR_PREFIX}${tokenId}`;
}

/** The operator token id in an actor built by operatorActor; undefined for any other actor. */
export function operatorTokenIdOf(actor: string): string | undefined {
  if (!actor.startsWith(OPERATOR_ACTOR_PREFIX)) return undefined;
  const tokenId = actor.slice(OPERATOR_ACTOR_PREFIX.length);
  return tokenId.length > 0 ? tokenId : undefined;
}
