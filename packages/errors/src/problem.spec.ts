import { readProblem } from './problem';

describe('readProblem: the one error shape clients read', () => {
  it('keeps problem details as they are', () => {
    const problem = {
      type: 'urn:tokenledger:problem:token_not_found',
      title: 'Token not found',
      status: 404,
      detail: 'no token',
      instance: '/v1/tokens/x',
      code: 'token_not_found',
      requestId: 'r1',
    };
    expect(readProblem(404, problem, 'other')).toEqual(problem);
  });

  it('reads an RFC 6749 §5.2 body: error is the code, error_description the detail', () => {
    expect(
      readProblem(401, { error: 'invalid_token', error_description: 'not valid' }, 'r2'),
    ).toEqual({
      type: 'about:blank',
      title: 'HTTP 401',
      status: 401,
      detail: 'not valid',
      code: 'invalid_token',
      requestId: 'r2',
    });
  });

  it('makes one from the status when the body is not JSON', () => {
    expect(readProblem(502, undefined)).toEqual({
      type: 'about:blank',
      title: 'HTTP 502',
      status: 502,
      detail: '',
      code: 'http_502',
    });
  });
});
