import { metrics, propagation, trace } from '@opentelemetry/api';
import { shutdownTelemetry, startTelemetry, telemetryStarted, telemetryWanted } from './telemetry';

// OpenTelemetry is off unless an OTLP endpoint is set, and off whenever OTEL_SDK_DISABLED=true.
// "Off" is observable: startTelemetry starts nothing and a span from the global API does not
// record. "On" starts the real Node SDK; the process environment it reads (NodeSDK takes its
// exporters from process.env, not from startTelemetry's env) selects the console span exporter
// and no metrics or logs exporter, and no span is ended: nothing is exported, nothing goes on the
// network.

const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };

/** Whether a span started now, through the global API as the apps start theirs, records. */
function spanRecords(): boolean {
  const span = trace.getTracer('telemetry.spec').startSpan('probe');
  return span.isRecording();
}

describe('telemetryWanted', () => {
  it('is false when no OTEL_* variable is set, or only ones that name no endpoint', () => {
    expect(telemetryWanted({})).toBe(false);
    expect(telemetryWanted({ PATH: '/usr/bin' })).toBe(false);
    expect(telemetryWanted({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
    expect(telemetryWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBe(false);
  });

  it('is true when any OTLP endpoint variable is set', () => {
    for (const name of [
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
    ])
      expect([name, telemetryWanted({ [name]: 'http://collector:4318' })]).toEqual([name, true]);
  });

  it('is false with OTEL_SDK_DISABLED=true (any case), even with an endpoint; other values do not disable', () => {
    expect(telemetryWanted({ ...ENDPOINT, OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(telemetryWanted({ ...ENDPOINT, OTEL_SDK_DISABLED: ' TRUE ' })).toBe(false);
    expect(telemetryWanted({ ...ENDPOINT, OTEL_SDK_DISABLED: 'false' })).toBe(true);
    expect(telemetryWanted({ ...ENDPOINT, OTEL_SDK_DISABLED: '' })).toBe(true);
  });
});

describe('startTelemetry', () => {
  const saved = { ...process.env };

  beforeEach(() => {
    for (const name of Object.keys(process.env))
      if (name.startsWith('OTEL_')) delete process.env[name];
    Object.assign(process.env, {
      OTEL_TRACES_EXPORTER: 'console',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    });
  });

  afterEach(async () => {
    await shutdownTelemetry();
    // The SDK registered itself as the global provider: back to the API's no-ops.
    trace.disable();
    metrics.disable();
    propagation.disable();
    process.env = { ...saved };
  });

  it('starts nothing when no OTEL_* variable is set: spans are the no-op API', () => {
    expect(startTelemetry('ledger', {})).toBe(false);
    expect(telemetryStarted()).toBe(false);
    expect(spanRecords()).toBe(false);
  });

  it('starts nothing with OTEL_SDK_DISABLED=true, even with an endpoint set', () => {
    expect(startTelemetry('ledger', { ...ENDPOINT, OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(telemetryStarted()).toBe(false);
    expect(spanRecords()).toBe(false);
  });

  it('starts the SDK when an endpoint is set: spans record, once; shutdown turns it off', async () => {
    expect(spanRecords()).toBe(false);
    expect(startTelemetry('ledger', ENDPOINT)).toBe(true);
    expect(telemetryStarted()).toBe(true);
    const span = trace.getTracer('telemetry.spec').startSpan('probe');
    expect(span.isRecording()).toBe(true);
    expect(span.spanContext().traceId).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
    // The service name defaults to tokenledger-<app>.
    expect(
      (span as unknown as { resource: { attributes: Record<string, unknown> } }).resource
        .attributes,
    ).toMatchObject({
      'service.name': 'tokenledger-ledger',
    });
    // A second start keeps the running SDK.
    expect(startTelemetry('other', ENDPOINT)).toBe(true);
    await shutdownTelemetry();
    expect(telemetryStarted()).toBe(false);
  });
});
