import { hasScope } from '@tokenledger/token-core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { TokenledgerClient } from './client';
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
 * introspects it, answers 401 when inactive and 403 when a scope is missing. On success the
 * introspection answer is in `res.locals.tokenledger`.
 */
export function requireToken(options: RequireTokenOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    void (async () => {
      const match = /^(Bearer|DPoP) (\S+)$/i.exec(req.headers.authorization ?? '');
      if (!match?.[2]) {
        res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing token' });
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
        res
          .status(401)
          .set('WWW-Authenticate', 'Bearer error="invalid_token"')
          .json({ error: 'invalid token' });
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
        res
          .status(403)
          .set(
            'WWW-Authenticate',
            `Bearer error="insufficient_scope", scope="${options.scopes.join(' ')}"`,
          )
          .json({ error: `missing scope: ${missing.join(', ')}` });
        return;
      }
      res.locals.tokenledger = answer;
      next();
    })().catch(next);
  };
}
