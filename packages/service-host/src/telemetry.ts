import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  metrics,
  propagation,
  trace,
  type Context,
  type Histogram,
  type Span,
} from '@opentelemetry/api';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * OpenTelemetry for every app (docs/design/tracing.md), configured only by the standard `OTEL_*`
 * variables. Off unless an OTLP endpoint is set: then no SDK is loaded and every span call in the
 * code is the API's no-op. The spans are manual (an HTTP server span per request here, Kafka
 * spans in @tokenledger/messaging): no auto-instrumentation, so the SDK may start at any point of
 * the boot, and nothing else is patched.
 */
let sdk: NodeSDK | undefined;

const ENDPOINT_VARIABLES = [
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
] as const;

type SdkModule = typeof import('@opentelemetry/sdk-node');

/**
 * Loaded only when telemetry is wanted: with it off the SDK's modules are never read. `require`
 * keeps the boot synchronous, as in the SDK's `loadKafkaLayer`.
 */
function loadSdk(): SdkModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@opentelemetry/sdk-node') as SdkModule;
}

/** Whether the environment asks for telemetry: an OTLP endpoint set and the SDK not disabled. */
export function telemetryWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return ENDPOINT_VARIABLES.some((name) => (env[name] ?? '').trim() !== '');
}

/** Whether {@link startTelemetry} started the SDK in this process. */
export function telemetryStarted(): boolean {
  return sdk !== undefined;
}

/**
 * Starts the OpenTelemetry Node SDK when {@link telemetryWanted}. Its exporters, protocol, batch
 * delays, sampler, propagators and resource come from `OTEL_*`; only the service name defaults to
 * `tokenledger-<app>` when neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES names one.
 */
export function startTelemetry(app: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (sdk || !telemetryWanted(env)) return sdk !== undefined;
  const { NodeSDK } = loadSdk();
  const named =
    (env.OTEL_SERVICE_NAME ?? '').trim() !== '' ||
    /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  sdk = new NodeSDK({
    instrumentations: [],
    ...(named ? {} : { serviceName: `tokenledger-${app}` }),
  });
  sdk.start();
  return true;
}

/** Flushes and stops the SDK (what is still buffered is exported); a no-op when it is off. */
export async function shutdownTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown().catch(() => undefined);
}

/** The active span's ids, for log lines (`trace_id`, `span_id`); empty without one. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

interface RequestTrace {
  span: Span;
  context: Context;
  startedAt: number;
}

/**
 * An HTTP SERVER span per request (semantic conventions: `<method> <route>`, http.* and url.*
 * attributes), child of the caller's W3C `traceparent` when it sends one, active while the
 * route's handler runs; and the `http.server.request.duration` histogram. The query string is
 * never recorded (it may carry credentials). Installed only when the SDK runs.
 */
export function installHttpTracing(fastify: FastifyInstance): void {
  const tracer = trace.getTracer('@tokenledger/service-host');
  const duration: Histogram = metrics
    .getMeter('@tokenledger/service-host')
    .createHistogram('http.server.request.duration', {
      unit: 's',
      description: 'Duration of HTTP server requests',
    });
  const traces = new WeakMap<FastifyRequest, RequestTrace>();
  fastify.addHook('onRequest', (request, _reply, done) => {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const route = request.routeOptions.url;
    const span = tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?', 1)[0] ?? '',
          'url.scheme': request.protocol,
          ...(route ? { 'http.route': route } : {}),
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    traces.set(request, { span, context: active, startedAt: performance.now() });
    context.with(active, done);
  });
  // Body parsing resumes on the socket's own async context: the handler is entered from here.
  fastify.addHook('preHandler', (request, _reply, done) => {
    const entry = traces.get(request);
    if (entry) context.with(entry.context, done);
    else done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const entry = traces.get(request);
    if (entry) {
      const status = reply.statusCode;
      entry.span.setAttribute('http.response.status_code', status);
      if (status >= 500) entry.span.setStatus({ code: SpanStatusCode.ERROR });
      entry.span.end();
      const route = request.routeOptions.url;
      duration.record((performance.now() - entry.startedAt) / 1000, {
        'http.request.method': request.method,
        'http.response.status_code': status,
        ...(route ? { 'http.route': route } : {}),
      });
    }
    done();
  });
}
