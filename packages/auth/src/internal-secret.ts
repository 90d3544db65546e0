import { timingSafeEqual, createHash } from 'node:crypto';
import {
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

export const INTERNAL_SECRET_HEADER = 'x-tokenledger-internal';

/** Options token for the shared service-to-service secret. */
export const INTERNAL_SECRET = Symbol('INTERNAL_SECRET');

export function secretsEqual(given: string, expected: string): boolean {
  // Hash both sides so that the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Guards `/internal/...` routes: callers are other Tokenledger apps presenting the shared
 * `TOKENLEDGER_INTERNAL_SECRET`. These routes are not part of the public API.
 */
@Injectable()
export class InternalSecretGuard implements CanActivate {
  constructor(@Inject(INTERNAL_SECRET) private readonly secret: string) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const given = req.headers[INTERNAL_SECRET_HEADER];
    if (typeof given !== 'string' || !secretsEqual(given, this.secret)) {
      throw new UnauthorizedException('internal endpoint: missing or wrong service credential');
    }
    return true;
  }
}
