import {
  ForbiddenException,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  createParamDecorator,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { hasScope } from '@tokenledger/token-core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TokenAuthenticator, type Principal } from './authenticator';

const SCOPES_KEY = 'tokenledger:scopes';
const PUBLIC_KEY = 'tokenledger:public';

/** The route needs an operator token holding every one of these scopes (`admin` holds all). */
export const RequireScopes = (...scopes: string[]): MethodDecorator & ClassDecorator =>
  SetMetadata(SCOPES_KEY, scopes);

/** The route is open (health, metrics, internal routes with their own guard). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_KEY, true);

type AuthedRequest = FastifyRequest & { principal?: Principal };

/** The authenticated caller of this request (set by OperatorAuthGuard). */
export const CurrentPrincipal = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<AuthedRequest>().principal;
    if (!principal) throw new UnauthorizedException('not authenticated');
    return principal;
  },
);

/**
 * Global guard: every route needs `Authorization: Bearer <operator token>` unless marked
 * @Public(). 401 without a token or with a malformed, unknown, expired or revoked one; 403 when a
 * scope named by @RequireScopes is missing. A route with neither decorator is refused (default deny).
 */
@Injectable()
export class OperatorAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: TokenAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const required = this.reflector.getAllAndOverride<string[] | undefined>(SCOPES_KEY, targets);
    const http = context.switchToHttp();
    const req = http.getRequest<AuthedRequest>();
    const reply = http.getResponse<FastifyReply>();

    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header.trim()) : null;
    if (!match?.[1]) {
      void reply.header('WWW-Authenticate', 'Bearer realm="tokenledger"');
      throw new UnauthorizedException(
        'an operator token is required: Authorization: Bearer <token>',
      );
    }
    const result = await this.authenticator.authenticate(match[1]);
    if (!result.ok) {
      void reply.header('WWW-Authenticate', 'Bearer realm="tokenledger", error="invalid_token"');
      throw new UnauthorizedException(
        'the operator token is not valid (malformed, unknown, expired or revoked)',
      );
    }
    if (!required) throw new ForbiddenException('this route is not open to operator tokens');
    const missing = required.filter((scope) => !hasScope(result.principal.scopes, scope));
    if (missing.length > 0) {
      void reply.header(
        'WWW-Authenticate',
        `Bearer realm="tokenledger", error="insufficient_scope", scope="${required.join(' ')}"`,
      );
      throw new ForbiddenException(`missing scope: ${missing.join(', ')}`);
    }
    req.principal = result.principal;
    return true;
  }
}
