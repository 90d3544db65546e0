import { RouteConfig } from '@nestjs/platform-fastify';

/** The route config key that {@link installRouteBodyLimits} reads. */
const BODY_LIMIT_KEY = 'tokenledgerBodyLimit';

/**
 * The largest request body, in bytes, that this route accepts, in place of HTTP_BODY_LIMIT (the
 * global limit). For a route whose documented maximum does not fit the global limit, such as a
 * batch intake; a larger body still gets 413 before authentication.
 */
export const BodyLimit = (bytes: number): MethodDecorator => {
  if (!Number.isInteger(bytes) || bytes <= 0) throw new Error(`BodyLimit(${bytes}): not a size`);
  return RouteConfig({ [BODY_LIMIT_KEY]: bytes });
};

interface RouteOptionsLike {
  config?: unknown;
  bodyLimit?: number;
}

/**
 * Applies {@link BodyLimit} as Fastify's per-route `bodyLimit`, which takes precedence over the
 * limit of the content-type parsers. MUST be installed before the routes are registered (Nest
 * registers them in `app.init()`).
 */
export function installRouteBodyLimits(fastify: {
  addHook(name: 'onRoute', hook: (route: RouteOptionsLike) => void): unknown;
}): void {
  fastify.addHook('onRoute', (route) => {
    const config = route.config as Record<string, unknown> | undefined;
    const limit = config?.[BODY_LIMIT_KEY];
    if (typeof limit === 'number') route.bodyLimit = limit;
  });
}
