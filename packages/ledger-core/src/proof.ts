import { HASH_SIZE, largestPowerOfTwoBelow, nodeHash, rangeRoot } from './rfc6962';
import { fail, OK, type Verification } from './result';

/** Leaf hashes of a tree: an array, or a reader by index (e.g. backed by stored tiles). */
export type LeafHashSource = readonly Uint8Array[] | ((index: number) => Uint8Array);

export type ProofErrorCode =
  | 'invalid-argument'
  | 'index-out-of-range'
  | 'size-out-of-range'
  | 'bad-hash-length'
  | 'bad-proof-length'
  | 'root-mismatch';

export type ProofVerification = Verification<ProofErrorCode>;

/** Thrown only by the proof *generators* when called with arguments that describe no proof. */
export class ProofArgumentError extends RangeError {
  override readonly name = 'ProofArgumentError';
  readonly retryable = false;
  constructor(
    readonly code: 'invalid-argument' | 'index-out-of-range' | 'size-out-of-range',
    message: string,
  ) {
    super(message);
  }
}

function reader(source: LeafHashSource, size: number): (index: number) => Uint8Array {
  if (typeof source === 'function') return source;
  if (source.length < size) {
    throw new ProofArgumentError(
      'size-out-of-range',
      `tree size ${size} exceeds the ${source.length} leaf hashes given`,
    );
  }
  return (i) => {
    const h = source[i];
    if (h === undefined) throw new ProofArgumentError('index-out-of-range', `no leaf hash at ${i}`);
    return h;
  };
}

function isSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/**
 * RFC 9162 §2.1.3.1 inclusion proof PATH(index, D[size]), ordered leaf to root.
 * Throws ProofArgumentError unless 0 <= index < size.
 */
export function inclusionProof(index: number, size: number, leaves: LeafHashSource): Buffer[] {
  if (!isSize(index) || !isSize(size))
    throw new ProofArgumentError(
      'invalid-argument',
      'index and size must be non-negative safe integers',
    );
  if (index >= size)
    throw new ProofArgumentError(
      'index-out-of-range',
      `index ${index} is not below tree size ${size}`,
    );
  const get = reader(leaves, size);
  // Walk down from the root; each step keeps the half holding `index` and records the sibling.
  const siblings: [number, number][] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      siblings.push([lo + k, hi]);
      hi = lo + k;
    } else {
      siblings.push([lo, lo + k]);
      lo += k;
    }
  }
  return siblings.reverse().map(([b, e]) => rangeRoot(b, e, get));
}

/**
 * RFC 9162 §2.1.4.1 consistency proof PROOF(m, D[n]), ordered as in the RFC (bottom-up).
 * Empty when m == 0 or m == n. Throws ProofArgumentError unless 0 <= m <= n.
 */
export function consistencyProof(m: number, n: number, leaves: LeafHashSource): Buffer[] {
  if (!isSize(m) || !isSize(n))
    throw new ProofArgumentError('invalid-argument', 'sizes must be non-negative safe integers');
  if (m > n)
    throw new ProofArgumentError('size-out-of-range', `old size ${m} exceeds new size ${n}`);
  if (m === 0 || m === n) return [];
  const get = reader(leaves, n);
  // SUBPROOF(m, D[lo:hi], b), unrolled: `whole` is b (the old tree is exactly this subtree).
  const ranges: [number, number][] = [];
  let lo = 0;
  let hi = n;
  let whole = true;
  for (;;) {
    if (m === hi) {
      if (!whole) ranges.push([lo, hi]);
      break;
    }
    const k = largestPowerOfTwoBelow(hi - lo);
    if (m - lo <= k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo += k;
      whole = false;
    }
  }
  return ranges.reverse().map(([b, e]) => rangeRoot(b, e, get));
}

function badHash(value: unknown): boolean {
  return !(value instanceof Uint8Array) || value.length !== HASH_SIZE;
}

function badProof(proof: unknown): string | undefined {
  if (!Array.isArray(proof)) return 'proof is not an array';
  const i = proof.findIndex(badHash);
  return i >= 0 ? `proof[${i}] is not a ${HASH_SIZE}-byte hash` : undefined;
}

