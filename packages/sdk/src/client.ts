import type { IntrospectionAnswer } from '@tokenledger/contracts';
import { errorFromResponse } from './errors';

/** RFC 7662 answer as the revocation app gives it. */
export type Introspection = IntrospectionAnswer;

export interface IntrospectOptions {
  /** The client's DPoP proof (its `DPoP` request header), for DPoP-bound tokens. */
  dpop?: string;
  /** The method and full URL of the request being authorized (DPoP `htm`/`htu`). */
  htm?: string;
  htu?: string;
  /** For the usage event that introspection records. */
  ip?: string;
  operation?: string;
  scopesRequested?: string[];
}

export interface ClientOptions {
  /** Base URL of the revocation app, e.g. http://127.0.0.1:4002 */
  revocationUrl: string;
  /** An operator token of this service with scope `tokens:introspect`. */
  operatorToken: string;
  /** Name of this service in usage events ([A-Za-z0-9._-], at most 63). */
  service: string;
  timeoutMs?: number;
}

/** Asks Tokenledger whether a presented token is active (RFC 7662), with DPoP when bound. */
export class TokenledgerClient {
  constructor(private readonly options: ClientOptions) {}

  async introspect(token: string, options: IntrospectOptions = {}): Promise<Introspection> {
    const form = new URLSearchParams({ token, service: this.options.service });
    if (options.htm) form.set('htm', options.htm);
    if (options.htu) form.set('htu', options.htu);
    if (options.ip) form.set('ip', options.ip);
    if (options.operation) form.set('operation', options.operation);
    if (options.scopesRequested?.length) form.set('scope', options.scopesRequested.join(' '));
    const res = await fetch(`${this.options.revocationUrl}/v1/introspect`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.options.operatorToken}`,
        'content-type': 'application/x-www-form-urlencoded',
        ...(options.dpop ? { dpop: options.dpop } : {}),
      },
      body: form.toString(),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 2000),
    });
    // The OAuth error body of /v1/introspect (RFC 6749 §5.2) read into the SDK's one shape.
    if (!res.ok) throw await errorFromResponse(res);
    return (await res.json()) as Introspection;
  }
}
