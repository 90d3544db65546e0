import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';

/**
 * Validates input at the edge, once: returns the typed value or throws a 400 whose message
 * names every failing field (`scopes[0]: ...; ttlSeconds: ...`). Unknown fields are refused by
 * strict schemas.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what = 'request body',
): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown field(s) ${issue.keys.join(', ')}`
        : issue.message;
    return `${path || what}: ${message}`;
  });
  throw new BadRequestException(`invalid ${what}: ${problems.join('; ')}`);
}
