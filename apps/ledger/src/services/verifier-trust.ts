import { trustPolicy, type TrustPolicy } from '@tokenledger/ledger-core';
import type { LedgerConfig } from '../config';

export interface VerifierTrust {
  /** Log keys, witnesses and quorum: from configuration only. */
  readonly policy: TrustPolicy;
  /** Where each witness's monitoring endpoint is (`<url>/<hex sha256(origin)>/checkpoint`). */
  readonly witnesses: ReadonlyArray<{ readonly name: string; readonly url: string }>;
}

/**
 * What `/v1/ledger/verify` trusts: LEDGER_TRUSTED_KEYS (active and retired), or, when that is
 * empty, the ledger's own signing key as the one active key; LEDGER_WITNESSES and
 * LEDGER_WITNESS_QUORUM. MUST NOT read `signing_keys`: a row inserted there would vouch for a
 * rewrite re-signed with it. Throws at boot on a policy that cannot be built.
 */
export function verifierTrust(
  config: Pick<
    LedgerConfig,
    'LEDGER_ORIGIN' | 'LEDGER_TRUSTED_KEYS' | 'LEDGER_WITNESSES' | 'LEDGER_WITNESS_QUORUM'
  >,
  ownVerifierKey: string,
): VerifierTrust {
  const logKeys =
    config.LEDGER_TRUSTED_KEYS.length > 0
      ? config.LEDGER_TRUSTED_KEYS.map((k) => ({
          verifierKey: k.verifierKey,
          ...(k.retiredAt !== undefined ? { retired: k.retiredAt } : {}),
        }))
      : [{ verifierKey: ownVerifierKey }];
  const built = trustPolicy({
    originPrefix: config.LEDGER_ORIGIN,
    logKeys,
    witnesses: config.LEDGER_WITNESSES.map((w) => w.verifierKey),
    quorum: config.LEDGER_WITNESS_QUORUM,
  });
  if (!built.ok) throw new Error(`ledger trust configuration: ${built.error.message}`);
  return {
    policy: built.policy,
    witnesses: config.LEDGER_WITNESSES.map((w) => ({ name: w.verifier.name, url: w.url })),
  };
}