/** The argument checks both verifiers share: `hashes` and every proof entry are 32-byte hashes. */
function badHashes(
  what: string,
  hashes: readonly unknown[],
  proof: unknown,
): ProofVerification | undefined {
  if (hashes.some(badHash)) return fail('bad-hash-length', `${what} must be ${HASH_SIZE} bytes`);
  const bad = badProof(proof);
  if (bad !== undefined)
    return fail(bad.startsWith('proof[') ? 'bad-hash-length' : 'invalid-argument', bad);
  return undefined;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/**
 * RFC 9162 §2.1.3.2: does `proof` show `leafHash` at `index` in the tree of `size` leaves with
 * root `root`? Never throws; says what failed.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): ProofVerification {
  if (!isSize(index) || !isSize(size))
    return fail('invalid-argument', 'index and size must be non-negative safe integers');
  if (index >= size)
    return fail('index-out-of-range', `index ${index} is not below tree size ${size}`);
  const bad = badHashes('leaf hash and root', [leafHash, root], proof);
  if (bad) return bad;

  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0n)
      return fail(
        'bad-proof-length',
        `proof has ${proof.length} hashes, too many for index ${index} in size ${size}`,
      );
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n)
    return fail(
      'bad-proof-length',
      `proof has ${proof.length} hashes, too few for index ${index} in size ${size}`,
    );
  if (!r.equals(root))
    return fail('root-mismatch', `proof yields root ${r.toString('hex')}, expected ${hex(root)}`);
  return OK;
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show that the tree of size `m` with root `rootM` is a prefix of
 * the tree of size `n` with root `rootN`? For m == n the proof MUST be empty and the roots equal;
 * for m == 0 the proof MUST be empty (every tree extends the empty tree). Never throws.
 */
export function verifyConsistency(
  m: number,
  n: number,
  proof: readonly Uint8Array[],
  rootM: Uint8Array,
  rootN: Uint8Array,
): ProofVerification {
  if (!isSize(m) || !isSize(n))
    return fail('invalid-argument', 'sizes must be non-negative safe integers');
  if (m > n) return fail('size-out-of-range', `old size ${m} exceeds new size ${n}`);
  const bad = badHashes('roots', [rootM, rootN], proof);
  if (bad) return bad;

  if (m === 0 || m === n) {
    if (proof.length !== 0)
      return fail(
        'bad-proof-length',
        `proof for sizes ${m} -> ${n} must be empty, has ${proof.length} hashes`,
      );
    if (m === n && !Buffer.from(rootM).equals(rootN)) {
      return fail(
        'root-mismatch',
        `equal sizes ${m} but roots differ: ${hex(rootM)} vs ${hex(rootN)}`,
      );
    }
    return OK;
  }
  if (proof.length === 0)
    return fail('bad-proof-length', `proof for sizes ${m} -> ${n} must not be empty`);

  let fn = BigInt(m - 1);
  let sn = BigInt(n - 1);
  // Step 2: if m is a power of two, the old root itself starts the path.
  const path: readonly Uint8Array[] = (fn & BigInt(m)) === 0n ? [rootM, ...proof] : proof;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr: Buffer = Buffer.from(path[0] as Uint8Array);
  let sr: Buffer = fr;
  for (const c of path.slice(1)) {
    if (sn === 0n)
      return fail(
        'bad-proof-length',
        `proof has ${proof.length} hashes, too many for sizes ${m} -> ${n}`,
      );
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n)
    return fail(
      'bad-proof-length',
      `proof has ${proof.length} hashes, too few for sizes ${m} -> ${n}`,
    );
  if (!fr.equals(rootM))
    return fail(
      'root-mismatch',
      `proof yields old root ${fr.toString('hex')}, expected ${hex(rootM)}`,
    );
  if (!sr.equals(rootN))
    return fail(
      'root-mismatch',
      `proof yields new root ${sr.toString('hex')}, expected ${hex(rootN)}`,
    );
  return OK;
}
