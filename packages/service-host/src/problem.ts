import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPE_PREFIX,
  type OAuthErrorBody,
  type ProblemDetails,
} from '@tokenledger/errors';
import { z } from 'zod';

/** The zod schema of {@link ProblemDetails}, for the OpenAPI document of every route. */
export const problemSchema = z
  .object({
    type: z.string().min(1),
    title: z.string().min(1),
    status: z.int().min(400).max(599),
    detail: z.string(),
    instance: z.string().min(1),
    code: z.string().min(1),
    requestId: z.string().min(1),
  })
  .describe('RFC 9457 problem details');

/** The zod schema of {@link OAuthErrorBody}. */
export const oauthErrorSchema = z
  .object({
    error: z.enum([
      'invalid_request',
      'invalid_token',
      'insufficient_scope',
      'temporarily_unavailable',
      'server_error',
    ]),
    error_description: z.string(),
  })
  .describe('RFC 6749 §5.2 error response');

/** The code of a plain HTTP error, by status. */
export const HTTP_ERROR_CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
  500: 'internal',
  503: 'unavailable',
};

export function httpErrorCode(status: number): string {
  return HTTP_ERROR_CODES[status] ?? `http_${status}`;
}

/** `token_not_found` -> `Token not found`. */
function titleOf(code: string): string {
  const words = code.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * The problem for `status` and `code`. A plain HTTP error (its code is the status's own, e.g.
 * `not_found` for 404) has type `about:blank` and the status phrase as title (RFC 9457 §4.2.1);
 * a domain error has its own type URI and a title made from its code.
 */
export function problemOf(
  status: number,
  code: string,
  detail: string,
  at: { path: string; requestId: string },
): Required<ProblemDetails> {
  const plain = code === HTTP_ERROR_CODES[status] || code === `http_${status}`;
  return {
    type: plain ? 'about:blank' : `${PROBLEM_TYPE_PREFIX}${code}`,
    title: plain ? (STATUS_CODES[status] ?? titleOf(code)) : titleOf(code),
    status,
    detail,
    instance: at.path,
    code,
    requestId: at.requestId,
  };
}

/**
 * RFC 6749 §5.2 `error` for a status. The callers of introspection and revocation authenticate
 * with a bearer token, so 401 and 403 use RFC 6750 §3.1's `invalid_token` and
 * `insufficient_scope` (RFC 7662 §2.3 says so).
 */
export function oauthErrorOf(status: number, detail: string): OAuthErrorBody {
  const error =
    status === 401
      ? 'invalid_token'
      : status === 403
        ? 'insufficient_scope'
        : status === 429 || status === 503
          ? 'temporarily_unavailable'
          : status >= 500
            ? 'server_error'
            : 'invalid_request';
  return { error, error_description: detail };
}

/** The path of a request, without its query string (which may hold anything). */
function pathOf(request: FastifyRequest): string {
  const url = request.raw.url ?? request.url;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Writes every error answer of an app, from the exception filter and from the hooks that answer
 * before Nest (rate limit): problem+json, or an OAuth error body on `oauthPaths`.
 */
export class ErrorResponder {
  private readonly oauthPaths: ReadonlySet<string>;

  constructor(oauthPaths: readonly string[] = []) {
    this.oauthPaths = new Set(oauthPaths);
  }

  isOAuth(request: FastifyRequest): boolean {
    return this.oauthPaths.size > 0 && this.oauthPaths.has(pathOf(request).replace(/\/$/, ''));
  }

  send(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    code: string,
    detail: string,
  ): void {
    void reply.code(status);
    if (this.isOAuth(request)) {
      // RFC 6749 §5.1/§5.2: JSON, never cached.
      void reply
        .header('content-type', 'application/json; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(JSON.stringify(oauthErrorOf(status, detail)));
      return;
    }
    const problem = problemOf(status, code, detail, {
      path: pathOf(request),
      requestId: String(request.id),
    });
    // Serialized here: Fastify would otherwise pick a serializer for application/json only.
    void reply
      .header('content-type', `${PROBLEM_CONTENT_TYPE}; charset=utf-8`)
      .send(JSON.stringify(problem));
  }
}
