import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';

/**
 * Trace context over Kafka (docs/design/tracing.md): W3C `traceparent` / `tracestate` record
 * headers, and spans named and attributed after the OpenTelemetry messaging semantic conventions
 * (`send <topic>` PRODUCER, `process <topic>` CONSUMER). Only the API is used here: without an
 * SDK started (service-host's telemetry.ts) every call is a no-op. Span attributes MUST NOT carry
 * token material: only topic, partition, offset, key (a token id) and event id.
 */
const tracer = trace.getTracer('@tokenledger/messaging');

/** The W3C headers of a trace context, as stored with an outbox row. */
export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

/** The trace context of `ctx` (default: the active one) as W3C headers; null when there is none. */
export function traceHeadersOf(ctx: Context = context.active()): TraceHeaders | null {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  const { traceparent, tracestate } = carrier;
  if (!traceparent) return null;
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

const kafkaHeaderGetter: TextMapGetter<IHeaders | undefined> = {
  keys: (headers) => Object.keys(headers ?? {}),
  get: (headers, key) => {
    const value = headers?.[key];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  },
};

/** The context whose span is the one that produced a record (ROOT_CONTEXT's when none). */
export function extractKafkaContext(headers: IHeaders | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, headers, kafkaHeaderGetter);
}

/** Writes the context's `traceparent` (and `tracestate`) into record headers. */
export function injectKafkaHeaders(ctx: Context, headers: Record<string, string>): void {
  propagation.inject(ctx, headers);
}

/**
 * Starts the PRODUCER span of one record, child of `parent` (the stored trace context of the
 * request that wrote it; a new trace when null), and writes its context into `headers`.
 */
export function startSendSpan(
  topic: string,
  record: { key: string; eventId?: string },
  parent: TraceHeaders | null,
  headers: Record<string, string>,
): Span {
  const parentContext = parent
    ? propagation.extract(ROOT_CONTEXT, parent as unknown as Record<string, string>)
    : ROOT_CONTEXT;
  const span = tracer.startSpan(
    `send ${topic}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.destination.name': topic,
        'messaging.kafka.message.key': record.key,
        ...(record.eventId ? { 'messaging.message.id': record.eventId } : {}),
      },
    },
    parentContext,
  );
  injectKafkaHeaders(trace.setSpan(parentContext, span), headers);
  return span;
}

/** Ends spans, with an error status when `error` is given. */
export function endSpans(spans: readonly Span[], error?: unknown): void {
  for (const span of spans) {
    if (error !== undefined) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
    }
    span.end();
  }
}

/** What the consumer knows of one record it processes. */
export interface ProcessedRecord {
  offset: string;
  key: Buffer | null;
  headers?: IHeaders;
}

/**
 * Runs `handle` for a batch of one partition under one CONSUMER span per record, each the child
 * of the span that sent the record (its `traceparent` header). A batch of one record is handled
 * inside its span (so logs, and events the handler writes to its outbox, join the record's
 * trace); a larger batch is handled outside any span, since it belongs to several traces.
 */
export async function processInSpans<T>(
  batch: { topic: string; partition: number; groupId: string },
  records: readonly ProcessedRecord[],
  handle: () => Promise<T>,
): Promise<T> {
  const spans = records.map((record) =>
    tracer.startSpan(
      `process ${batch.topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.destination.name': batch.topic,
          'messaging.destination.partition.id': String(batch.partition),
          'messaging.consumer.group.name': batch.groupId,
          'messaging.kafka.offset': Number(record.offset),
          ...(record.key ? { 'messaging.kafka.message.key': record.key.toString() } : {}),
          ...(records.length > 1 ? { 'messaging.batch.message_count': records.length } : {}),
        },
      },
      extractKafkaContext(record.headers),
    ),
  );
  const only = spans.length === 1 ? spans[0] : undefined;
  try {
    const result = only
      ? await context.with(trace.setSpan(context.active(), only), handle)
      : await handle();
    endSpans(spans);
    return result;
  } catch (error) {
    endSpans(spans, error);
    throw error;
  }
}

function errorMessage(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  return `${code}${String(e?.message ?? error)}`.slice(0, 200);
}
