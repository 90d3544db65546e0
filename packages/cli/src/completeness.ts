// `tokenledger verify --witness-url`: is the bundle's tree the latest one the witnesses hold? An
// offline bundle proves its entries are in the tree it carries, never that the tree is the whole
// log: a ledger that truncated its log can still export an older, honestly cosigned checkpoint.
// A witness's latest cosigned checkpoint (c2sp.org/tlog-witness monitoring endpoint) says how big
// the log has been seen to be.
import { createHash } from 'node:crypto';
import { verifyTrustedCheckpoint, type TrustPolicy } from '@tokenledger/ledger-core';

export interface CompletenessProblem {
  readonly code: 'behind-witness' | 'witness-fork' | 'witness-unusable';
  readonly message: string;
}

export interface WitnessLatest {
  readonly url: string;
  readonly size: number;
}

export type CompletenessResult =
  | { readonly ok: true; readonly witnesses: readonly WitnessLatest[] }
  | { readonly ok: false; readonly error: CompletenessProblem };

export interface BundleTree {
  readonly logId: string;
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
}

const TIMEOUT_MS = 10_000;

/**
 * Asks each witness for its latest checkpoint of the bundle's origin; it must verify under the
 * pinned trust (log key; its own cosignature is not required to meet the quorum). Fails when a
 * witness holds a larger tree (the ledger no longer serves part of what it published, or the bundle
 * is not the latest), the same size with another root (a fork), or cannot be asked.
 */
export async function checkAgainstWitnesses(
  tree: BundleTree,
  urls: readonly string[],
  trust: TrustPolicy,
  doFetch: typeof fetch = fetch,
): Promise<CompletenessResult> {
  const originHash = createHash('sha256').update(tree.origin).digest('hex');
  const seen: WitnessLatest[] = [];
  for (const url of urls) {
    const base = url.endsWith('/') ? url : `${url}/`;
    const unusable = (why: string): CompletenessResult => ({
      ok: false,
      error: { code: 'witness-unusable', message: `witness ${url}: ${why}` },
    });
    let res: Response;
    try {
      res = await doFetch(new URL(`${originHash}/checkpoint`, base), {
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      return unusable(
        `cannot be asked (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    if (res.status === 404) return unusable(`holds no checkpoint for ${tree.origin}`);
    if (res.status !== 200) return unusable(`answered ${res.status}`);
    const checked = verifyTrustedCheckpoint(await res.text(), trust, tree.logId, {
      requireQuorum: false,
    });
    if (!checked.ok)
      return unusable(
        `its checkpoint does not verify: ${checked.error.code}: ${checked.error.message}`,
      );
    const { size, rootHash } = checked.trusted.checkpoint;
    if (size > tree.size)
      return {
        ok: false,
        error: {
          code: 'behind-witness',
          message: `witness ${url} cosigned a tree of size ${size} for ${tree.origin}, this bundle's tree has ${tree.size}: entries [${tree.size}, ${size}) were published but are not covered (truncated log, or not the latest export)`,
        },
      };
    if (size === tree.size && !rootHash.equals(tree.rootHash))
      return {
        ok: false,
        error: {
          code: 'witness-fork',
          message: `witness ${url} cosigned another root for the tree of size ${size} of ${tree.origin}: two histories under one log key`,
        },
      };
    seen.push({ url, size });
  }
  return { ok: true, witnesses: seen };
}
