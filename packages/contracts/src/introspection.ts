/**
 * The RFC 7662 answer the revocation app gives and the SDK reads: either every field, or exactly
 * `{ "active": false }` (an inactive token reveals nothing more).
 */
export type IntrospectionAnswer =
  | { active: false }
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
