import { createHash } from 'node:crypto';
import {
  calculateJwkThumbprint,
  compactVerify,
  decodeProtectedHeader,
  errors,
  importJWK,
  type JWK,
} from 'jose';

/** Why a DPoP proof was refused; one value per check of RFC 9449 §4.3. */
export type DpopFailure =
  | 'malformed'
  | 'typ'
  | 'alg'
  | 'jwk'
  | 'signature'
  | 'htm'
  | 'htu'
  | 'iat'
  | 'jti'
  | 'replay'
  | 'ath'
  | 'key-mismatch';

export type DpopResult =
  | { ok: true; jkt: string; jti: string; iat: number }
  | { ok: false; reason: DpopFailure; message: string };

export interface DpopContext {
  /** Method of the request that carried the proof, e.g. `POST` (compared case-sensitively). */
  htm: string;
  /** Full URL of that request; compared after {@link normalizeHtu}, so query and fragment are ignored. */
  htu: string;
  /** When given, the proof MUST carry `ath` = {@link accessTokenHash} of it. */
  accessToken?: string;
  /** When given, the proof's key MUST have this RFC 7638 thumbprint (the token's `cnf.jkt`). */
  expectedJkt?: string;
  /** Current time in milliseconds. */
  now: number;
  /** How old a proof may be; default 300. */
  maxAgeSeconds?: number;
  /** Tolerated clock difference in both directions; default 30. */
  clockSkewSeconds?: number;
  /**
   * MUST return true when `jti` was seen before and otherwise remember it until `expiresAtMs`
   * (after which the proof's `iat` is out of the window anyway). Called last, only for proofs
   * that passed every other check, so refused proofs do not fill the cache.
   */
  isReplay: (jti: string, expiresAtMs: number) => boolean | Promise<boolean>;
}

const DEFAULT_MAX_AGE_SECONDS = 300;
const DEFAULT_CLOCK_SKEW_SECONDS = 30;
const MAX_JTI_LENGTH = 256;
const MAX_PROOF_LENGTH = 8192;
const MIN_RSA_MODULUS_BYTES = 256;
const JWS_COMPACT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** Asymmetric algorithms accepted in proofs, with the key type and curve each requires. */
const ALGORITHMS: Readonly<Record<string, { kty: string; crv?: string }>> = {
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  RS256: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
};

/** RFC 7638 JWK thumbprint, SHA-256, base64url (the value of `cnf.jkt`). */
export async function jwkThumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, 'sha256');
}

/** base64url(SHA-256(token)): the `ath` claim of RFC 9449 §4.2. */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/**
 * `scheme://host[:port]/path` with scheme and host lower-cased, the default port dropped, dot
 * segments resolved and query and fragment removed (RFC 9449 §4.3 step 9, RFC 3986 §6.2.2-6.2.3).
 * Throws a TypeError for anything but an absolute http(s) URL.
 */
export function normalizeHtu(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError('htu is not an absolute URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new TypeError(`htu must be an http(s) URL, got scheme ${u.protocol}`);
  }
  return `${u.protocol}//${u.host}${u.pathname}`;
}

