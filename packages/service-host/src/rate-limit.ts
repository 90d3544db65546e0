import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ErrorResponder } from './problem';

/**
 * Token buckets by key (a client address, a credential), in memory, at most `maxKeys` of them:
 * each key may spend `capacity` requests at once and gets them back at `capacity` per `windowMs`.
 * Past `maxKeys` the least recently used bucket is forgotten (that key starts again full), so
 * memory stays bounded whatever the number of clients.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(
    private readonly capacity: number,
    windowMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.perMs = capacity / windowMs;
  }

  /** Spends one request of `key`: 0 when allowed, else the milliseconds until one is available. */
  take(key: string): number {
    const now = this.now();
    const bucket = this.buckets.get(key);
    let tokens = this.capacity;
    if (bucket) {
      tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * this.perMs);
      // Map order is insertion order: re-inserting makes this key the most recently used.
      this.buckets.delete(key);
    } else if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
    const allowed = tokens >= 1;
    this.buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed ? 0 : Math.ceil((1 - tokens) / this.perMs);
  }

  get size(): number {
    return this.buckets.size;
  }
}

export interface RateLimitOptions {
  /** Requests per window from one client address; 0: no per-address limit. */
  perIp: number;
  /** Requests per window with one credential (Authorization header); 0: no per-credential limit. */
  perPrincipal: number;
  windowMs: number;
  /** Buckets kept per limit. */
  maxKeys: number;
  /** Requests that carry this value in `internalHeader` are the apps' own calls: not limited. */
  internalSecret: string;
  internalHeader: string;
  onLimited?: (limit: 'ip' | 'principal') => void;
  /** Writes the 429 in the app's error shape (problem details, or OAuth on the OAuth routes). */
  errors: ErrorResponder;
}

/** The credential's bucket key: a digest, so that no token plaintext is kept in the map. */
function principalKey(authorization: string): string {
  return createHash('sha256').update(authorization).digest('base64url');
}

/**
 * Installs the per-address and per-credential limits as an `onRequest` hook of the server, which
 * runs before the body is read and before any guard, so a request over the limit costs no database
 * query and no internal HTTP call (an unknown but well-formed token would cost two). The
 * per-address limit is checked first: random credentials from one address cannot fill the
 * per-credential map faster than that address may send. Over a limit: 429, `Retry-After` (whole
 * seconds) and the usual error answer. Not limited: `/health/*` (probes must see a busy app as
 * alive) and requests with the right internal secret (each was caused by a public request that
 * was limited at its own edge).
 */
export function installRateLimit(fastify: FastifyInstance, options: RateLimitOptions): void {
  const byIp =
    options.perIp > 0 ? new TokenBuckets(options.perIp, options.windowMs, options.maxKeys) : null;
  const byPrincipal =
    options.perPrincipal > 0
      ? new TokenBuckets(options.perPrincipal, options.windowMs, options.maxKeys)
      : null;
  if (!byIp && !byPrincipal) return;
  const secret = Buffer.from(options.internalSecret);
  const isInternal = (request: FastifyRequest): boolean => {
    const given = request.headers[options.internalHeader];
    if (typeof given !== 'string') return false;
    const bytes = Buffer.from(given);
    return bytes.length === secret.length && timingSafeEqual(bytes, secret);
  };
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.url.startsWith('/health/') || isInternal(request)) return done();
    let waitMs = byIp?.take(request.ip) ?? 0;
    let limit: 'ip' | 'principal' = 'ip';
    const authorization = request.headers.authorization;
    if (waitMs === 0 && byPrincipal && authorization) {
      waitMs = byPrincipal.take(principalKey(authorization));
      limit = 'principal';
    }
    if (waitMs === 0) return done();
    options.onLimited?.(limit);
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    void reply.header('retry-after', String(seconds));
    options.errors.send(
      request,
      reply,
      429,
      'too_many_requests',
      `rate limit exceeded (${limit === 'ip' ? 'per client address' : 'per credential'}); retry after ${seconds} s`,
    );
  });
}
