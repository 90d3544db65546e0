import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

type WithId = IncomingMessage & { id?: string };

/** A caller's `x-request-id` when it is a plain token, else a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const existing = (req as WithId).id;
  if (existing) return existing;
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
}

/**
 * First middleware of every app: fixes the request id before anything can fail (body parsing
 * included), so that error bodies and log lines carry the same id; echoes it in the response.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const id = requestIdOf(req);
  (req as WithId).id = id;
  res.setHeader('x-request-id', id);
  next();
}
