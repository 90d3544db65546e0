/** Who is calling, as established from an operator token. Never carries the token or its hash. */
export interface Principal {
  tokenId: string;
  scopes: string[];
  /** `operator:<tokenId>`, for the `actor` of events the call causes. */
  actor: string;
}

export type AuthenticationResult =
  { ok: true; principal: Principal } | { ok: false; reason: 'malformed' | 'unknown' | 'inactive' };

/**
 * Turns a presented bearer token into a principal. The revocation app answers from its own
 * status projection; every other app asks the revocation app (see RemoteAuthenticator).
 * Implementations MUST reflect a revocation within 1 s.
 */
export abstract class TokenAuthenticator {
  abstract authenticate(token: string): Promise<AuthenticationResult>;
}

export function operatorActor(tokenId: string): string {
  return `operator:${tokenId}`;
}
