import {
  TOPICS,
  buildEvent,
  decodeEvent,
  encodeEvent,
  partitionKey,
  topicName,
  uuidv7,
  type EventEnvelope,
  type TokenUsedV1,
} from '@tokenledger/contracts';
import { createEventProducer, createKafka } from '@tokenledger/messaging';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  type TestDatabase,
} from '@tokenledger/testing';
import { Client } from 'pg';
import { freePort, provisionKafka, spawnApp, startSystem, type RunningSystem } from './system';

interface Anomaly {
  id: string;
  rule: string;
  severity: string;
  tokenId: string;
  action: string;
  evidence: string[];
  detectedAt: string;
  summary: string;
}

describe('anomaly detection through real Kafka records and the real apps', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  const prefix = freshTopicPrefix();
  const auth = (): Record<string, string> => ({
    authorization: `Bearer ${system.rootToken}`,
    'content-type': 'application/json',
  });
  const anomalyUrl = (path: string): string => `${system.apps.anomaly.url}${path}`;
  const sent: Array<{ key: string; value: Buffer; topic: string }> = [];

  async function produce(topic: string, events: EventEnvelope[]): Promise<void> {
    const producer = createEventProducer(
      createKafka({ brokers: kafkaBrokers(), clientId: 'anomaly-spec' }),
    );
    await producer.connect();
    const messages = events.map((e) => ({
      key: partitionKey(e),
      value: encodeEvent(e, { signingKey: system.signing.driver }),
    }));
    await producer.send({ topic: topicName(topic, prefix), acks: -1, messages });
    await producer.disconnect();
    sent.push(...messages.map((m) => ({ ...m, topic })));
  }

  const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString();
  /** Start of the last complete minute: a burst placed there falls in one 60 s rate bucket. */
  const previousMinute = (): number => Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const INTROSPECTION = '/tokenledger/revocation';
  function used(
    tokenId: string,
    at: string,
    extra: Partial<TokenUsedV1> = {},
    source = '/tokenledger/test',
  ): EventEnvelope {
    return buildEvent({
      type: 'tokenledger.token.used.v1',
      source,
      actor: 'service:gateway',
      data: {
        tokenId,
        service: 'gateway',
        operation: 'GET /v1/things',
        ip: '10.1.2.3',
        scopesRequested: ['things:read'],
        outcome: 'accepted',
        at,
        ...extra,
      },
    });
  }
  function lifecycle(
    type: 'issued' | 'revoked',
    tokenId: string,
    at: string,
    dpopJkt?: string,
    expiresAt = new Date(Date.now() + 86_400_000).toISOString(),
    ownerId = 'spec',
  ): EventEnvelope {
    return type === 'issued'
      ? buildEvent({
          type: 'tokenledger.token.issued.v1',
          source: '/tokenledger/test',
          actor: 'system',
          data: {
            tokenId,
            prefix: 'tlk_live_Test',
            owner: { type: 'service', id: ownerId },
            name: 'spec',
            scopes: ['things:read'],
            labels: {},
            issuedAt: minutesAgo(600),
            expiresAt,
            ...(dpopJkt ? { dpopJkt } : {}),
          },
        })
      : buildEvent({
          type: 'tokenledger.token.revoked.v1',
          source: '/tokenledger/test',
          actor: 'system',
          data: { tokenId, reason: 'requested', revokedAt: at },
        });
  }

  async function findings(tokenId: string, url = anomalyUrl): Promise<Anomaly[]> {
    const res = await fetch(url(`/v1/anomalies?tokenId=${tokenId}`), { headers: auth() });
    expect(res.status).toBe(200);
    return ((await res.json()) as { anomalies: Anomaly[] }).anomalies;
  }

  /** Waits until the detector processed everything sent (its last event id is in the inbox). */
  async function rulesFor(tokenId: string, lastEventId: string): Promise<string[]> {
    await eventually(
      async () => {
        const client = new Client({ connectionString: db.url });
        await client.connect();
        try {
          const r = await client.query(
            "SELECT 1 FROM anomaly.inbox WHERE consumer = 'detector' AND event_id = $1",
            [lastEventId],
          );
          return r.rowCount ? true : undefined;
        } finally {
          await client.end();
        }
      },
      15_000,
      'the detector to process the events',
    );
    return (await findings(tokenId)).map((f) => f.rule).sort();
  }

  beforeAll(async () => {
    db = await freshDatabase();
    system = await startSystem({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: kafkaBrokers(),
      TOPIC_PREFIX: prefix,
      SPRAWL_SWEEP_INTERVAL_MS: '300',
    });
    await eventually(
      async () =>
        (await fetch(anomalyUrl('/v1/whoami'), { headers: auth() })).status === 200
          ? true
          : undefined,
      20_000,
      'root token known',
    );
    // One rule configuration for the whole stream (the replay test starts with the same one).
    const put = await fetch(anomalyUrl('/v1/anomaly-rules/impossible-travel'), {
      method: 'PUT',
      headers: auth(),
      body: JSON.stringify({ action: 'revoke' }),
    });
    expect(put.status).toBe(200);
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
    await db?.drop();
  }, 60_000);

  /** For each rule: records that must fire it, and a near miss that must not. */
  const cases: Array<{
    rule: string;
    fire: (t: string) => Array<[string, EventEnvelope]>;
    miss: (t: string) => Array<[string, EventEnvelope]>;
  }> = [
    {
      rule: 'revoked-token-use',
      fire: (t) => [
        [TOPICS.lifecycle, lifecycle('revoked', t, minutesAgo(10))],
        [TOPICS.usage, used(t, minutesAgo(5))],
      ],
      miss: (t) => [
        [TOPICS.lifecycle, lifecycle('revoked', t, minutesAgo(5))],
        [TOPICS.usage, used(t, minutesAgo(10))],
      ],
    },
    {
      rule: 'expired-token-use',
      fire: (t) => [
        [TOPICS.lifecycle, lifecycle('issued', t, '', undefined, minutesAgo(5))],
        [TOPICS.usage, used(t, minutesAgo(1), { outcome: 'rejected', rejection: 'expired' })],
      ],
      miss: (t) => [
        [TOPICS.lifecycle, lifecycle('issued', t, '', undefined, minutesAgo(5))],
        [TOPICS.usage, used(t, minutesAgo(10))],
      ],
    },
    {
      rule: 'new-network',
      fire: (t) => [
        ...Array.from(
          { length: 5 },
          (_, i) => [TOPICS.usage, used(t, minutesAgo(20 - i))] as [string, EventEnvelope],
        ),
        [TOPICS.usage, used(t, minutesAgo(1), { ip: '203.0.113.9' })],
      ],
      miss: (t) => [
        ...Array.from(
          { length: 5 },
          (_, i) => [TOPICS.usage, used(t, minutesAgo(20 - i))] as [string, EventEnvelope],
        ),
        [TOPICS.usage, used(t, minutesAgo(1), { ip: '10.1.2.200' })],
      ],
    },
    {
      rule: 'rate-spike',
      fire: (t) => [
        ...Array.from({ length: 10 }, (_, m) =>
          Array.from(
            { length: 4 },
            (_, i) =>
              [
                TOPICS.usage,
                used(t, new Date(Date.now() - (12 - m) * 60_000 + i * 1000).toISOString()),
              ] as [string, EventEnvelope],
          ),
        ).flat(),
        ...Array.from(
          { length: 45 },
          (_, i) =>
            [TOPICS.usage, used(t, new Date(previousMinute() + i * 1000).toISOString())] as [
              string,
              EventEnvelope,
            ],
        ),
      ],
      miss: (t) =>
        Array.from({ length: 10 }, (_, m) =>
          Array.from(
            { length: 4 },
            (_, i) =>
              [
                TOPICS.usage,
                used(t, new Date(Date.now() - (12 - m) * 60_000 + i * 1000).toISOString()),
              ] as [string, EventEnvelope],
          ),
        ).flat(),
    },
    {
      rule: 'scope-probing',
      fire: (t) =>
        Array.from(
          { length: 5 },
          (_, i) =>
            [
              TOPICS.usage,
              used(t, minutesAgo(5 - i / 2), {
                outcome: 'rejected',
                rejection: 'insufficient-scope',
              }),
            ] as [string, EventEnvelope],
        ),
      miss: (t) =>
        Array.from(
          { length: 4 },
          (_, i) =>
            [
              TOPICS.usage,
              used(t, minutesAgo(5 - i / 2), {
                outcome: 'rejected',
                rejection: 'insufficient-scope',
              }),
            ] as [string, EventEnvelope],
        ),
    },
    {
      rule: 'impossible-travel',
      fire: (t) => [
        [TOPICS.usage, used(t, minutesAgo(30), { country: 'DE' })],
        [TOPICS.usage, used(t, minutesAgo(1), { country: 'BR' })],
      ],
      miss: (t) => [
        [TOPICS.usage, used(t, minutesAgo(180), { country: 'DE' })],
        [TOPICS.usage, used(t, minutesAgo(1), { country: 'BR' })],
      ],
    },
    {
      rule: 'dpop-mismatch',
      fire: (t) => [
        [
          TOPICS.lifecycle,
          lifecycle('issued', t, '', 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'),
        ],
        // DPoP facts count only from introspection (the revocation app's source).
        [TOPICS.usage, used(t, minutesAgo(1), { dpopJkt: 'A'.repeat(43) }, INTROSPECTION)],
      ],
      miss: (t) => [
        [
          TOPICS.lifecycle,
          lifecycle('issued', t, '', 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'),
        ],
        [
          TOPICS.usage,
          used(
            t,
            minutesAgo(1),
            { dpopJkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' },
            INTROSPECTION,
          ),
        ],
      ],
    },
  ];

  it.each(cases.map((c) => [c.rule, c] as const))(
    '%s: fires on its records, not on the near miss',
    async (_name, c) => {
      for (const [variant, build] of [
        ['fire', c.fire],
        ['miss', c.miss],
      ] as const) {
        const tokenId = uuidv7();
        const records = build(tokenId);
        // Lifecycle first, then usage, each in order (one key -> one partition per topic).
        for (const topic of [TOPICS.lifecycle, TOPICS.usage]) {
          const events = records.filter(([t]) => t === topic).map(([, e]) => e);
          if (events.length > 0) await produce(topic, events);
        }
        const last = records[records.length - 1]?.[1];
        if (!last) throw new Error('no records');
        const rules = await rulesFor(tokenId, last.id);
        if (variant === 'fire')
          expect([c.rule, rules]).toEqual([c.rule, expect.arrayContaining([c.rule])]);
        else expect([c.rule, rules]).toEqual([c.rule, expect.not.arrayContaining([c.rule])]);
      }
    },
  );

  it('dormant-reactivation and leaked: through real records too', async () => {
    // Raw Kafka records may carry any event time (the 24 h limit is the HTTP intake's).
    const t = uuidv7();
    const late = used(t, minutesAgo(1));
    await produce(TOPICS.usage, [used(t, minutesAgo(31 * 1440)), late]);
    expect(await rulesFor(t, late.id)).toContain('dormant-reactivation');
    const near = uuidv7();
    const soon = used(near, minutesAgo(1));
    await produce(TOPICS.usage, [used(near, minutesAgo(29 * 1440)), soon]);
    expect(await rulesFor(near, soon.id)).not.toContain('dormant-reactivation');

    const leakedToken = uuidv7();
    const leak = buildEvent({
      type: 'tokenledger.token.leak-reported.v1',
      source: '/tokenledger/test',
      actor: 'system',
      data: { tokenId: leakedToken, prefix: 'tlk_live_Test', source: 'github', outcome: 'revoked' },
    });
    await produce(TOPICS.lifecycle, [leak]);
    expect(await rulesFor(leakedToken, leak.id)).toEqual(['leaked']);
  });

  it('rules: invalid changes are refused with 400 and change nothing; valid ones are recorded in ops.audit', async () => {
    const before = (await (
      await fetch(anomalyUrl('/v1/anomaly-rules'), { headers: auth() })
    ).json()) as { rules: Array<{ rule: string; params: Record<string, unknown> }> };
    const bad = await fetch(anomalyUrl('/v1/anomaly-rules/scope-probing'), {
      method: 'PUT',
      headers: auth(),
      body: JSON.stringify({ params: { threshold: -3 } }),
    });
    expect(bad.status).toBe(400);
    expect(
      (
        await fetch(anomalyUrl('/v1/anomaly-rules/no-such-rule'), {
          method: 'PUT',
          headers: auth(),
          body: '{}',
        })
      ).status,
    ).toBe(400);
    const after = (await (
      await fetch(anomalyUrl('/v1/anomaly-rules'), { headers: auth() })
    ).json()) as typeof before;
    expect(after.rules.find((r) => r.rule === 'scope-probing')).toEqual(
      before.rules.find((r) => r.rule === 'scope-probing'),
    );
    const audit = await readTopic(
      topicName(TOPICS.opsAudit, prefix),
      (r) => r.some((x) => x.value?.includes('anomaly-rule.impossible-travel')),
      10_000,
    );
    const change = audit
      .map((r) => decodeEvent(r.value ?? Buffer.alloc(0)))
      .find((d) => d.ok && d.event.type === 'tokenledger.ops.policy-changed.v1');
    expect(change?.ok && change.event.actor).toMatch(/^operator:/);
  });

  /** A `usage:report` operator token of `owner`'s service, known to the anomaly app. */
  async function reporterFor(owner: string): Promise<Record<string, string>> {
    const res = await fetch(`${system.apps.issuance.url}/v1/tokens`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({
        owner: { type: 'service', id: owner },
        name: `${owner}-usage-reporter`,
        scopes: ['usage:report'],
        ttlSeconds: 3600,
      }),
    });
    expect(res.status).toBe(201);
    const { token } = (await res.json()) as { token: string };
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    await eventually(
      async () =>
        (await fetch(anomalyUrl('/v1/whoami'), { headers })).status === 200 ? true : undefined,
      20_000,
      'the reporter token known',
    );
    return headers;
  }

  /** A token of `owner` and a way to ask whether it is active. */
  async function victimToken(
    owner: string,
    name: string,
  ): Promise<{ tokenId: string; active: () => Promise<boolean> }> {
    const issued = (await (
      await fetch(`${system.apps.issuance.url}/v1/tokens`, {
        method: 'POST',
        headers: auth(),
        body: JSON.stringify({
          owner: { type: 'service', id: owner },
          name,
          scopes: ['things:read'],
          ttlSeconds: 3600,
        }),
      })
    ).json()) as { token: string; tokenId: string };
    const active = async (): Promise<boolean> =>
      (
        (await (
          await fetch(`${system.apps.revocation.url}/v1/introspect`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${system.rootToken}`,
              'content-type': 'application/x-www-form-urlencoded',
            },
            body: new URLSearchParams({ token: issued.token }).toString(),
          })
        ).json()) as { active: boolean }
      ).active;
    await eventually(async () => ((await active()) ? true : undefined), 10_000, 'active');
    return { tokenId: issued.tokenId, active };
  }

  /** Four uses a minute from Germany for ten minutes, then 45 uses in one minute from Brazil. */
  function normalThenAttack(tokenId: string): { normal: object[]; attack: object[] } {
    const use = (ip: string, country: string, at: number) => ({
      tokenId,
      service: 'gateway',
      operation: 'GET /v1/things',
      ip,
      country,
      scopesRequested: ['things:read'],
      outcome: 'accepted',
      at: new Date(at).toISOString(),
    });
    const now = Date.now();
    const normal = Array.from({ length: 10 }, (_, m) =>
      Array.from({ length: 4 }, (_, i) =>
        use('10.9.8.7', 'DE', now - (12 - m) * 60_000 + i * 1000),
      ),
    ).flat();
    // Inside one (the previous, complete) minute: 10x the learned 4 per minute.
    const minute = Math.floor(now / 60_000) * 60_000 - 60_000;
    const attack = Array.from({ length: 45 }, (_, i) =>
      use('198.51.100.7', 'BR', minute + i * 1000),
    );
    return { normal, attack };
  }

  it("a usage report from another owner's service cannot trigger an automatic revoke: the finding is an alert, the token stays active", async () => {
    const victim = await victimToken('payments', 'payments-api');
    // Another team's reporter (and the root token, which no service owns) report an attack.
    const other = await reporterFor('marketing');
    const { normal, attack } = normalThenAttack(victim.tokenId);
    for (const [headers, events] of [
      [other, normal],
      [auth(), attack],
    ] as const) {
      const res = await fetch(anomalyUrl('/v1/usage'), {
        method: 'POST',
        headers,
        body: JSON.stringify({ events }),
      });
      expect(res.status).toBe(202);
    }
    const found = await eventually(
      async () => {
        const f = await findings(victim.tokenId);
        return f.some((x) => x.rule === 'impossible-travel') ? f : undefined;
      },
      15_000,
      'the impossible-travel finding',
    );
    const travel = found.find((x) => x.rule === 'impossible-travel');
    expect(travel).toMatchObject({ action: 'alert' });
    expect(travel?.summary).toMatch(
      /revoke withheld: reported by .+, not by the token owner's service/,
    );
    // The same attack reported by the owner's own service is acted on (next test); this one is not.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await victim.active()).toBe(true);
  });

  it("a use processed before its token's token.issued: the revoke waits for the owner, and is requested then only when the reporter is the owner's service", async () => {
    const owned = uuidv7();
    const foreign = uuidv7();
    const start = previousMinute();
    // Reported by the service late-owner (an SDK reporter's source), FR then NZ 30 s later.
    const travel = (tokenId: string): EventEnvelope[] => [
      used(
        tokenId,
        new Date(start).toISOString(),
        { ip: '192.0.2.10', country: 'FR' },
        '/services/late-owner',
      ),
      used(
        tokenId,
        new Date(start + 30_000).toISOString(),
        { ip: '203.0.113.10', country: 'NZ' },
        '/services/late-owner',
      ),
    ];
    await produce(TOPICS.usage, [...travel(owned), ...travel(foreign)]);
    const pending = async (tokenId: string): Promise<Anomaly> =>
      eventually(
        async () => {
          const f = (await findings(tokenId)).find((x) => x.rule === 'impossible-travel');
          return f?.summary.includes('revoke pending') ? f : undefined;
        },
        20_000,
        'the pending impossible-travel finding',
      );
    const [ownedFinding, foreignFinding] = [await pending(owned), await pending(foreign)];
    expect(ownedFinding.action).toBe('alert');
    const requests = async (): Promise<Array<{ tokenId: string; anomalyId?: string }>> =>
      (await readTopic(topicName(TOPICS.commands, prefix), () => false, 3000)).flatMap((r) => {
        const d = r.value ? decodeEvent(r.value) : undefined;
        return d?.ok && d.event.type === 'tokenledger.token.revoke-requested.v1'
          ? [d.event.data as { tokenId: string; anomalyId?: string }]
          : [];
      });
    expect((await requests()).filter((r) => r.tokenId === owned)).toEqual([]);

    // Their token.issued arrive: one owned by late-owner, the other by someone else.
    const now = new Date().toISOString();
    await produce(TOPICS.lifecycle, [
      lifecycle('issued', owned, now, undefined, undefined, 'late-owner'),
      lifecycle('issued', foreign, now, undefined, undefined, 'someone-else'),
    ]);
    const requested = await eventually(
      async () => {
        const r = await requests();
        return r.some((x) => x.tokenId === owned) ? r : undefined;
      },
      20_000,
      'the revoke request of the owned token',
    );
    expect(requested.filter((r) => r.tokenId === owned)).toEqual([
      expect.objectContaining({ tokenId: owned, anomalyId: ownedFinding.id }),
    ]);
    expect(requested.filter((r) => r.tokenId === foreign)).toEqual([]);
    expect(foreignFinding.action).toBe('alert');
  });

  it('attack: normal use, then a new country at 10x the rate -> anomaly -> revoke-requested -> revoked (anomaly) -> inactive; causation visible in the ledger', async () => {
    // The uses are reported by the victim's own service: only such reports may revoke.
    const reporter = await reporterFor('victim');
    const latencies: number[] = [];
    let lastToken: { tokenId: string } | undefined;
    for (let run = 0; run < 3; run += 1) {
      const issued = await victimToken('victim', `victim-${run}`);
      lastToken = issued;
      const { normal, attack } = normalThenAttack(issued.tokenId);
      const report = async (events: object[]): Promise<number> =>
        (
          await fetch(anomalyUrl('/v1/usage'), {
            method: 'POST',
            headers: reporter,
            body: JSON.stringify({ events }),
          })
        ).status;
      expect(await report(normal)).toBe(202);
      const attackAt = Date.now();
      expect(await report(attack)).toBe(202);
      await eventually(
        async () => ((await issued.active()) ? undefined : true),
        20_000,
        'the attacked token to be revoked',
      );
      latencies.push(Date.now() - attackAt);
      const found = await eventually(
        async () => {
          const f = (await findings(issued.tokenId)).map((x) => x.rule);
          return f.includes('rate-spike') ? f : undefined;
        },
        10_000,
        'all findings',
      );
      expect(found).toEqual(
        expect.arrayContaining(['impossible-travel', 'rate-spike', 'new-network']),
      );
    }
    process.stdout.write(
      `first bad use -> inactive (ms), ${latencies.length} runs: ${latencies.join(', ')}\n`,
    );

    const tokenId = lastToken?.tokenId ?? '';
    const timeline = await eventually(
      async () => {
        const res = await fetch(`${system.apps.ledger.url}/v1/ledger/tokens/${tokenId}/timeline`, {
          headers: auth(),
        });
        const body = (await res.json()) as {
          entries: Array<{ record: { event?: EventEnvelope } }>;
        };
        const events = body.entries.flatMap((e) => (e.record.event ? [e.record.event] : []));
        // The ledger appends each topic on its own consumer, so the revocation can land before
        // the finding that caused it: wait for the whole causation chain, then check its links.
        const byId = new Map(events.map((e) => [e.id, e]));
        const revoked = events.find((e) => e.type === 'tokenledger.token.revoked.v1');
        const command = revoked?.causationid ? byId.get(revoked.causationid) : undefined;
        const anomaly = command?.causationid ? byId.get(command.causationid) : undefined;
        const use = anomaly?.causationid ? byId.get(anomaly.causationid) : undefined;
        return use ? events : undefined;
      },
      15_000,
      'the revocation and its causation chain in the ledger timeline',
    );
    const revoked = timeline.find((e) => e.type === 'tokenledger.token.revoked.v1');
    expect(revoked?.data).toMatchObject({ reason: 'anomaly' });
    const command = timeline.find((e) => e.id === revoked?.causationid);
    expect(command?.type).toBe('tokenledger.token.revoke-requested.v1');
    const anomaly = timeline.find((e) => e.id === command?.causationid);
    expect(anomaly).toMatchObject({
      type: 'tokenledger.anomaly.detected.v1',
      data: { rule: 'impossible-travel', action: 'revoke' },
    });
    const use = timeline.find((e) => e.id === anomaly?.causationid);
    expect(use).toMatchObject({ type: 'tokenledger.token.used.v1', data: { country: 'BR' } });
  });

  it('replaying the same streams into a fresh anomaly database gives identical findings', async () => {
    const replayDb = await freshDatabase();
    const port = await freePort();
    // The rule changes made through the API in this suite, given to the replay up front.
    const rules = JSON.stringify({ 'impossible-travel': { action: 'revoke' } });
    // Its own consumer groups, so its own group ACLs (as an operator grants them).
    await provisionKafka(prefix, { groupPrefix: `replay-${prefix}` });
    const replay = spawnApp('anomaly', {
      ...system.env,
      DATABASE_URL: replayDb.url,
      PORT: String(port),
      KAFKA_GROUP_PREFIX: `replay-${prefix}`,
      ANOMALY_RULES: rules,
    });
    const replayUrl = (path: string): string => `http://127.0.0.1:${port}${path}`;
    try {
      const all = async (url: (p: string) => string): Promise<string[]> => {
        const res = await fetch(url('/v1/anomalies?limit=1000'), { headers: auth() });
        if (res.status !== 200) return [];
        // stale-token findings come from the wall-clock sprawl sweep, not from the streams.
        return ((await res.json()) as { anomalies: Anomaly[] }).anomalies
          .filter((a) => a.rule !== 'stale-token')
          .map((a) => `${a.id} ${a.rule} ${a.tokenId} ${a.evidence.join(',')}`)
          .sort();
      };
      const original = await all(anomalyUrl);
      expect(original.length).toBeGreaterThan(10);
      const replayed = await eventually(
        async () => {
          const r = await all(replayUrl);
          return r.length >= original.length ? r : undefined;
        },
        60_000,
        'the replay to catch up',
      );
      const missing = original.filter((x) => !replayed.includes(x));
      const extra = replayed.filter((x) => !original.includes(x));
      expect({ missing, extra }).toEqual({ missing: [], extra: [] });
    } finally {
      replay.process.kill('SIGTERM');
      await new Promise((r) => replay.process.once('exit', r));
      await replayDb.drop();
    }
  });

  it('rebuild: state and findings rebuilt from the topics equal the ones replaced, and no action is taken again', async () => {
    const snapshot = async (): Promise<string[]> => {
      const res = await fetch(anomalyUrl('/v1/anomalies?limit=1000'), { headers: auth() });
      return ((await res.json()) as { anomalies: Anomaly[] }).anomalies
        .map(
          (a) =>
            `${a.id} ${a.rule} ${a.severity} ${a.tokenId} ${a.evidence.join(',')} ${a.detectedAt}`,
        )
        .sort();
    };
    await new Promise((r) => setTimeout(r, 1000));
    const before = await snapshot();
    const commandsBefore = (await readTopic(topicName(TOPICS.commands, prefix), () => false, 3000))
      .length;
    const res = await fetch(anomalyUrl('/v1/admin/rebuild'), { method: 'POST', headers: auth() });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { findings: number }).findings).toBeGreaterThan(10);
    expect(await snapshot()).toEqual(before);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await readTopic(topicName(TOPICS.commands, prefix), () => false, 3000)).length).toBe(
      commandsBefore,
    );
  });

  it('token sprawl: JSON and CSV report of the inventory; the sweep raises one low-severity finding per stale token', async () => {
    const issued = (await (
      await fetch(`${system.apps.issuance.url}/v1/tokens`, {
        method: 'POST',
        headers: auth(),
        body: JSON.stringify({
          owner: { type: 'team', id: 'sprawl' },
          name: 'forgotten',
          scopes: ['x:y'],
          ttlSeconds: 3600,
        }),
      })
    ).json()) as { tokenId: string };
    const row = await eventually(
      async () => {
        const report = (await (
          await fetch(anomalyUrl('/v1/reports/sprawl'), { headers: auth() })
        ).json()) as {
          tokens: Array<{ tokenId: string; owner: string; neverUsed: boolean; stale: boolean }>;
        };
        return report.tokens.find((t) => t.tokenId === issued.tokenId);
      },
      10_000,
      'the token in the sprawl report',
    );
    expect(row).toMatchObject({ owner: 'team:sprawl', neverUsed: true, stale: false });
    const csv = await fetch(anomalyUrl('/v1/reports/sprawl?format=csv'), { headers: auth() });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe(
      'tokenId,prefix,owner,name,issuedAt,expiresAt,ageDays,lastUsedAt,neverUsed,pastMaxAge,unrotated,stale',
    );
    expect(lines.some((l) => l.startsWith(`${issued.tokenId},`))).toBe(true);

    expect(
      (
        await fetch(anomalyUrl('/v1/anomaly-rules/stale-token'), {
          method: 'PUT',
          headers: auth(),
          body: JSON.stringify({ params: { staleAfterDays: 0.00001 } }),
        })
      ).status,
    ).toBe(200);
    const stale = await eventually(
      async () => {
        const f = (await findings(issued.tokenId)).filter((a) => a.rule === 'stale-token');
        return f.length > 0 ? f : undefined;
      },
      10_000,
      'a stale-token finding',
    );
    await new Promise((r) => setTimeout(r, 1000)); // more sweeps run: still one finding
    expect((await findings(issued.tokenId)).filter((a) => a.rule === 'stale-token')).toEqual(stale);
    expect(stale[0]).toMatchObject({ severity: 'low', action: 'alert' });
  });
});
