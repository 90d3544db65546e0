import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TOPICS, decodeEvent, topicName, type EventEnvelope } from '@tokenledger/contracts';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  type TestDatabase,
} from '@tokenledger/testing';
import { Webhook } from 'standardwebhooks';
import { startSystem, type RunningSystem } from './system';

function decoded(value: Buffer | null): EventEnvelope {
  const r = decodeEvent(value ?? Buffer.alloc(0));
  if (!r.ok) throw new Error('undecodable record');
  return r.event;
}

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}
interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: Array<{ attempt: number; statusCode: number | null; outcome: string }>;
}

/**
 * Issue 16 points 3 and 2: webhook subscriptions delivered by the anomaly app (Standard
 * Webhooks signatures checked with the `standardwebhooks` package), retries then a dead letter,
 * and the rotation policy's reminder and `policy` revocation.
 */
describe('webhooks and the rotation policy', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  let receiver: Server;
  let receiverUrl: string;
  const received: Received[] = [];
  const prefix = freshTopicPrefix();
  const secret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;

  const auth = (token = system.rootToken): Record<string, string> => ({
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
  });
  const url = (app: 'issuance' | 'revocation' | 'anomaly', path: string): string =>
    `${system.apps[app].url}${path}`;

  async function subscribe(body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
    const res = await fetch(url('anomaly', '/v1/webhooks'), {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; secret: string };
  }

  async function issue(
    owner: string,
    scopes = ['things:read'],
  ): Promise<{ tokenId: string; token: string }> {
    const res = await fetch(url('issuance', '/v1/tokens'), {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({
        owner: { type: 'service', id: owner },
        name: owner,
        scopes,
        ttlSeconds: 3600,
      }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { tokenId: string; token: string };
  }

  async function deliveries(webhookId: string): Promise<Delivery[]> {
    const res = await fetch(url('anomaly', `/v1/webhooks/${webhookId}/deliveries`), {
      headers: auth(),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { deliveries: Delivery[] }).deliveries;
  }

  async function active(token: string): Promise<Record<string, unknown>> {
    const res = await fetch(url('revocation', '/v1/introspect'), {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  /** Waits until the anomaly app knows the token (its inventory has it). */
  async function known(tokenId: string): Promise<void> {
    await eventually(
      async () => {
        const res = await fetch(url('anomaly', '/v1/reports/sprawl'), { headers: auth() });
        const body = (await res.json()) as { tokens: Array<{ tokenId: string }> };
        return body.tokens.some((t) => t.tokenId === tokenId) ? true : undefined;
      },
      20_000,
      'the anomaly inventory to know the token',
    );
  }

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        });
        res.statusCode = req.url?.startsWith('/fail') ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    db = await freshDatabase();
    system = await startSystem(
      {
        DATABASE_URL: db.url,
        KAFKA_BROKERS: kafkaBrokers(),
        TOPIC_PREFIX: prefix,
        SPRAWL_SWEEP_INTERVAL_MS: '300',
        WEBHOOK_POLL_INTERVAL_MS: '100',
        // A fast schedule: 100, 200, 400 ms ... dead-lettered 1.5 s after the first attempt.
        WEBHOOK_BACKOFF_BASE_MS: '100',
        WEBHOOK_BACKOFF_MAX_MS: '400',
        WEBHOOK_RETRY_WINDOW_MS: '1500',
      },
      { witness: false },
    );
    await eventually(
      async () =>
        (await fetch(url('anomaly', '/v1/whoami'), { headers: auth() })).status === 200
          ? true
          : undefined,
      20_000,
      'root token known',
    );
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
    await db?.drop();
    await new Promise((r) => receiver?.close(r));
  }, 60_000);

  it('refuses callers without the webhook scopes and bad subscriptions, changing nothing', async () => {
    const weak = await issue('wh-weak', ['anomalies:read']);
    await eventually(
      async () =>
        (await fetch(url('anomaly', '/v1/whoami'), { headers: auth(weak.token) })).status === 200
          ? true
          : undefined,
      20_000,
      'weak token known',
    );
    const id = '0190f4a0-0000-7000-8000-000000000001';
    const routes: Array<[string, string]> = [
      ['POST', '/v1/webhooks'],
      ['GET', '/v1/webhooks'],
      ['GET', `/v1/webhooks/${id}`],
      ['DELETE', `/v1/webhooks/${id}`],
      ['GET', `/v1/webhooks/${id}/deliveries`],
    ];
    for (const [method, path] of routes) {
      const body = method === 'POST' ? JSON.stringify({ url: `${receiverUrl}/x` }) : undefined;
      const none = await fetch(url('anomaly', path), {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body ? { body } : {}),
      });
      expect([method, path, none.status]).toEqual([method, path, 401]);
      const wrong = await fetch(url('anomaly', path), {
        method,
        headers: auth(weak.token),
        ...(body ? { body } : {}),
      });
      expect([method, path, wrong.status]).toEqual([method, path, 403]);
    }
    for (const bad of [
      { url: 'ftp://example.com/hook' },
      { url: `${receiverUrl}/x`, secret: 'not-a-secret' },
      { url: `${receiverUrl}/x`, filter: { eventTypes: ['tokenledger.token.used.v1'] } },
      { url: `${receiverUrl}/x`, filter: { rules: ['no-such-rule'] } },
      { url: `${receiverUrl}/x`, extra: true },
    ]) {
      const res = await fetch(url('anomaly', '/v1/webhooks'), {
        method: 'POST',
        headers: auth(),
        body: JSON.stringify(bad),
      });
      expect([bad, res.status]).toEqual([bad, 400]);
    }
    const list = await fetch(url('anomaly', '/v1/webhooks'), { headers: auth() });
    expect(((await list.json()) as { webhooks: unknown[] }).webhooks).toEqual([]);
    const missing = await fetch(url('anomaly', `/v1/webhooks/${id}`), { headers: auth() });
    expect(missing.status).toBe(404);
  }, 60_000);

  it('delivers matching anomalies signed per Standard Webhooks, and nothing to a filter that does not match', async () => {
    const hook = await subscribe({
      url: `${receiverUrl}/ok`,
      secret,
      filter: {
        eventTypes: ['tokenledger.anomaly.detected.v1'],
        rules: ['revoked-token-use'],
        severities: ['critical'],
        owners: ['service:wh-owner'],
      },
    });
    expect(hook.secret).toBe(secret);
    const slack = await subscribe({
      url: `${receiverUrl}/slack`,
      format: 'slack',
      filter: { eventTypes: ['tokenledger.anomaly.detected.v1'], owners: ['service:wh-owner'] },
    });
    const other = await subscribe({
      url: `${receiverUrl}/other`,
      filter: { eventTypes: ['tokenledger.anomaly.detected.v1'], rules: ['rate-spike'] },
    });
    // The secret is never shown again, nor logged.
    const listed = await (await fetch(url('anomaly', '/v1/webhooks'), { headers: auth() })).text();
    expect(listed).toContain(hook.id);
    expect(listed).not.toContain('whsec_');
    expect(listed).not.toContain('secret');

    const t = await issue('wh-owner');
    await known(t.tokenId);
    const revoke = await fetch(url('revocation', `/v1/tokens/${t.tokenId}/revoke`), {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({}),
    });
    expect(revoke.status).toBe(200);
    // An accepted use after the revocation: the revoked-token-use rule (critical) fires.
    await new Promise((r) => setTimeout(r, 1500));
    const usage = await fetch(url('anomaly', '/v1/usage'), {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({
        events: [
          {
            tokenId: t.tokenId,
            service: 'gateway',
            operation: 'GET /things',
            ip: '10.0.0.1',
            scopesRequested: ['things:read'],
            outcome: 'accepted',
          },
        ],
      }),
    });
    expect(usage.status).toBe(202);

    const got = await eventually(
      () => {
        const r = received.find((x) => x.path === '/ok');
        return Promise.resolve(r && received.some((x) => x.path === '/slack') ? r : undefined);
      },
      30_000,
      'the webhooks to arrive',
    );
    const verified = new Webhook(secret).verify(got.body, {
      'webhook-id': String(got.headers['webhook-id']),
      'webhook-timestamp': String(got.headers['webhook-timestamp']),
      'webhook-signature': String(got.headers['webhook-signature']),
    }) as { type: string; data: { subject: string; data: { rule: string; tokenId: string } } };
    expect(verified.type).toBe('tokenledger.anomaly.detected.v1');
    expect(verified.data.data).toMatchObject({ rule: 'revoked-token-use', tokenId: t.tokenId });
    // A tampered body does not verify.
    expect(() =>
      new Webhook(secret).verify(got.body.replace(t.tokenId, '0'.repeat(36)), {
        'webhook-id': String(got.headers['webhook-id']),
        'webhook-timestamp': String(got.headers['webhook-timestamp']),
        'webhook-signature': String(got.headers['webhook-signature']),
      }),
    ).toThrow();
    const slackGot = received.find((x) => x.path === '/slack');
    const slackBody = JSON.parse(slackGot?.body ?? '{}') as { text?: string };
    expect(slackBody.text).toContain('anomaly.detected');
    new Webhook(slack.secret).verify(slackGot?.body ?? '', {
      'webhook-id': String(slackGot?.headers['webhook-id']),
      'webhook-timestamp': String(slackGot?.headers['webhook-timestamp']),
      'webhook-signature': String(slackGot?.headers['webhook-signature']),
    });

    const list = await eventually(
      async () => {
        const d = await deliveries(hook.id);
        return d[0]?.status === 'delivered' ? d : undefined;
      },
      10_000,
      'the delivery to be recorded',
    );
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id: got.headers['webhook-id'],
      eventType: 'tokenledger.anomaly.detected.v1',
      attempts: [{ attempt: 1, statusCode: 204, outcome: 'delivered' }],
    });
    expect(await deliveries(other.id)).toEqual([]);
    expect(received.some((x) => x.path === '/other')).toBe(false);
    // No secret in any app's log.
    for (const app of Object.values(system.apps)) {
      const log = app.output.join('');
      expect(log).not.toContain(secret);
      expect(log).not.toContain(slack.secret);
    }
  }, 90_000);

  it('retries a failing receiver with backoff and then dead-letters the delivery', async () => {
    const hook = await subscribe({
      url: `${receiverUrl}/fail`,
      filter: { eventTypes: ['tokenledger.token.revoked.v1'], owners: ['service:wh-fail'] },
    });
    expect(hook.secret).toMatch(/^whsec_/);
    const t = await issue('wh-fail');
    await known(t.tokenId);
    const revoke = await fetch(url('revocation', `/v1/tokens/${t.tokenId}/revoke`), {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({}),
    });
    expect(revoke.status).toBe(200);
    const [dead] = await eventually(
      async () => {
        const d = await deliveries(hook.id);
        return d[0]?.status === 'dead-lettered' ? d : undefined;
      },
      30_000,
      'the delivery to be dead-lettered',
    );
    expect(dead?.eventType).toBe('tokenledger.token.revoked.v1');
    const attempts = dead?.attempts ?? [];
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
    expect(attempts.every((a) => a.statusCode === 500)).toBe(true);
    expect(attempts.slice(0, -1).every((a) => a.outcome === 'failed')).toBe(true);
    expect(attempts[attempts.length - 1]?.outcome).toBe('dead-lettered');
    // Every retry is the same message (same webhook-id), freshly signed.
    const calls = received.filter((x) => x.path === '/fail');
    expect(calls).toHaveLength(attempts.length);
    for (const c of calls) {
      expect(c.headers['webhook-id']).toBe(dead?.id);
      new Webhook(hook.secret).verify(c.body, {
        'webhook-id': String(c.headers['webhook-id']),
        'webhook-timestamp': String(c.headers['webhook-timestamp']),
        'webhook-signature': String(c.headers['webhook-signature']),
      });
    }
    // The dead-letter entry is listed by status too, and nothing more is tried.
    const res = await fetch(
      url('anomaly', `/v1/webhooks/${hook.id}/deliveries?status=dead-lettered`),
      { headers: auth() },
    );
    expect(((await res.json()) as { deliveries: Delivery[] }).deliveries.map((d) => d.id)).toEqual([
      dead?.id,
    ]);
    await new Promise((r) => setTimeout(r, 800));
    expect(received.filter((x) => x.path === '/fail')).toHaveLength(attempts.length);
  }, 60_000);

  it('revokes an overdue token with reason policy after a signed rotation-due webhook, and spares a rotated one', async () => {
    const hook = await subscribe({
      url: `${receiverUrl}/rotation`,
      secret,
      filter: {
        eventTypes: ['tokenledger.token.rotation-due.v1', 'tokenledger.token.revoked.v1'],
        owners: ['service:rot-a', 'service:rot-b'],
      },
    });
    // Days may be fractional: due after 4 s, revoked at 8 s of age.
    const put = await fetch(url('anomaly', '/v1/anomaly-rules/rotation-policy'), {
      method: 'PUT',
      headers: auth(),
      body: JSON.stringify({
        enabled: true,
        params: {
          maxAgeDays: 8 / 86_400,
          rotationReminderDays: 4 / 86_400,
          owners: ['service:rot-a', 'service:rot-b'],
        },
      }),
    });
    expect(put.status).toBe(200);
    const a = await issue('rot-a');
    const b = await issue('rot-b');
    // b is rotated: the replacement (issued now) and the rotated original are both spared.
    const rotate = await fetch(url('issuance', `/v1/tokens/${b.tokenId}/rotate`), {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ graceSeconds: 3600 }),
    });
    expect(rotate.status).toBe(201);
    const b2 = (await rotate.json()) as { tokenId: string; token: string };
    const signed = (r: Received): { type: string; data: { data: Record<string, unknown> } } =>
      new Webhook(secret).verify(r.body, {
        'webhook-id': String(r.headers['webhook-id']),
        'webhook-timestamp': String(r.headers['webhook-timestamp']),
        'webhook-signature': String(r.headers['webhook-signature']),
      }) as { type: string; data: { data: Record<string, unknown> } };
    const ofType = (type: string, tokenId: string): Received | undefined =>
      received
        .filter((x) => x.path === '/rotation')
        .find((x) => {
          const v = signed(x);
          return v.type === type && v.data.data.tokenId === tokenId;
        });

    const reminder = await eventually(
      () => Promise.resolve(ofType('tokenledger.token.rotation-due.v1', a.tokenId)),
      20_000,
      'the rotation-due webhook',
    );
    // While due, the sprawl report lists it under its owner.
    const report = (await (
      await fetch(url('anomaly', '/v1/reports/sprawl'), { headers: auth() })
    ).json()) as { rotation: Array<{ owner: string; due: Array<{ tokenId: string }> }> };
    const revokedHook = await eventually(
      () => Promise.resolve(ofType('tokenledger.token.revoked.v1', a.tokenId)),
      20_000,
      'the policy revocation webhook',
    );
    expect(signed(reminder).data.data).toMatchObject({ tokenId: a.tokenId });
    expect(signed(revokedHook).data.data).toMatchObject({ tokenId: a.tokenId, reason: 'policy' });
    const rotationRows = report.rotation.find((r) => r.owner === 'service:rot-a');
    expect(rotationRows?.due.map((t) => t.tokenId) ?? []).toContain(a.tokenId);
    expect(await active(a.token)).toMatchObject({ active: false });
    // The reminder came first.
    expect(received.indexOf(reminder)).toBeLessThan(received.indexOf(revokedHook));

    // The ledger's topic holds the audited events.
    const lifecycle = await readTopic(topicName(TOPICS.lifecycle, prefix), (rs) =>
      rs.some(
        (r) => r.key === a.tokenId && decoded(r.value).type === 'tokenledger.token.revoked.v1',
      ),
    );
    // Reminders are policy notices on the anomalies topic (the anomaly app may not write lifecycle).
    const notices = await readTopic(topicName(TOPICS.anomalies, prefix), (rs) =>
      rs.some(
        (r) => r.key === a.tokenId && decoded(r.value).type === 'tokenledger.token.rotation-due.v1',
      ),
    );
    const ofA = [...notices, ...lifecycle]
      .filter((r) => r.key === a.tokenId)
      .map((r) => decoded(r.value));
    expect(ofA.filter((e) => e.type === 'tokenledger.token.rotation-due.v1')).toHaveLength(1);
    expect(ofA.filter((e) => e.type === 'tokenledger.token.revoked.v1').map((e) => e.data)).toEqual(
      [expect.objectContaining({ reason: 'policy' })],
    );
    expect(
      notices
        .filter((r) => r.key === b.tokenId)
        .map((r) => decoded(r.value).type)
        .filter((t) => t === 'tokenledger.token.rotation-due.v1'),
    ).toEqual([]);

    // b (rotated) and its replacement b2 (age below the maximum until it is 8 s old) stay active
    // until then; b's original is never reminded.
    expect(ofType('tokenledger.token.rotation-due.v1', b.tokenId)).toBeUndefined();
    expect(await active(b.token)).toMatchObject({ active: true });
    expect((await deliveries(hook.id)).every((d) => d.status !== 'dead-lettered')).toBe(true);
    void b2;
  }, 90_000);

  it('deletes a subscription, records both changes in ops.audit without the secret or path', async () => {
    const hook = await subscribe({ url: `${receiverUrl}/gone/path?key=abc`, secret });
    const del = await fetch(url('anomaly', `/v1/webhooks/${hook.id}`), {
      method: 'DELETE',
      headers: auth(),
    });
    expect(del.status).toBe(204);
    expect(
      (await fetch(url('anomaly', `/v1/webhooks/${hook.id}`), { headers: auth() })).status,
    ).toBe(404);
    const again = await fetch(url('anomaly', `/v1/webhooks/${hook.id}`), {
      method: 'DELETE',
      headers: auth(),
    });
    expect(again.status).toBe(404);
    // Its deliveries stay readable; none is left pending (it has no filter, so events of the
    // other tests may have been queued to it before the delete).
    expect((await deliveries(hook.id)).filter((d) => d.status === 'pending')).toEqual([]);
    const records = await readTopic(
      topicName(TOPICS.opsAudit, prefix),
      (rs) => rs.filter((r) => r.key === hook.id).length >= 2,
    );
    const changes = records.filter((r) => r.key === hook.id);
    const events = changes.map((r) => decoded(r.value));
    expect(events.map((e) => [e.type, (e.data as { change: string }).change])).toEqual([
      ['tokenledger.ops.webhook-changed.v1', 'created'],
      ['tokenledger.ops.webhook-changed.v1', 'deleted'],
    ]);
    for (const r of changes) {
      const raw = r.value?.toString() ?? '';
      expect(raw).not.toContain('whsec_');
      expect(raw).not.toContain('key=abc');
      expect(raw).toContain(receiverUrl);
    }
  }, 60_000);
});
