import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

type WithId = IncomingMessage & { id?: string };

/** A caller's `x-request-id` when it is a plain token, else a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const existing = (req as WithId).id;
  if (existing) return existing;
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
}