function fail(reason: DpopFailure, message: string): DpopResult {
  return { ok: false, reason, message };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkJwk(jwk: unknown, alg: string): string | undefined {
  if (!isObject(jwk)) return 'the jwk header is missing or not an object';
  for (const m of PRIVATE_JWK_MEMBERS) {
    if (m in jwk) return `the jwk header contains the private or symmetric member "${m}"`;
  }
  const want = ALGORITHMS[alg];
  if (!want) return `unsupported alg ${alg}`;
  if (jwk.kty !== want.kty) return `alg ${alg} needs a ${want.kty} key, got kty ${String(jwk.kty)}`;
  if (want.crv !== undefined && jwk.crv !== want.crv)
    return `alg ${alg} needs curve ${want.crv}, got ${String(jwk.crv)}`;
  if (want.kty === 'RSA') {
    if (
      typeof jwk.n !== 'string' ||
      Buffer.from(jwk.n, 'base64url').length < MIN_RSA_MODULUS_BYTES
    ) {
      return 'RSA keys must have a modulus of at least 2048 bits';
    }
  }
  return undefined;
}

/**
 * Checks a DPoP proof JWT as RFC 9449 §4.3 asks, in this order: compact JWS, `typ`, `alg`,
 * public `jwk`, signature, `jti`, `htm`, `htu`, `iat`, `ath`, key thumbprint, replay. Never throws:
 * every problem, including an exception from `isReplay`, is a typed refusal.
 */
export async function verifyDpopProof(proof: string, ctx: DpopContext): Promise<DpopResult> {
  try {
    return await verify(proof, ctx);
  } catch (e) {
    return fail(
      'malformed',
      `proof could not be checked: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

async function verify(proof: string, ctx: DpopContext): Promise<DpopResult> {
  const maxAge = ctx.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  const skew = ctx.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;

  if (typeof proof !== 'string' || proof.length > MAX_PROOF_LENGTH || !JWS_COMPACT_RE.test(proof)) {
    return fail('malformed', 'the proof is not a JWS in compact serialization');
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    return fail('malformed', 'the protected header is not base64url-encoded JSON');
  }
  if (header.typ !== 'dpop+jwt')
    return fail('typ', `typ must be dpop+jwt, got ${String(header.typ)}`);
  const alg = header.alg;
  if (typeof alg !== 'string' || !Object.hasOwn(ALGORITHMS, alg)) {
    return fail(
      'alg',
      `alg ${String(alg)} is not an accepted asymmetric algorithm (${Object.keys(ALGORITHMS).join(', ')})`,
    );
  }
  if (header.crit !== undefined || header.b64 !== undefined) {
    return fail('malformed', 'crit and b64 header parameters are not accepted in proofs');
  }
  const jwkProblem = checkJwk(header.jwk, alg);
  if (jwkProblem !== undefined) return fail('jwk', jwkProblem);
  const jwk = header.jwk!;

  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(jwk, alg);
  } catch (e) {
    return fail(
      'jwk',
      `the jwk header is not a usable public key: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  let payloadBytes: Uint8Array;
  try {
    ({ payload: payloadBytes } = await compactVerify(proof, key, { algorithms: [alg] }));
  } catch (e) {
    if (e instanceof errors.JWSSignatureVerificationFailed)
      return fail('signature', 'the signature does not verify with the jwk header');
    return fail(
      'malformed',
      `the proof is not a valid JWS: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payloadBytes).toString('utf8'));
  } catch {
    return fail('malformed', 'the payload is not JSON');
  }
  if (!isObject(claims)) return fail('malformed', 'the payload is not a JSON object');

  const { jti, htm, htu, iat, ath } = claims;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    return fail('jti', `jti must be a non-empty string of at most ${MAX_JTI_LENGTH} chars`);
  }
  if (htm !== ctx.htm)
    return fail('htm', `htm ${JSON.stringify(htm)} does not match the request method ${ctx.htm}`);
  if (typeof htu !== 'string') return fail('htu', 'htu is missing');
  let expectedHtu: string;
  let actualHtu: string;
  try {
    expectedHtu = normalizeHtu(ctx.htu);
    actualHtu = normalizeHtu(htu);
  } catch (e) {
    return fail('htu', `htu is not a usable URL: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (actualHtu !== expectedHtu)
    return fail('htu', `htu ${actualHtu} does not match the request URL ${expectedHtu}`);
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return fail('iat', 'iat must be a number');
  const iatMs = iat * 1000;
  // Written so that NaN bounds (a bad maxAge or skew) refuse the proof.
  if (!(iatMs >= ctx.now - (maxAge + skew) * 1000))
    return fail('iat', `the proof is older than ${maxAge} s`);
  if (!(iatMs <= ctx.now + skew * 1000)) return fail('iat', 'the proof is issued in the future');
  if (ctx.accessToken !== undefined) {
    if (typeof ath !== 'string') return fail('ath', 'ath is required with an access token');
    if (ath !== accessTokenHash(ctx.accessToken))
      return fail('ath', 'ath does not match the access token');
  }
  const jkt = await jwkThumbprint(jwk);
  if (ctx.expectedJkt !== undefined && jkt !== ctx.expectedJkt) {
    return fail(
      'key-mismatch',
      'the proof is signed by another key than the one the token is bound to',
    );
  }
  // Accepted until iat + maxAge + skew (the window above), so the jti MUST be remembered that long.
  try {
    if (await ctx.isReplay(jti, iatMs + (maxAge + skew) * 1000))
      return fail('replay', 'this jti was used before');
  } catch (e) {
    return fail('replay', `the replay check failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { ok: true, jkt, jti, iat };
}

/**
 * A per-process jti cache. When it holds `maxEntries` unexpired entries it refuses new ones
 * (reports them as replays): failing closed is safer than forgetting a jti that is still valid.
 * `isReplay` is an arrow property so it can be passed as `ctx.isReplay` unbound.
 */
export class InMemoryReplayCache {
  readonly #seen = new Map<string, number>();
  readonly #maxEntries: number;

  constructor(maxEntries = 100_000) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#seen.size;
  }

  readonly isReplay = (jti: string, expiresAtMs: number, now: number = Date.now()): boolean => {
    const known = this.#seen.get(jti);
    if (known !== undefined && known > now) return true;
    if (known === undefined && this.#seen.size >= this.#maxEntries) {
      this.#evict(now);
      if (this.#seen.size >= this.#maxEntries) return true;
    }
    // Re-insert so Map order stays close to expiry order for the eviction sweep.
    this.#seen.delete(jti);
    this.#seen.set(jti, expiresAtMs);
    return false;
  };

  #evict(now: number): void {
    for (const [jti, expiresAt] of this.#seen) {
      if (expiresAt <= now) this.#seen.delete(jti);
    }
  }
}
