import { isRetryableError } from './batch-consumer';

describe('isRetryableError: retry the batch (transient) or dead-letter the record after bounded tries', () => {
  it.each([
    [
      'a domain error that says so',
      Object.assign(new Error('overloaded'), { retryable: true }),
      true,
    ],
    ['a domain error that says not', Object.assign(new Error('bad'), { retryable: false }), false],
    [
      'PostgreSQL down',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      true,
    ],
    [
      'a serialization failure',
      Object.assign(new Error('could not serialize'), { code: '40001' }),
      true,
    ],
    [
      'PostgreSQL class 08',
      Object.assign(new Error('connection failure'), { code: '08006' }),
      true,
    ],
    [
      'the pool closed at shutdown',
      new Error('Cannot use a pool after calling end on the pool'),
      true,
    ],
    [
      'a kafkajs error',
      Object.assign(new Error('x'), { name: 'KafkaJSNumberOfRetriesExceeded' }),
      true,
    ],
    [
      'a year PostgreSQL refuses (22008)',
      Object.assign(new Error('date/time field value out of range'), { code: '22008' }),
      false,
    ],
    [
      'jsonb refusing \\u0000 (22P05)',
      Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' }),
      false,
    ],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'x')"), false],
    ['not an object', 'boom', false],
  ])('%s', (_what, error, retryable) => {
    expect(isRetryableError(error)).toBe(retryable);
  });
});
