import { readProblem, type ProblemDetails } from '@tokenledger/errors';

/**
 * The SDK's one error shape: RFC 9457 problem details with `code` and `requestId`, as every
 * Tokenledger API answers them (the OAuth routes' RFC 6749 bodies are read into it too) and as
 * the SDK's Express middleware writes them.
 */
export type Problem = ProblemDetails;

export { PROBLEM_CONTENT_TYPE } from '@tokenledger/errors';

/** A failed call to Tokenledger: the problem it answered (or one made from the HTTP status). */
export class TokenledgerError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | undefined;

  constructor(readonly problem: Problem) {
    super(
      `${problem.title} (${problem.status} ${problem.code})${problem.detail ? `: ${problem.detail}` : ''}`,
    );
    this.name = 'TokenledgerError';
    this.status = problem.status;
    this.code = problem.code;
    this.requestId = problem.requestId;
  }
}

/** The {@link TokenledgerError} of a response that is not ok (its body is consumed). */
export async function errorFromResponse(res: Response): Promise<TokenledgerError> {
  const body: unknown = await res.json().catch(() => undefined);
  return new TokenledgerError(readProblem(res.status, body, res.headers.get('x-request-id')));
}
