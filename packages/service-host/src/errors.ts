import {
  Catch,
  HttpException,
  HttpStatus,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { DomainError } from '@tokenledger/errors';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorResponder, httpErrorCode } from './problem';

export interface HttpErrorFilterOptions {
  /** Domain error code -> HTTP status (default 422, or 503 for a retryable error). */
  domainStatus?: Record<string, number>;
  /** Paths whose errors are RFC 6749 §5.2 bodies instead of problem details. */
  oauthPaths?: readonly string[];
  onUnexpected?: (error: unknown, requestId: string) => void;
}

/**
 * Maps every error leaving a controller, once, to an RFC 9457 `application/problem+json` answer
 * with the right status (`code` and `requestId` as extension members), or on the OAuth routes to
 * an RFC 6749 §5.2 body. Unknown errors become a 500 whose detail reveals nothing.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly domainStatus: Record<string, number>;
  private readonly responder: ErrorResponder;
  private readonly onUnexpected: ((error: unknown, requestId: string) => void) | undefined;

  constructor(options: HttpErrorFilterOptions = {}) {
    this.domainStatus = options.domainStatus ?? {};
    this.responder = new ErrorResponder(options.oauthPaths);
    this.onUnexpected = options.onUnexpected;
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const [status, code, message] = this.describe(exception, String(req.id));
    // A retryable refusal that says when to come back (e.g. issuance's `overloaded`).
    const retryAfter =
      exception instanceof DomainError ? exception.context.retryAfterSeconds : undefined;
    if (typeof retryAfter === 'number') void reply.header('Retry-After', String(retryAfter));
    this.responder.send(req, reply, status, code, message);
  }

  private describe(exception: unknown, requestId: string): [number, string, string] {
    if (exception instanceof DomainError) {
      const status = this.domainStatus[exception.code] ?? (exception.retryable ? 503 : 422);
      return [status, exception.code, exception.message];
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const detail =
        typeof response === 'string' ? response : (response as { message?: unknown }).message;
      const message = Array.isArray(detail)
        ? detail.map(String).join('; ')
        : typeof detail === 'string'
          ? detail
          : exception.message;
      return [status, httpErrorCode(status), message];
    }
    // Fastify's own errors (malformed JSON, body too large, unsupported media type) are plain
    // errors with a `statusCode` and a message that names the problem without quoting the body.
    const fastifyError = exception as { statusCode?: unknown; message?: string };
    if (
      typeof fastifyError.statusCode === 'number' &&
      fastifyError.statusCode >= 400 &&
      fastifyError.statusCode < 500
    ) {
      const status = fastifyError.statusCode;
      return [status, httpErrorCode(status), String(fastifyError.message)];
    }
    this.onUnexpected?.(exception, requestId);
    return [HttpStatus.INTERNAL_SERVER_ERROR, 'internal', 'internal error'];
  }
}
