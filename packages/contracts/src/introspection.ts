/** Why a valid token is inactive for this use: its usage limits (RFC 7662 extension member). */
export type TokenledgerReason = 'rate_limited' | 'credits_exhausted';

/**
 * The RFC 7662 answer the revocation app gives and the SDK reads: either every field, or exactly
 * `{ "active": false }` (an inactive token reveals nothing more), or, for a valid token refused
 * by its own usage limits, `{ "active": false, "tokenledger_reason": ... }`.
 */
export type IntrospectionAnswer =
  | { active: false; tokenledger_reason?: TokenledgerReason }
  | {
      active: true;
      scope: string;
      client_id: string;
      sub: string;
      exp: number;
      iat: number;
      token_type: 'Bearer' | 'DPoP';
      cnf?: { jkt: string };
    };
