/**
 * How an error crosses HTTP, the one shape every app writes and every client (SDK, CLI) reads:
 * RFC 9457 problem details with two extension members, `code` (stable, machine-readable: a
 * DomainError's code, or the status's own such as `not_found`) and `requestId` (also in the
 * `x-request-id` header and the request's log line).
 */
export interface ProblemDetails {
  /** `about:blank` for a plain HTTP error; `urn:tokenledger:problem:<code>` for a domain error. */
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The request path (never its query string) of this occurrence. */
  instance?: string;
  code: string;
  requestId?: string;
}

/** RFC 6749 §5.2 error body, on the OAuth routes (RFC 7662 introspection, RFC 7009 revocation). */
export interface OAuthErrorBody {
  error: string;
  error_description: string;
}

/** RFC 9457 media type of every error answer (except on the OAuth routes). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The type URI prefix of a domain error's problem. */
export const PROBLEM_TYPE_PREFIX = 'urn:tokenledger:problem:';

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/**
 * The problem of an error answer, whatever it carried: problem details as they are, an RFC 6749
 * §5.2 body (`error` becomes `code`, `error_description` `detail`), or else only the status.
 * `requestId` falls back to the answer's `x-request-id` header.
 */
export function readProblem(
  status: number,
  body: unknown,
  requestId?: string | null,
): ProblemDetails {
  const o = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const id = str(o.requestId) ?? str(requestId);
  const instance = str(o.instance);
  return {
    type: str(o.type) ?? 'about:blank',
    title: str(o.title) ?? `HTTP ${status}`,
    status,
    detail: str(o.detail) ?? str(o.error_description) ?? '',
    ...(instance ? { instance } : {}),
    code: str(o.code) ?? str(o.error) ?? `http_${status}`,
    ...(id ? { requestId: id } : {}),
  };
}
