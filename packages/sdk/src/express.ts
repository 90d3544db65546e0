import { hasScope } from '@tokenledger/token-core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { TokenledgerClient } from './client';
import { PROBLEM_CONTENT_TYPE, type Problem } from './errors';
import type { UsageReporter } from './usage-reporter';

export interface RequireTokenOptions {
  client: TokenledgerClient;
  /** Scopes this route needs. */
  scopes: string[];
  /** Reports what only this service knows (a live token lacking the scope). */
  reporter?: UsageReporter;
  /** The URL clients call (DPoP `htu`); default from the request. */
  publicUrl?: (req: Request) => string;
}

/**
 * Express middleware: accepts `Authorization: Bearer <token>` or `DPoP <token>` (+ `DPoP` proof),
 * introspects it, answers 401 when inactive and 403 when a scope is missing (RFC 9457 problem
 * details, the same shape as Tokenledger's own errors). On success the
 * introspection answer is in `res.locals.tokenledger`.
 */
/** Answers with the SDK's one error shape, RFC 9457 problem details. */
function sendProblem(
  req: Request,
  res: Response,
  status: 401 | 403,
  code: string,
  detail: string,
  challenge: string,
): void {
  const problem: Problem = {
    type: 'about:blank',
    title: status === 401 ? 'Unauthorized' : 'Forbidden',
    status,
    detail,
    instance: req.path,
    code,
  };
  res
    .status(status)
    .set('WWW-Authenticate', challenge)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problem));
}

export function requireToken(options: RequireTokenOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    void (async () => {
      const match = /^(Bearer|DPoP) (\S+)$/i.exec(req.headers.authorization ?? '');
      if (!match?.[2]) {
        sendProblem(req, res, 401, 'unauthorized', 'missing token', 'Bearer');
        return;
      }
      const token = match[2];
      const htu =
        options.publicUrl?.(req) ??
        `${req.protocol}://${req.get('host') ?? 'localhost'}${req.originalUrl}`;
      const dpop = req.headers.dpop;
      const answer = await options.client.introspect(token, {
        htm: req.method,
        htu,
        ...(typeof dpop === 'string' ? { dpop } : {}),
        ...(req.ip ? { ip: req.ip.replace(/^::ffff:/, '') } : {}),
        operation: `${req.method} ${req.path}`,
        scopesRequested: options.scopes,
      });
      if (!answer.active) {
        sendProblem(
          req,
          res,
          401,
          'invalid_token',
          'invalid token',
          'Bearer error="invalid_token"',
        );
        return;
      }
      const granted = answer.scope.split(' ');
      const missing = options.scopes.filter((s) => !hasScope(granted, s));
      if (missing.length > 0) {
        options.reporter?.report({
          tokenId: answer.client_id,
          operation: `${req.method} ${req.path}`,
          ip: (req.ip ?? '0.0.0.0').replace(/^::ffff:/, ''),
          scopesRequested: options.scopes,
          outcome: 'rejected',
          rejection: 'insufficient-scope',
        });
        sendProblem(
          req,
          res,
          403,
          'insufficient_scope',
          `missing scope: ${missing.join(', ')}`,
          `Bearer error="insufficient_scope", scope="${options.scopes.join(' ')}"`,
        );
        return;
      }
      res.locals.tokenledger = answer;
      next();
    })().catch(next);
  };
}
