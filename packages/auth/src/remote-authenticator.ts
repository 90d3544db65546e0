import { createHash } from 'node:crypto';
import { context, propagation } from '@opentelemetry/api';
import { isWellFormed } from '@tokenledger/token-core';
import { LRUCache } from 'lru-cache';
import { INTERNAL_SECRET_HEADER } from './internal-secret';
import { TokenAuthenticator, type AuthenticationResult, type Presentation } from './authenticator';

export interface RemoteAuthenticatorOptions {
  /** Base URL of the revocation app, e.g. http://127.0.0.1:4002 */
  revocationUrl: string;
  internalSecret: string;
  /** How long an answer is reused. MUST stay well under 1 s: revocations must bite within 1 s. */
  cacheMs?: number;
  timeoutMs?: number;
  /** How many answers are kept (default 10 000); beyond that the least recently used go. */
  cacheEntries?: number;
  now?: () => number;
}

interface Cached {
  at: number;
  result: AuthenticationResult;
}

/**
 * Authenticates operator tokens by asking the revocation app (the status authority) over its
 * internal API, and remembers each answer for `cacheMs` (default 250 ms). The cache is keyed by
 * a SHA-256 of the token held in memory only. Full, it forgets the least recently used answers,
 * not all of them (which sent every operator's next request to the revocation app at once).
 * Requests that miss at the same moment share one question (an answer is never older than the
 * earliest of them), so a burst of one operator's calls costs one round trip per `cacheMs`.
 * Only Bearer presentations are cached: a DPoP presentation carries a proof that is good for one
 * request only (its jti is recorded by the revocation app), so it is always asked.
 */
export class RemoteAuthenticator extends TokenAuthenticator {
  private readonly cache: LRUCache<string, Cached>;
  /** Questions on their way to the revocation app, by cache key: concurrent misses share one. */
  private readonly inFlight = new Map<string, Promise<AuthenticationResult>>();
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(private readonly options: RemoteAuthenticatorOptions) {
    super();
    this.cacheMs = options.cacheMs ?? 250;
    this.now = options.now ?? Date.now;
    this.cache = new LRUCache({ max: options.cacheEntries ?? 10_000 });
  }

  async authenticate(token: string, presentation?: Presentation): Promise<AuthenticationResult> {
    if (!isWellFormed(token)) return { ok: false, reason: 'malformed' };
    if (presentation?.scheme === 'DPoP') return this.ask(token, presentation);
    const key = createHash('sha256').update(token).digest('base64');
    const hit = this.cache.get(key);
    const now = this.now();
    if (hit && now - hit.at < this.cacheMs) return hit.result;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const asking = this.ask(token).then((result) => {
      this.cache.set(key, { at: now, result });
      return result;
    });
    this.inFlight.set(key, asking);
    try {
      return await asking;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async ask(token: string, presentation?: Presentation): Promise<AuthenticationResult> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [INTERNAL_SECRET_HEADER]: this.options.internalSecret,
    };
    // The caller's trace continues in the revocation app (W3C traceparent; no-op untraced).
    propagation.inject(context.active(), headers);
    const res = await fetch(`${this.options.revocationUrl}/internal/v1/authenticate`, {
      method: 'POST',
      headers,
      body: JSON.stringify(presentation ? { token, ...presentation } : { token }),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 2000),
    });
    if (!res.ok)
      throw new Error(`revocation app answered ${res.status} to an authentication request`);
    return (await res.json()) as AuthenticationResult;
  }
}
