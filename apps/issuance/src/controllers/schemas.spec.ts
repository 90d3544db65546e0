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
