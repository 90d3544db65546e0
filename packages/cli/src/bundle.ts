import { CHAIN_SEED, chainNext, leafHash, openCheckpoint, parseVerifierKey, verifyInclusion, type NoteVerifier } from '@tokenledger/ledger-core';

export interface BundleSummary {
  logId: string;
  origin: string;
  treeSize: number;
  from: number;
  to: number;
  entries: number;
  keys: string[];
}

export type BundleResult = { ok: true; summary: BundleSummary } | { ok: false; index?: number; problem: string };

interface Header {
  type: 'bundle';
  version: number;
  logId: string;
  origin: string;
  from: number;
  to: number;
  treeSize: number;
  chainStart: string;
}

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

/**
 * Checks an NDJSON evidence bundle offline, trusting nothing but the verifier keys it is given
 * (or, when none are given, the keys in the bundle): the checkpoint's signature and origin, each
 * entry's inclusion proof against that checkpoint, the linear chain across the entries, and that
 * the entries are exactly [from, to). Stops at the first failure and names it.
 */
export function verifyBundle(lines: Iterable<string>, options: { trustedKeys?: string[]; onProgress?: (done: number, total: number) => void } = {}): BundleResult {
  let header: Header | undefined;
  let verifiers: NoteVerifier[] = [];
  let keyStrings: string[] = [];
  let checkpoint: { size: number; rootHash: Uint8Array } | undefined;
  let chain: Buffer = CHAIN_SEED;
  let expected = 0;
  let count = 0;
  const fail = (problem: string, index?: number): BundleResult => ({ ok: false, problem, ...(index !== undefined ? { index } : {}) });

  for (const line of lines) {
    if (line.trim() === '') continue;
    let item: Record<string, unknown>;
    try {
      item = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return fail(`line ${count + 1} is not JSON`);
    }
    switch (item.type) {
      case 'bundle':
        header = item as unknown as Header;
        chain = b64(header.chainStart);
        expected = header.from;
        if (chain.length !== 32) return fail('bundle header: chainStart is not 32 bytes');
        break;
      case 'keys': {
        const given = (item.keys as Array<{ verifierKey: string }>).map((k) => k.verifierKey);
        keyStrings = options.trustedKeys ?? given;
        verifiers = [];
        for (const k of keyStrings) {
          const parsed = parseVerifierKey(k);
          if (!parsed.ok) return fail(`verifier key ${k}: ${parsed.error.message}`);
          verifiers.push(parsed.verifier);
        }
        break;
      }
      case 'checkpoint': {
        if (!header) return fail('checkpoint before the bundle header');
        const opened = openCheckpoint(String(item.note), verifiers, header.origin);
        if (!opened.ok) return fail(`checkpoint: ${opened.error.message}`);
        if (opened.checkpoint.size !== header.treeSize) return fail(`checkpoint size ${opened.checkpoint.size} differs from the bundle's tree size ${header.treeSize}`);
        checkpoint = opened.checkpoint;
        break;
      }
      case 'entry': {
        if (!header || !checkpoint) return fail('entry before the bundle header and checkpoint');
        const index = Number(item.index);
        if (index !== expected) return fail(`expected entry ${expected}, found ${index} (missing or reordered entries)`, expected);
        const leaf = b64(String(item.leaf));
        const hash = leafHash(leaf);
        const proof = (item.proof as string[]).map(b64);
        const included = verifyInclusion(hash, index, checkpoint.size, proof, checkpoint.rootHash);
        if (!included.ok) return fail(`entry ${index} is not in the signed tree: ${included.error.message}`, index);
        chain = chainNext(chain, hash);
        if (!chain.equals(b64(String(item.chainHash)))) return fail(`entry ${index}: chain hash does not follow from the previous entries`, index);
        expected += 1;
        count += 1;
        options.onProgress?.(count, header.to - header.from);
        break;
      }
      default:
        return fail(`unknown line type ${JSON.stringify(item.type)}`);
    }
  }
  if (!header || !checkpoint) return fail('incomplete bundle: no header or no checkpoint');
  if (expected !== header.to) return fail(`bundle ends at entry ${expected}, but says it holds entries up to ${header.to}`, expected);
  return { ok: true, summary: { logId: header.logId, origin: header.origin, treeSize: header.treeSize, from: header.from, to: header.to, entries: count, keys: keyStrings } };
}
