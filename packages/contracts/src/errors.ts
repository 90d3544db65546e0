import type { z } from 'zod';

export type EventErrorCode =
  'not-json' | 'invalid-envelope' | 'unknown-type' | 'invalid-data' | 'too-large';

/** One problem, at a field path such as `data.scopes[0]` ('' = the whole event). */
export interface EventIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * An event that does not match its contract. Never retryable: the same bytes fail the same way,
 * so consumers dead-letter it and the ledger records it as rejected.
 */
export class EventError extends Error {
  readonly retryable = false;

  constructor(
    readonly code: EventErrorCode,
    /** The first failing field, e.g. `data.scopes[0]`. */
    readonly path: string,
    readonly detail: string,
    readonly issues: readonly EventIssue[] = [{ path, message: detail }],
  ) {
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(`${path === '' ? 'event' : path}: ${detail}${more}`);
  }
}

/** Returned (not thrown) by decodeEvent / validateEvent. */
export class EventDecodeError extends EventError {
  override readonly name = 'EventDecodeError';
}

/** Thrown by buildEvent / encodeEvent when the producer's event breaks the contract. */
export class EventValidationError extends EventError {
  override readonly name = 'EventValidationError';

  static from(error: EventError): EventValidationError {
    return new EventValidationError(error.code, error.path, error.detail, error.issues);
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['data', 'scopes', 0]` -> `data.scopes[0]`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment))
      path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(String(segment))}]`;
  }
  return path;
}

/** Zod issues as field paths, prefixed with where the parsed value sits in the event. */
export function issuesFrom(error: z.ZodError, prefix: readonly PropertyKey[] = []): EventIssue[] {
  return error.issues.flatMap((issue): EventIssue[] => {
    const at = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: formatPath([...at, key]),
        message: 'unknown field',
      }));
    }
    return [
      { path: formatPath(at), message: issue.message.replace(/^Invalid (?:input|option): /, '') },
    ];
  });
}

export function errorFromIssues(
  code: EventErrorCode,
  issues: readonly EventIssue[],
): EventDecodeError {
  const [first = { path: '', message: 'invalid' }] = issues;
  return new EventDecodeError(code, first.path, first.message, issues);
}
