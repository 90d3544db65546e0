import { issueTokenSchema } from './schemas';

describe('issueTokenSchema labels', () => {
  const body = (labels: Record<string, string>) => ({
    owner: { type: 'team', id: 'billing' },
    name: 'ci',
    scopes: ['tokens:read'],
    labels,
  });
  const paths = (labels: Record<string, string>) => {
    const result = issueTokenSchema.safeParse(body(labels));
    return result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
  };

  it('accepts what the token.issued event can record', () => {
    expect(paths({ env: 'prod', 'team/cost-center': 'x'.repeat(256) })).toEqual([]);
  });

  it('refuses a value with U+0000 (PostgreSQL cannot store it), naming the label', () => {
    expect(paths({ env: 'pr\u0000od' })).toEqual(['labels.env']);
  });

  it('refuses a bad key and an over-long value', () => {
    expect(paths({ '-bad': 'x' })).toEqual(['labels.-bad']);
    expect(paths({ env: 'x'.repeat(257) })).toEqual(['labels.env']);
  });
});

describe('issueTokenSchema limits', () => {
  const paths = (limits: Record<string, unknown>) => {
    const result = issueTokenSchema.safeParse({
      owner: { type: 'team', id: 'billing' },
      name: 'ci',
      scopes: ['tokens:read'],
      ...limits,
    });
    return result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
  };

  it('accepts the limits PUT schemas, and null for none', () => {
    expect(
      paths({
        rateLimit: { limit: 100, windowSeconds: 60 },
        credits: { remaining: 5, refill: { amount: 5, intervalSeconds: 3600 } },
      }),
    ).toEqual([]);
    expect(paths({ rateLimit: null, credits: null })).toEqual([]);
  });

  it('refuses bad values, naming the field', () => {
    expect(paths({ rateLimit: { limit: 0, windowSeconds: 60 } })).toEqual(['rateLimit.limit']);
    expect(paths({ rateLimit: { limit: 5 } })).toEqual(['rateLimit.windowSeconds']);
    expect(paths({ credits: { remaining: -1 } })).toEqual(['credits.remaining']);
    expect(paths({ credits: { remaining: 5, refill: { amount: 5, intervalSeconds: 1 } } })).toEqual(
      ['credits.refill.intervalSeconds'],
    );
    expect(paths({ credits: 5 })).toEqual(['credits']);
    expect(paths({ credits: { remaining: 1, extra: true } })).toEqual(['credits']);
  });
});
