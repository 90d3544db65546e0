import type { TokenUsedV1 } from '@tokenledger/contracts';
import {
  anomalyIdOf,
  detect,
  emptyState,
  networkOf,
  type DetectorEvent,
  type DetectorState,
  type Finding,
} from './detector';
import { defaultRules, updateRule, type RuleSet } from './rules';

const tokenId = '01900000-0000-7000-8000-0000000000aa';
let n = 0;
const id = (): string => `01900000-0000-7000-8000-${(n++).toString(16).padStart(12, '0')}`;
const T0 = Date.parse('2026-11-01T00:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

function use(
  seconds: number,
  extra: Partial<TokenUsedV1> = {},
  introspected = true,
): DetectorEvent {
  return {
    kind: 'used',
    id: id(),
    introspected,
    data: {
      tokenId,
      service: 'api',
      operation: 'GET /x',
      ip: '10.0.0.1',
      scopesRequested: [],
      outcome: 'accepted',
      at: at(seconds),
      ...extra,
    },
  };
}

/** Runs events through the detector; returns the findings of the last `when` events only. */
function run(
  given: DetectorEvent[],
  when: DetectorEvent[],
  rules: RuleSet = defaultRules(),
): Finding[] {
  let state: DetectorState = emptyState(tokenId);
  for (const e of given) state = detect(state, e, rules).state;
  const out: Finding[] = [];
  for (const e of when) {
    const r = detect(state, e, rules);
    state = r.state;
    out.push(...r.findings);
  }
  return out;
}

const rulesOf = (findings: Finding[]): string[] => findings.map((f) => f.rule);
const issued = (dpopJkt?: string): DetectorEvent => ({
  kind: 'issued',
  id: id(),
  tokenId,
  issuedAt: at(0),
  expiresAt: at(86_400),
  ...(dpopJkt ? { dpopJkt } : {}),
});
const normal = (
  from: number,
  count: number,
  every = 10,
  extra: Partial<TokenUsedV1> = {},
): DetectorEvent[] => Array.from({ length: count }, (_, i) => use(from + i * every, extra));

describe('anomaly rules (given events, when an event, then findings)', () => {
  it('revoked-token-use: a use after the revocation time fires once; a use before it does not', () => {
    const revoked: DetectorEvent = { kind: 'revoked', id: id(), tokenId, revokedAt: at(100) };
    expect(rulesOf(run([issued(), revoked], [use(99)]))).toEqual([]);
    const f = run([issued(), revoked], [use(101), use(102)]);
    expect(f).toMatchObject([{ rule: 'revoked-token-use', severity: 'critical', action: 'alert' }]);
  });

  it('lifecycle learned after the use gives the same finding as before it (topics interleave differently on replay)', () => {
    // An accepted use just after the revocation time, then a rejected one: same evidence in every order.
    const revokedAt: DetectorEvent = { kind: 'revoked', id: id(), tokenId, revokedAt: at(100) };
    const u1 = use(101);
    const u2 = use(102, { outcome: 'rejected', rejection: 'revoked' });
    const orders = [
      [u1, u2, revokedAt],
      [u1, revokedAt, u2],
      [revokedAt, u1, u2],
    ];
    const results = orders.map((o) => run([issued()], o).map((f) => f.anomalyId));
    expect(new Set(results.map((r) => r.join()))).toEqual(new Set([results[0]?.join()]));
    const u = use(101);
    const revoked: DetectorEvent = { kind: 'revoked', id: id(), tokenId, revokedAt: at(100) };
    const a = run([issued()], [revoked, u]);
    const b = run([issued()], [u, revoked]);
    expect(a).toHaveLength(1);
    expect(b).toEqual(a);
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const bound = issued(jkt);
    const wrong = use(10, { dpopJkt: 'B'.repeat(43) });
    expect(run([], [wrong, bound])).toEqual(run([], [bound, wrong]));
    expect(rulesOf(run([], [wrong, bound]))).toEqual(['dpop-mismatch']);
  });

  it('expired-token-use: after expiresAt fires; just before does not', () => {
    expect(rulesOf(run([issued()], [use(86_399)]))).toEqual([]);
    expect(rulesOf(run([issued()], [use(86_400)]))).toEqual(['expired-token-use']);
  });

  it('new-network: a new /24 after the warm-up fires; the same /24 or a new one during warm-up does not', () => {
    const warm = normal(0, 5);
    expect(rulesOf(run(warm, [use(100, { ip: '10.0.0.99' })]))).toEqual([]);
    expect(rulesOf(run(normal(0, 3), [use(100, { ip: '192.168.7.1' })]))).toEqual([]);
    expect(run(warm, [use(100, { ip: '192.168.7.1' })])).toMatchObject([
      { rule: 'new-network', summary: expect.stringContaining('192.168.7.0/24') },
    ]);
    expect(networkOf('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
  });

  it('rate-spike: 10x the learned rate fires; 1.5x does not; below the floor never does', () => {
    const history = Array.from({ length: 10 }, (_, m) => normal(m * 60, 5, 12)).flat(); // 5 per minute
    const spike = normal(600, 50, 1);
    expect(rulesOf(run(history, spike))).toEqual(['rate-spike']);
    expect(rulesOf(run(history, normal(600, 8, 6)))).toEqual([]);
    const quiet = Array.from({ length: 10 }, (_, m) => normal(m * 60, 1, 12)).flat();
    expect(rulesOf(run(quiet, normal(600, 20, 2)))).toEqual([]); // 20x, but under the floor of 30
  });

  it('rate-spike: late uses count in their own bucket (a newer use arriving first does not hide the spike)', () => {
    const history = Array.from({ length: 10 }, (_, m) => normal(m * 60, 5, 12)).flat();
    expect(rulesOf(run([use(3600), ...history], normal(600, 50, 1)))).toEqual(['rate-spike']);
  });

  it('scope-probing: 5 insufficient-scope rejections in 5 minutes fire; 4, or 5 spread over an hour, do not', () => {
    const probe = (s: number): DetectorEvent =>
      use(s, { outcome: 'rejected', rejection: 'insufficient-scope' });
    expect(rulesOf(run([], [0, 10, 20, 30, 40].map(probe)))).toEqual(['scope-probing']);
    expect(rulesOf(run([], [0, 10, 20, 30].map(probe)))).toEqual([]);
    expect(rulesOf(run([], [0, 900, 1800, 2700, 3600].map(probe)))).toEqual([]);
  });

  it('dormant-reactivation: a use after 30 days without use fires; after 29 days does not', () => {
    expect(rulesOf(run([use(0)], [use(30 * 86_400)]))).toEqual(['dormant-reactivation']);
    expect(rulesOf(run([use(0)], [use(29 * 86_400)]))).toEqual([]);
  });

  it('impossible-travel: two countries within 60 minutes fire; 2 hours apart do not', () => {
    expect(run([use(0, { country: 'DE' })], [use(1800, { country: 'BR' })])).toMatchObject([
      { rule: 'impossible-travel', evidence: [expect.any(String), expect.any(String)] },
    ]);
    expect(rulesOf(run([use(0, { country: 'DE' })], [use(7200, { country: 'BR' })]))).toEqual([]);
  });

  it('dpop-mismatch: a bound token used with another key or without a proof fires (revoke by default); the right key does not', () => {
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    expect(rulesOf(run([issued(jkt)], [use(10, { dpopJkt: jkt })]))).toEqual([]);
    expect(run([issued(jkt)], [use(10, { dpopJkt: 'x'.repeat(43) })])).toMatchObject([
      { rule: 'dpop-mismatch', action: 'revoke', severity: 'critical' },
    ]);
    expect(
      rulesOf(run([issued(jkt)], [use(10, { outcome: 'rejected', rejection: 'dpop-invalid' })])),
    ).toEqual(['dpop-mismatch']);
    // A usage report (not introspection) is no DPoP fact: neither a missing nor a wrong key fires.
    expect(rulesOf(run([issued(jkt)], [use(10, {}, false)]))).toEqual([]);
    expect(rulesOf(run([issued(jkt)], [use(10, { dpopJkt: 'x'.repeat(43) }, false)]))).toEqual([]);
    expect(rulesOf(run([use(10, {}, false)], [issued(jkt)]))).toEqual([]);
    // A rejection reason alone (no known binding) is not a finding: the fact decides.
    expect(
      rulesOf(run([issued()], [use(10, { outcome: 'rejected', rejection: 'dpop-invalid' })])),
    ).toEqual([]);
  });

  it('leaked: a leak report fires with action revoke', () => {
    expect(run([issued()], [{ kind: 'leaked', id: id(), tokenId, at: at(5) }])).toMatchObject([
      { rule: 'leaked', action: 'revoke' },
    ]);
  });

  it('disabled rules stay silent; actions and thresholds follow the configuration', () => {
    const rules = defaultRules();
    rules['impossible-travel'] = updateRule(rules['impossible-travel'], { enabled: false });
    expect(rulesOf(run([use(0, { country: 'DE' })], [use(60, { country: 'BR' })], rules))).toEqual(
      [],
    );
    rules['dormant-reactivation'] = updateRule(rules['dormant-reactivation'], {
      action: 'revoke',
      params: { days: 1 },
    });
    expect(run([use(0)], [use(2 * 86_400)], rules)).toMatchObject([
      { rule: 'dormant-reactivation', action: 'revoke' },
    ]);
    expect(() => updateRule(rules['scope-probing'], { params: { threshold: -1 } })).toThrow();
  });

  it('is deterministic: the same stream gives the same anomaly ids; ids are UUIDv7 from the evidence', () => {
    const stream = [use(0, { country: 'DE' }), use(10, { country: 'FR' })];
    const a = run(
      [],
      stream.map((e) => ({ ...e })),
    );
    const b = run([], stream);
    expect(a.map((f) => f.anomalyId)).toEqual(b.map((f) => f.anomalyId));
    expect(anomalyIdOf('x', ['a'], T0)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(anomalyIdOf('x', ['a'], T0)).not.toBe(anomalyIdOf('x', ['b'], T0));
  });
});
