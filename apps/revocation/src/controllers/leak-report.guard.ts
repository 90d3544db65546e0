import {
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { TokenAuthenticator } from '@tokenledger/auth';
import { SERVICE_CONFIG, rawBodyOf } from '@tokenledger/service-host';
import { hasScope } from '@tokenledger/token-core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RevocationConfig } from '../config';
import { GithubSignatureVerifier } from '../domain/github-signature';

export const GITHUB_KEY_ID_HEADER = 'github-public-key-identifier';
export const GITHUB_SIGNATURE_HEADER = 'github-public-key-signature';
/** The actor of events caused by a GitHub-signed delivery. */
export const GITHUB_ACTOR = 'service:github-secret-scanning';

/** Who sent a leak report: an operator, or GitHub (signed delivery). */
export type LeakReporter = { kind: 'operator'; actor: string } | { kind: 'github'; actor: string };
type LeakRequest = FastifyRequest & { leakReporter?: LeakReporter };

/**
 * `POST /v1/leaks` has two doors. With a `Github-Public-Key-*` header it is a GitHub
 * secret-scanning partner delivery: the signature over the raw body MUST verify against a key of
 * GITHUB_SECRET_SCANNING_KEYS, else 401 before anything is read. Without one it is the operator
 * path: a bearer token with `leaks:report`, exactly as the global guard would check it.
 */
@Injectable()
export class LeakReportGuard implements CanActivate {
  private readonly github: GithubSignatureVerifier;

  constructor(
    private readonly authenticator: TokenAuthenticator,
    @Inject(SERVICE_CONFIG) config: RevocationConfig,
  ) {
    this.github = new GithubSignatureVerifier(config.GITHUB_SECRET_SCANNING_KEYS);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<LeakRequest>();
    const reply = http.getResponse<FastifyReply>();
    const keyId = header(req, GITHUB_KEY_ID_HEADER);
    const signature = header(req, GITHUB_SIGNATURE_HEADER);
    if (keyId !== undefined || signature !== undefined) {
      const check = this.github.check(rawBodyOf(req) ?? Buffer.alloc(0), keyId, signature);
      if (!check.ok)
        throw new UnauthorizedException(
          {
            'no-keys':
              'GitHub-signed leak reports are not configured (GITHUB_SECRET_SCANNING_KEYS)',
            'missing-headers':
              'a GitHub delivery needs both Github-Public-Key-Identifier and Github-Public-Key-Signature',
            'unknown-key': 'Github-Public-Key-Identifier names no configured GitHub key',
            'bad-signature': 'Github-Public-Key-Signature does not verify over the request body',
          }[check.reason],
        );
      req.leakReporter = { kind: 'github', actor: GITHUB_ACTOR };
      return true;
    }
    const bearer = /^Bearer ([^\s]+)$/i.exec(header(req, 'authorization')?.trim() ?? '')?.[1];
    if (!bearer) {
      void reply.header('WWW-Authenticate', 'Bearer realm="tokenledger"');
      throw new UnauthorizedException(
        'an operator token (Authorization: Bearer <token>) or a GitHub signature is required',
      );
    }
    const result = await this.authenticator.authenticate(bearer);
    if (!result.ok) {
      void reply.header('WWW-Authenticate', 'Bearer realm="tokenledger", error="invalid_token"');
      throw new UnauthorizedException(
        'the operator token is not valid (malformed, unknown, expired or revoked)',
      );
    }
    if (!hasScope(result.principal.scopes, 'leaks:report')) {
      void reply.header(
        'WWW-Authenticate',
        'Bearer realm="tokenledger", error="insufficient_scope", scope="leaks:report"',
      );
      throw new ForbiddenException('missing scope: leaks:report');
    }
    req.leakReporter = { kind: 'operator', actor: result.principal.actor };
    return true;
  }
}

function header(req: FastifyRequest, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The reporter LeakReportGuard established for this request. */
export function leakReporterOf(req: FastifyRequest): LeakReporter {
  const reporter = (req as LeakRequest).leakReporter;
  if (!reporter) throw new UnauthorizedException('not authenticated');
  return reporter;
}
