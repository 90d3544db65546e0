import { buildEvent } from '@tokenledger/contracts';
import { Webhook } from 'standardwebhooks';
import {
  DEFAULT_RETRY_SCHEDULE,
  generateSecret,
  matches,
  nextAttemptAt,
  SECRET_PATTERN,
  sign,
  slackBody,
  type WebhookFilter,
} from './webhooks';

const none: WebhookFilter = { eventTypes: [], rules: [], severities: [], owners: [] };

describe('webhook signatures', () => {
  it('are accepted by the standardwebhooks reference implementation', () => {
    const secret = generateSecret((n) => Buffer.alloc(n, 7));
    expect(secret).toMatch(SECRET_PATTERN);
    const body = '{"type":"x","data":{}}';
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': sign(secret, 'msg_1', ts, body),
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual({ type: 'x', data: {} });
    // A changed body or another secret fails.
    expect(() => new Webhook(secret).verify(body.replace('x', 'y'), headers)).toThrow();
    const other = generateSecret((n) => Buffer.alloc(n, 8));
    expect(() => new Webhook(other).verify(body, headers)).toThrow();
  });
});

describe('webhook filters', () => {
  const anomaly = {
    type: 'tokenledger.anomaly.detected.v1' as const,
    rule: 'leaked',
    severity: 'critical',
    owner: 'service:billing',
  };
  it('pass everything when empty', () => {
    expect(matches(none, anomaly)).toBe(true);
  });
  it('require every non-empty dimension', () => {
    expect(matches({ ...none, rules: ['leaked'], severities: ['critical'] }, anomaly)).toBe(true);
    expect(matches({ ...none, rules: ['rate-spike'] }, anomaly)).toBe(false);
    expect(matches({ ...none, severities: ['low'] }, anomaly)).toBe(false);
    expect(matches({ ...none, owners: ['service:other'] }, anomaly)).toBe(false);
    expect(matches({ ...none, eventTypes: ['tokenledger.token.rotation-due.v1'] }, anomaly)).toBe(
      false,
    );
  });
  it('apply rules and severities to anomalies only; an owner filter needs a known owner', () => {
    const due = { type: 'tokenledger.token.rotation-due.v1' as const };
    expect(matches({ ...none, rules: ['leaked'] }, due)).toBe(true);
    expect(matches({ ...none, owners: ['service:billing'] }, due)).toBe(false);
  });
});

describe('retry schedule', () => {
  it('doubles from the base, caps at the maximum and dead-letters after the window', () => {
    const t0 = 1_000_000;
    expect(nextAttemptAt(DEFAULT_RETRY_SCHEDULE, 1, t0, t0)).toBe(t0 + 5_000);
    expect(nextAttemptAt(DEFAULT_RETRY_SCHEDULE, 3, t0, t0 + 100)).toBe(t0 + 100 + 20_000);
    expect(nextAttemptAt(DEFAULT_RETRY_SCHEDULE, 20, t0, t0 + 1000)).toBe(t0 + 1000 + 3_600_000);
    expect(nextAttemptAt(DEFAULT_RETRY_SCHEDULE, 30, t0, t0 + 86_000_000)).toBeUndefined();
  });
  it('gives about 24 h of attempts by default', () => {
    const t0 = 0;
    let now = t0;
    let failures = 1;
    for (;;) {
      const next = nextAttemptAt(DEFAULT_RETRY_SCHEDULE, failures, t0, now);
      if (next === undefined) break;
      now = next;
      failures++;
    }
    expect(now).toBeGreaterThan(23 * 3_600_000);
    expect(now).toBeLessThanOrEqual(24 * 3_600_000);
  });
});

describe('slack body', () => {
  it('is a text message naming the event', () => {
    const event = buildEvent({
      type: 'tokenledger.token.revoked.v1',
      source: '/tokenledger/revocation',
      actor: 'system',
      data: {
        tokenId: '0190f4a0-0000-7000-8000-000000000001',
        reason: 'policy',
        revokedAt: '2024-05-01T00:00:00Z',
      },
    });
    const body = JSON.parse(slackBody(event)) as { text: string };
    expect(body.text).toContain('token.revoked');
    expect(body.text).toContain('reason: policy');
  });
});
