import { parse as parseForm } from 'node:querystring';
import type { FastifyInstance } from 'fastify';
import { RAW_BODY } from './raw-body';

/**
 * The only bodies an app reads, each capped at `bodyLimit` bytes (413 past it).
 */
export function installBodyParsers(fastify: FastifyInstance, bodyLimit: number): void {
  // An empty body is no body (a POST with `content-type: application/json` and nothing else, as
  // many clients send); anything else must be JSON, without `__proto__` or `constructor.prototype`.
  // Any other media type is refused with 415.
  const json = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit },
    (req, body, done) => {
      // Kept for routes that check a signature over the exact bytes (rawBodyOf).
      (req as { [RAW_BODY]?: string })[RAW_BODY] = body as string;
      if (body.length === 0) done(null, undefined);
      else void json(req, body as string, done);
    },
  );
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit },
    (_req, body, done) => done(null, parseForm(body as string)),
  );
}
