import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, TraceFlags, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  EventVerifier,
  TOPICS,
  decodeEvent,
  signerEntry,
  signingKeyFromSeed,
  topicName,
  uuidv7,
  type BuildEventInput,
  type TokenUsedV1,
} from '@tokenledger/contracts';
import {
  eventually,
  freshTopicPrefix,
  kafkaBrokers,
  readTopic,
  testKafka,
} from '@tokenledger/testing';
import { BackgroundEventProducer, type BackgroundProducerOptions } from './background-producer';
import type { Worker } from 'node:worker_threads';
import { provisionTopics } from './topics';

type LogLine = { level: string; message: string; extra?: Record<string, unknown> };

function usage(
  tokenId: string,
  operation: string,
  overrides: Partial<TokenUsedV1> = {},
): BuildEventInput<'tokenledger.token.used.v1'> {
  return {
    type: 'tokenledger.token.used.v1',
    source: '/tokenledger/test',
    actor: 'service:spec',
    data: {
      tokenId,
      service: 'spec',
      operation,
      ip: '192.0.2.1',
      scopesRequested: [],
      outcome: 'accepted',
      at: '2026-11-28T00:00:00.000Z',
      ...overrides,
    },
  };
}

describe('BackgroundEventProducer (real Kafka, worker thread)', () => {
  let prefix: string;
  let topic: string;

  beforeAll(async () => {
    prefix = freshTopicPrefix();
    topic = topicName(TOPICS.usage, prefix);
    const admin = testKafka().admin();
    await admin.connect();
    await provisionTopics(admin, { prefix, partitions: 3 });
    await admin.disconnect();
  });

  function producer(extra: Partial<BackgroundProducerOptions> = {}): {
    producer: BackgroundEventProducer;
    logs: LogLine[];
  } {
    const logs: LogLine[] = [];
    const p = new BackgroundEventProducer({
      brokers: kafkaBrokers(),
      clientId: 'background-spec',
      topicPrefix: prefix,
      log: (level, message, more) =>
        logs.push({ level, message, ...(more ? { extra: more } : {}) }),
      ...extra,
    });
    return { producer: p, logs };
  }

  it('delivers every valid event once (also a backlog larger than one request), keyed by subject, in emit order per key; an invalid one is logged and not sent', async () => {
    const { producer: p, logs } = producer();
    const tokens = Array.from({ length: 5 }, () => uuidv7());
    const now = Date.parse('2026-11-28T10:00:00.000Z');
    // The invalid event (an IP that is not one) goes first: sent, it would come before the others.
    expect(p.emit(usage(tokens[0] ?? '', 'bad', { ip: 'not-an-ip' }), now)).toBe(true);
    // 2500 in one hand-over: the worker sends them in several requests (MAX_SEND).
    for (let i = 0; i < 2500; i++)
      expect(p.emit(usage(tokens[i % 5] ?? '', `op-${i}`), now + i)).toBe(true);
    await eventually(
      () => Promise.resolve(p.unsettled === 0 ? true : undefined),
      20_000,
      'every event acknowledged',
    );
    await p.close();

    const records = await readTopic(topic, (r) => r.length > 2500, 5000);
    expect(records).toHaveLength(2500);
    const seen = new Map<string, number>();
    for (const record of records) {
      const decoded = decodeEvent(record.value ?? Buffer.alloc(0));
      if (!decoded.ok) throw decoded.error;
      const event = decoded.event;
      if (event.type !== 'tokenledger.token.used.v1') throw new Error(`unexpected ${event.type}`);
      expect(record.key).toBe(event.subject);
      expect(event.subject).toBe(event.data.tokenId);
      const index = Number(event.data.operation.slice('op-'.length));
      expect(event.time).toBe(new Date(now + index).toISOString());
      expect(index).toBeGreaterThan(seen.get(event.subject) ?? -1);
      seen.set(event.subject, index);
    }
    expect([...seen.keys()].sort()).toEqual([...tokens].sort());
    const invalid = logs.filter((l) => l.message === 'invalid event not sent');
    expect(invalid).toEqual([
      {
        level: 'warn',
        message: 'invalid event not sent',
        extra: { type: 'tokenledger.token.used.v1', code: 'invalid-data', path: 'data.ip' },
      },
    ]);
    expect(JSON.stringify(logs)).not.toContain('not-an-ip');
  });

  it('drops events beyond maxPending and logs how many', async () => {
    const { producer: p, logs } = producer({ maxPending: 10 });
    const token = uuidv7();
    const accepted = Array.from({ length: 25 }, (_, i) => p.emit(usage(token, `op-${i}`)));
    expect(accepted.filter(Boolean)).toHaveLength(10);
    expect(accepted.slice(0, 10).every(Boolean)).toBe(true);
    await eventually(
      () => Promise.resolve(p.unsettled === 0 ? true : undefined),
      20_000,
      'the accepted events acknowledged',
    );
    expect(p.emit(usage(token, 'after'))).toBe(true);
    await p.close();
    expect(p.unsettled).toBe(0);
    expect(logs).toContainEqual({
      level: 'warn',
      message: 'background producer full or closing: events dropped',
      extra: { dropped: 15, unsettled: 10 },
    });
    expect(p.emit(usage(token, 'closed'))).toBe(false);
  });

  it('starts a new thread when its thread dies, and delivers what is emitted after', async () => {
    const { producer: p, logs } = producer();
    const token = uuidv7();
    // Test-only reach into the private thread, to kill it as a crash would.
    await (p as unknown as { worker: Worker }).worker.terminate();
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'background producer thread exited; starting a new one',
      }),
    );
    expect(p.emit(usage(token, 'after-crash'))).toBe(true);
    await eventually(
      () => Promise.resolve(p.unsettled === 0 ? true : undefined),
      20_000,
      'the event sent by the new thread',
    );
    await p.close();
    const records = await readTopic(topic, (r) => r.some((x) => x.key === token), 10_000);
    expect(records.filter((r) => r.key === token)).toHaveLength(1);
  });

  it('without a reachable broker, close() returns and reports what it could not deliver', async () => {
    const { producer: p, logs } = producer({ brokers: '127.0.0.1:1', closeTimeoutMs: 2000 });
    for (let i = 0; i < 3; i++) p.emit(usage(uuidv7(), `op-${i}`));
    await p.close();
    expect(logs).toContainEqual({
      level: 'warn',
      message: 'background producer closed with events not delivered',
      extra: { lost: 3 },
    });
  });

  it("carries the emitter's trace context in the record's headers (tracing on)", async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const { producer: p } = producer();
    try {
      const traceId = randomBytes(16).toString('hex');
      const spanId = randomBytes(8).toString('hex');
      const [traced, untraced] = [uuidv7(), uuidv7()];
      const active = trace.setSpanContext(ROOT_CONTEXT, {
        traceId,
        spanId,
        traceFlags: TraceFlags.SAMPLED,
      });
      expect(context.with(active, () => p.emit(usage(traced, 'GET /traced')))).toBe(true);
      expect(p.emit(usage(untraced, 'GET /untraced'))).toBe(true);
      const records = await readTopic(
        topic,
        (r) => [traced, untraced].every((t) => r.some((x) => x.key === t)),
        10_000,
      );
      const headersOf = (key: string) => records.find((r) => r.key === key)?.headers;
      expect(headersOf(traced)).toMatchObject({
        'content-type': 'application/cloudevents+json',
        traceparent: `00-${traceId}-${spanId}-01`,
      });
      expect(headersOf(untraced)?.traceparent).toBeUndefined();
    } finally {
      await p.close();
      propagation.disable();
      context.disable();
    }
  });
});

