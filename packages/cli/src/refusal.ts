import { readProblem } from '@tokenledger/errors';
import { RefusedError } from './exit';

/**
 * The RefusedError (exit 4) of an error answer, read as RFC 9457 problem details: its message
 * names the code, the detail and the request id (to find the server's log line).
 */
export async function refusedBy(what: string, res: Response): Promise<RefusedError> {
  const body: unknown = await res.json().catch(() => undefined);
  const problem = readProblem(res.status, body, res.headers.get('x-request-id'));
  const detail = [
    problem.code,
    problem.detail && `: ${problem.detail}`,
    problem.requestId && ` (request ${problem.requestId})`,
  ].join('');
  return new RefusedError(what, res.status, detail, problem);
}
