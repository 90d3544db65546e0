/** What issuance knows at start about root and admin tokens and the configured root token. */
export interface RootFacts {
  /** Root tokens ever registered (any status). */
  rootsEver: number;
  /** Some token holding `admin` (root included) is active and unexpired. */
  activeAdmin: boolean;
  /** The configured root token: `TOKENLEDGER_ROOT_TOKEN`, else the ROOT_TOKEN_FILE, else none. */
  configured: { from: 'env' | 'file'; alreadyRegistered: boolean } | undefined;
}

export type RootPlan =
  | { kind: 'nothing' }
  /** First start: the configured token, or a generated one (printed once, written to the file). */
  | { kind: 'first-root'; use: 'env' | 'generated' }
  /**
   * No active admin is left: a new root, recorded as `ops.break-glass`. The configured token
   * when it was never registered; a fresh generated one when it was (a revoked token stays revoked).
   */
  | { kind: 'break-glass'; use: 'env' | 'file' | 'generated' }
  /** No active admin and no configured root token: nothing can be done from here. */
  | { kind: 'locked-out' };

/**
 * Root bootstrap at issuance start. MUST NOT create a root while an admin token is active, and
 * MUST NOT create one after the first start without a configured root token (the holder of the
 * deployment's configuration is the one who may break the glass).
 */
export function planRoot(facts: RootFacts): RootPlan {
  if (facts.rootsEver === 0) {
    // First start; an admin issued otherwise (none can exist without a root) is not expected.
    return { kind: 'first-root', use: facts.configured?.from === 'env' ? 'env' : 'generated' };
  }
  if (facts.activeAdmin) return { kind: 'nothing' };
  if (!facts.configured) return { kind: 'locked-out' };
  return {
    kind: 'break-glass',
    use: facts.configured.alreadyRegistered ? 'generated' : facts.configured.from,
  };
}