describe('BackgroundEventProducer with a signing key', () => {
  it('signs every event in the sending thread', async () => {
    const prefix = freshTopicPrefix();
    const topic = topicName(TOPICS.usage, prefix);
    const admin = testKafka().admin();
    await admin.connect();
    await provisionTopics(admin, { prefix, partitions: 1 });
    await admin.disconnect();
    const key = signingKeyFromSeed('background-1', randomBytes(32));
    const verifier = new EventVerifier([signerEntry(key, ['token.used'], ['/tokenledger/test'])]);
    const p = new BackgroundEventProducer({
      brokers: kafkaBrokers(),
      clientId: 'background-signed-spec',
      topicPrefix: prefix,
      signingKey: key,
    });
    const tokenId = uuidv7();
    try {
      p.emit(usage(tokenId, 'GET /a'));
      p.emit(usage(tokenId, 'GET /b'));
      await eventually(
        () => Promise.resolve(p.unsettled === 0 ? true : undefined),
        20_000,
        'both events acknowledged',
      );
    } finally {
      await p.close();
    }
    const records = await readTopic(topic, (r) => r.length >= 2);
    const checks = records.map((r) => {
      const decoded = decodeEvent(r.value ?? Buffer.alloc(0));
      if (!decoded.ok) throw decoded.error;
      return verifier.verify(decoded.value);
    });
    expect(checks).toEqual([
      { ok: true, keyId: 'background-1' },
      { ok: true, keyId: 'background-1' },
    ]);
  });
});
