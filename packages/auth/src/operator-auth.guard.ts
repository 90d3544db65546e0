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
import { hasScope, hasScopeForSomeOwner } from '@tokenledger/token-core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TokenAuthenticator, type Presentation, type Principal } from './authenticator';

const SCOPES_KEY = 'tokenledger:scopes';
const PUBLIC_KEY = 'tokenledger:public';
const OWNER_SCOPED_KEY = 'tokenledger:owner-scoped';

/** The route needs an operator token holding every one of these scopes (`admin` holds all). */
export const RequireScopes = (...scopes: string[]): MethodDecorator & ClassDecorator =>
  SetMetadata(SCOPES_KEY, scopes);

/**
 * The route narrows what it does to the owners the caller reaches (token-core `ownerReach`), so
 * an owner-scoped scope such as `tokens:read@team-a` is let in for `tokens:read`. The route MUST
 * then answer 404 for anything of an owner out of reach, and list only owners within it.
 */
export const OwnerScoped = (): MethodDecorator & ClassDecorator =>
  SetMetadata(OWNER_SCOPED_KEY, true);

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

/** The URL the client called, as a DPoP proof's `htu` names it (query and fragment ignored). */
function requestUrl(req: FastifyRequest): string {
  const host = req.headers.host ?? req.host;
  return `${req.protocol}://${host}${req.url.split('?')[0] ?? '/'}`;
}

const DPOP_CHALLENGE = 'DPoP realm="tokenledger", algs="ES256 ES384 EdDSA RS256 PS256"';

/**
 * Global guard: every route needs `Authorization: Bearer <operator token>` unless marked
 * @Public(); a DPoP-bound operator token needs `Authorization: DPoP <token>` and a `DPoP` proof
 * header for this request instead (RFC 9449 §7), checked by the authenticator. 401 without a
 * token, with a malformed, unknown, expired or revoked one, or with a missing or refused proof;
 * 403 when a scope named by @RequireScopes is missing. A route with neither decorator is refused
 * (default deny).
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
    const match =
      typeof header === 'string' ? /^(Bearer|DPoP) ([^\s]+)$/i.exec(header.trim()) : null;
    if (!match?.[1] || !match[2]) {
      void reply.header('WWW-Authenticate', 'Bearer realm="tokenledger"');
      throw new UnauthorizedException(
        'an operator token is required: Authorization: Bearer <token> (or DPoP <token> with a DPoP proof)',
      );
    }
    const presentation: Presentation = {
      scheme: match[1].toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer',
      htm: req.method,
      htu: requestUrl(req),
    };
    // Exactly one proof (RFC 9449 §4.3 check 1); several DPoP headers arrive joined or as an array.
    const proof = req.headers.dpop;
    if (typeof proof === 'string' && !proof.includes(',')) presentation.proof = proof;
    const result = await this.authenticator.authenticate(match[2], presentation);
    if (!result.ok && result.reason === 'dpop') {
      void reply.header('WWW-Authenticate', `${DPOP_CHALLENGE}, error="invalid_dpop_proof"`);
      throw new UnauthorizedException(
        'this operator token is DPoP-bound: present it as Authorization: DPoP <token> with a valid DPoP proof of its key for this request (or it is not bound and must be presented as Bearer)',
      );
    }
    if (!result.ok) {
      void reply.header('WWW-Authenticate', 'Bearer realm="tokenledger", error="invalid_token"');
      throw new UnauthorizedException(
        'the operator token is not valid (malformed, unknown, expired or revoked)',
      );
    }
    if (!required) throw new ForbiddenException('this route is not open to operator tokens');
    const held = this.reflector.getAllAndOverride<boolean>(OWNER_SCOPED_KEY, targets)
      ? hasScopeForSomeOwner
      : hasScope;
    const missing = required.filter((scope) => !held(result.principal.scopes, scope));
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
