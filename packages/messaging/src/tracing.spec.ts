import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  endSpans,
  extractKafkaContext,
  processInSpans,
  startSendSpan,
  traceHeadersOf,
} from './tracing';

// W3C Trace Context §3.2 example header (https://www.w3.org/TR/trace-context/#examples-of-http-traceparent-headers).
const PARENT = {
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  tracestate: 'congo=t61rcWkgMzE',
};
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe('trace context in Kafka headers', () => {
  const exporter = new InMemorySpanExporter();
  const contextManager = new AsyncLocalStorageContextManager();

  beforeAll(() => {
    context.setGlobalContextManager(contextManager.enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
  });
  afterEach(() => exporter.reset());
  afterAll(() => {
    trace.disable();
    propagation.disable();
    context.disable();
  });

  it('a send span is the child of the stored context and its own context goes in the headers', () => {
    const headers: Record<string, string> = { 'content-type': 'application/cloudevents+json' };
    const span = startSendSpan(
      'tokens.lifecycle',
      { key: 'tok-1', eventId: 'evt-1' },
      PARENT,
      headers,
    );
    endSpans([span]);
    const [sent] = exporter.getFinishedSpans();
    expect(sent?.name).toBe('send tokens.lifecycle');
    expect(sent?.kind).toBe(SpanKind.PRODUCER);
    expect(sent?.spanContext().traceId).toBe(TRACE_ID);
    expect(sent?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(sent?.attributes).toEqual({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.destination.name': 'tokens.lifecycle',
      'messaging.kafka.message.key': 'tok-1',
      'messaging.message.id': 'evt-1',
    });
    expect(headers['content-type']).toBe('application/cloudevents+json');
    const [, traceId, spanId] = TRACEPARENT.exec(headers.traceparent ?? '') ?? [];
    expect(traceId).toBe(TRACE_ID);
    expect(spanId).toBe(sent?.spanContext().spanId);
    expect(headers.tracestate).toBe(PARENT.tracestate);
  });

  it('without a stored context a send span starts a trace of its own', () => {
    const headers: Record<string, string> = {};
    endSpans([startSendSpan('t', { key: 'k' }, null, headers)]);
    const [sent] = exporter.getFinishedSpans();
    expect(sent?.parentSpanContext).toBeUndefined();
    expect(headers.traceparent).toMatch(TRACEPARENT);
  });

  it('extracts the context from headers as kafkajs delivers them (Buffers)', () => {
    const extracted = extractKafkaContext({
      traceparent: Buffer.from(PARENT.traceparent),
      tracestate: Buffer.from(PARENT.tracestate),
    });
    const span = trace.getSpanContext(extracted);
    expect(span).toMatchObject({ traceId: TRACE_ID, spanId: '00f067aa0ba902b7', isRemote: true });
    expect(span?.traceState?.get('congo')).toBe('t61rcWkgMzE');
    expect(trace.getSpanContext(extractKafkaContext(undefined))).toBeUndefined();
    expect(trace.getSpanContext(extractKafkaContext({ traceparent: 'garbage' }))).toBeUndefined();
  });

  it('a process span per record, child of the span that sent it; one record is handled inside it', async () => {
    const headersA: Record<string, string> = {};
    const headersB: Record<string, string> = {};
    endSpans([startSendSpan('t', { key: 'a' }, PARENT, headersA)]);
    endSpans([startSendSpan('t', { key: 'b' }, null, headersB)]);
    const [sendA, sendB] = exporter.getFinishedSpans();
    exporter.reset();

    const batch = { topic: 't', partition: 3, groupId: 'g' };
    let inside: string | undefined;
    const result = await processInSpans(
      batch,
      [{ offset: '41', key: Buffer.from('a'), headers: headersA }],
      () => {
        inside = traceHeadersOf()?.traceparent;
        return Promise.resolve('done');
      },
    );
    expect(result).toBe('done');
    const [one] = exporter.getFinishedSpans();
    expect(one?.name).toBe('process t');
    expect(one?.kind).toBe(SpanKind.CONSUMER);
    expect(one?.parentSpanContext?.spanId).toBe(sendA?.spanContext().spanId);
    expect(one?.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.destination.partition.id': '3',
      'messaging.consumer.group.name': 'g',
      'messaging.kafka.offset': 41,
      'messaging.kafka.message.key': 'a',
    });
    // What the handler writes (an outbox row) continues the record's trace.
    expect(inside).toBe(`00-${TRACE_ID}-${one?.spanContext().spanId}-01`);
    exporter.reset();

    await expect(
      processInSpans(
        batch,
        [
          { offset: '1', key: null, headers: headersA },
          { offset: '2', key: null, headers: headersB },
        ],
        () => {
          inside = traceHeadersOf()?.traceparent;
          return Promise.reject(new Error('handler failed'));
        },
      ),
    ).rejects.toThrow('handler failed');
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.parentSpanContext?.spanId)).toEqual([
      sendA?.spanContext().spanId,
      sendB?.spanContext().spanId,
    ]);
    expect(spans.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR]);
    expect(spans[0]?.attributes['messaging.batch.message_count']).toBe(2);
    // A batch of several traces is handled outside any of them.
    expect(inside).toBeUndefined();
  });

  it('with no propagator registered (tracing off) nothing is injected', () => {
    propagation.disable();
    try {
      const headers: Record<string, string> = {};
      endSpans([startSendSpan('t', { key: 'k' }, PARENT, headers)]);
      expect(headers).toEqual({});
      expect(traceHeadersOf()).toBeNull();
    } finally {
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    }
  });
});
