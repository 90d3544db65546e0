import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  eventually,
  freshDatabase,
  freshTopicPrefix,
  kafkaBrokers,
  type TestDatabase,
} from '@tokenledger/testing';
import { startSystem, type RunningSystem } from './system';

/** {@link eventually} for a synchronous check. */
const soon = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
  eventually(() => Promise.resolve(check()), timeoutMs, what);

/** One span as OTLP/HTTP JSON carries it, with the service that sent it. */
interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

const attributesOf = (list: OtlpAttribute[] | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, Object.values(value)[0]]));

/** A tiny OTLP/HTTP receiver (http/json): keeps every span and every request body. */
async function startReceiver(): Promise<{
  url: string;
  spans: ReceivedSpan[];
  bodies: Map<string, string[]>;
  server: Server;
}> {
  const spans: ReceivedSpan[] = [];
  const bodies = new Map<string, string[]>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const list = bodies.get(req.url ?? '') ?? [];
      list.push(body);
      bodies.set(req.url ?? '', list);
      if (req.url === '/v1/traces') {
        const parsed = JSON.parse(body) as {
          resourceSpans: Array<{
            resource: { attributes: OtlpAttribute[] };
            scopeSpans: Array<{
              spans: Array<
                Omit<ReceivedSpan, 'service' | 'attributes'> & { attributes?: OtlpAttribute[] }
              >;
            }>;
          }>;
        };
        for (const rs of parsed.resourceSpans) {
          const service = String(attributesOf(rs.resource.attributes)['service.name']);
          for (const ss of rs.scopeSpans)
            for (const span of ss.spans)
              spans.push({ ...span, service, attributes: attributesOf(span.attributes) });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, bodies, server };
}

/**
 * OpenTelemetry across the system (docs/design/tracing.md): the four apps export to an OTLP
 * receiver in this test; one issuance, sent with the test's own `traceparent`, gives one trace
 * from the HTTP request through the outbox and Kafka to the revocation projection, the ledger
 * append and anomaly detection, each hop the parent of the next.
 */
describe('tracing: one issuance is one trace across processes', () => {
  let db: TestDatabase;
  let system: RunningSystem;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const prefix = freshTopicPrefix();
  const lifecycle = `${prefix}tokens.lifecycle`;
  const admin = (): Record<string, string> => ({
    authorization: `Bearer ${system.rootToken}`,
    'content-type': 'application/json',
  });

  beforeAll(async () => {
    receiver = await startReceiver();
    db = await freshDatabase();
    system = await startSystem(
      {
        DATABASE_URL: db.url,
        KAFKA_BROKERS: kafkaBrokers(),
        TOPIC_PREFIX: prefix,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_METRIC_EXPORT_INTERVAL: '500',
        OTEL_LOGS_EXPORTER: 'none',
      },
      { witness: false },
    );
  }, 150_000);

  afterAll(async () => {
    await system?.stop();
    await db?.drop();
    await new Promise((resolve) => receiver?.server.close(resolve));
  }, 60_000);

  it('links the HTTP, send and process spans of one issuance into one trace', async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const res = await fetch(`${system.apps.issuance.url}/v1/tokens`, {
      method: 'POST',
      headers: { ...admin(), traceparent: `00-${traceId}-${callerSpanId}-01` },
      body: JSON.stringify({
        owner: { type: 'user', id: 'ada' },
        name: 'traced',
        scopes: ['orders:read'],
        ttlSeconds: 3600,
      }),
    });
    expect(res.status).toBe(201);
    const issued = (await res.json()) as { token: string; tokenId: string };

    const inTrace = (): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === traceId);
    const processes = await soon(
      () => {
        const found = inTrace().filter(
          (s) => s.kind === CONSUMER && s.name === `process ${lifecycle}`,
        );
        const services = new Set(found.map((s) => s.service));
        return ['revocation', 'ledger', 'anomaly'].every((a) => services.has(`tokenledger-${a}`))
          ? found
          : undefined;
      },
      30_000,
      'process spans of revocation, ledger and anomaly',
    );

    // The issuance request: a SERVER span, child of the caller's span.
    const server = inTrace().find(
      (s) =>
        s.kind === SERVER && s.service === 'tokenledger-issuance' && s.name === 'POST /v1/tokens',
    );
    expect(server).toBeDefined();
    expect(server?.parentSpanId).toBe(callerSpanId);
    expect(server?.attributes['http.response.status_code']).toBe(201);

    // Its operator token check in revocation (not cached yet) is a child of it.
    const authenticate = inTrace().find(
      (s) => s.service === 'tokenledger-revocation' && s.name === 'POST /internal/v1/authenticate',
    );
    expect(authenticate?.kind).toBe(SERVER);
    expect(authenticate?.parentSpanId).toBe(server?.spanId);

    // The relay's send span continues the request's trace (through the outbox row).
    const sends = inTrace().filter(
      (s) =>
        s.kind === PRODUCER &&
        s.service === 'tokenledger-issuance' &&
        s.name === `send ${lifecycle}`,
    );
    expect(sends.length).toBeGreaterThanOrEqual(1);
    for (const send of sends) {
      expect(send.parentSpanId).toBe(server?.spanId);
      expect(send.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': lifecycle,
        'messaging.kafka.message.key': issued.tokenId,
      });
    }

    // Each consumer's process span is a child of a send span of the issuance.
    const sendIds = new Set(sends.map((s) => s.spanId));
    for (const span of processes) {
      expect(sendIds.has(span.parentSpanId ?? '')).toBe(true);
      expect(span.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': lifecycle,
      });
    }

    // Nothing exported carries the token.
    const everything = [...receiver.bodies.values()].flat().join('\n');
    expect(everything).not.toContain(issued.token);

    // The request logger's line names the request's trace (POST /v1/tokens is a quiet route).
    const readTrace = randomBytes(16).toString('hex');
    const read = await fetch(`${system.apps.issuance.url}/v1/tokens/${issued.tokenId}`, {
      headers: { ...admin(), traceparent: `00-${readTrace}-${callerSpanId}-01` },
    });
    expect(read.status).toBe(200);
    const line = await soon(
      () =>
        system.apps.issuance.output
          .join('')
          .split('\n')
          .find((l) => l.includes(`"url":"/v1/tokens/${issued.tokenId}"`)),
      10_000,
      'the request log line',
    );
    expect(JSON.parse(line)).toMatchObject({ trace_id: readTrace, span_id: expect.any(String) });
  }, 60_000);

  it('exports the HTTP server duration metric', async () => {
    await soon(
      () =>
        (receiver.bodies.get('/v1/metrics') ?? []).some((b) =>
          b.includes('"http.server.request.duration"'),
        )
          ? true
          : undefined,
      15_000,
      'http.server.request.duration exported',
    );
  }, 30_000);
});
