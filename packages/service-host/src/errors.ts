import {
  Catch,
  HttpException,
  HttpStatus,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { DomainError } from '@tokenledger/errors';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface ErrorBody {
  error: { code: string; message: string; requestId: string };
}

const statusCodes: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
  503: 'unavailable',
};

/**
 * Maps every error leaving a controller to `{ "error": { code, message, requestId } }` with the
 * right status. `domainStatus` maps domain error codes to HTTP statuses (default 422, or 503 for
 * retryable errors). Unknown errors become a 500 whose message reveals nothing.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(
    private readonly domainStatus: Record<string, number> = {},
    private readonly onUnexpected?: (error: unknown, requestId: string) => void,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const requestId = req.id;
    const [status, code, message] = this.describe(exception, requestId);
    // A retryable refusal that says when to come back (e.g. issuance's `overloaded`).
    const retryAfter =
      exception instanceof DomainError ? exception.context.retryAfterSeconds : undefined;
    if (typeof retryAfter === 'number') void reply.header('Retry-After', String(retryAfter));
    const body: ErrorBody = { error: { code, message, requestId } };
    void reply.code(status).send(body);
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
      return [status, statusCodes[status] ?? `http_${status}`, message];
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
      return [status, statusCodes[status] ?? `http_${status}`, String(fastifyError.message)];
    }
    this.onUnexpected?.(exception, requestId);
    return [HttpStatus.INTERNAL_SERVER_ERROR, 'internal', 'internal error'];
  }
}
