import type { IncomingMessage } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { INTERNAL_SECRET_HEADER } from '@tokenledger/auth';
import {
  BatchTransport,
  KafkaConnection,
  connectBatchTransport,
} from '@tokenledger/messaging-nest';
import { Logger } from 'nestjs-pino';
import pino from 'pino';
import type { z } from 'zod';
import { ConfigError, loadConfig, type ServiceConfig } from './config';
import { DatabaseNotReadyError, prepareDatabase, type AppDatabase } from './database';
import { HttpErrorFilter } from './errors';
import { installBodyParsers } from './body-parsers';
import { ErrorResponder } from './problem';
import { errorComponents } from './route-docs';
import { REDACT_PATHS } from './logging';
import { MetricsService } from './metrics';
import { installRateLimit } from './rate-limit';
import { installRouteBodyLimits } from './body-limit';
import { requestIdOf } from './request-id';
import { armShutdownDeadline } from './shutdown-deadline';
import { installHttpTracing, startTelemetry, telemetryStarted, traceFields } from './telemetry';

export interface RunServiceOptions {
  name: string;
  description: string;
  version?: string;
  config: ServiceConfig;
  /** The app's migrations and its login role's grants (see {@link prepareDatabase}). */
  database: AppDatabase;
  appModule: unknown;
  /** Domain error code -> HTTP status, for the error filter. */
  domainStatus?: Record<string, number>;
  /** Routes whose errors are RFC 6749 §5.2 bodies (RFC 7662, RFC 7009), not problem details. */
  oauthPaths?: readonly string[];
}

/** The database step of the boot, logged as JSON lines like the app's own (Nest is not up yet). */
function migrate(options: {
  name: string;
  config: ServiceConfig;
  database: AppDatabase;
}): Promise<void> {
  const log = pino({
    name: options.name,
    level: options.config.LOG_LEVEL,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(telemetryStarted() ? { mixin: traceFields } : {}),
  });
  return prepareDatabase(options.config, options.database, {
    info: (message) => log.info(message),
    warn: (message) => log.warn(message),
  });
}

/**
 * Nest on Fastify: its radix-tree router and body parsing cost a fraction of Express's per
 * request (bench/RESULTS.md, introspection). JSON bodies use Fastify's parser (prototype
 * poisoning refused), forms node:querystring; both capped at HTTP_BODY_LIMIT, or at a route's
 * own `BodyLimit` (body-limit.ts).
 */
export async function createService(options: RunServiceOptions): Promise<NestFastifyApplication> {
  const { config } = options;
  await migrate(options);
  const bodyLimit = config.HTTP_BODY_LIMIT;
  const adapter = new FastifyAdapter({
    bodyLimit,
    // A request that is not complete 30 s after it began gets 408 and its connection closed
    // (Fastify's default is no limit: a slow client could hold a connection forever). Node
    // checks every 30 s, so the close comes later (88 s for a stalled body, tried by hand).
    // Responses (the NDJSON export) are not limited.
    requestTimeout: 30_000,
    // `/v1/tokens/` is `/v1/tokens`, as it was with Express.
    routerOptions: { ignoreTrailingSlash: true },
    // The request id is fixed before anything can fail (body parsing included), on the raw
    // request too, where the request logger (pino-http) reads it.
    genReqId: (req: IncomingMessage) => {
      const id = requestIdOf(req);
      (req as { id?: string }).id = id;
      return id;
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    options.appModule as never,
    adapter,
    { bufferLogs: true, bodyParser: false },
  );
  const logger = app.get(Logger);
  app.useLogger(logger);
  const fastify = app.getHttpAdapter().getInstance();
  // First, so that the request's span is active in every later hook and in the handler.
  if (telemetryStarted()) installHttpTracing(fastify);
  installBodyParsers(fastify, bodyLimit);
  installRouteBodyLimits(fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  const metrics = app.get(MetricsService);
  metrics.observe(fastify);
  const rateLimited = metrics.counter(
    'tokenledger_rate_limited_total',
    'Requests refused with 429, by the limit they exceeded (ip or principal)',
    ['limit'],
  );
  const errors = new ErrorResponder(options.oauthPaths);
  installRateLimit(fastify, {
    errors,
    perIp: config.RATE_LIMIT_PER_IP,
    perPrincipal: config.RATE_LIMIT_PER_PRINCIPAL,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    maxKeys: 100_000,
    internalSecret: config.TOKENLEDGER_INTERNAL_SECRET,
    internalHeader: INTERNAL_SECRET_HEADER,
    onLimited: (limit) => rateLimited.inc({ limit }),
  });
  // A hybrid application: HTTP, and the app's Kafka consumers as the `@EventPattern` handlers of
  // its controllers (see BatchTransport). Exception filters for HTTP do not apply to them; their
  // own filter hands the handler's error to the consumer unchanged (retry or dead-letter).
  const connection = app.get(KafkaConnection);
  // Readiness waits for these consumers to catch up with Kafka (docs/design/freshness.md).
  connection.expectConsumers();
  connectBatchTransport(
    app,
    new BatchTransport({
      connection,
      resolve: (token) => app.get(token),
      onLag: (topic, partition, lag) =>
        metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
      onDeadLetter: ({ topic, code }, consumer) =>
        metrics.deadLetters.inc({ consumer, topic, code }),
      onHandlerFailure: ({ topic, retryable }, consumer) =>
        metrics.handlerFailures.inc({ consumer, topic, retryable: String(retryable) }),
    }),
  );
  app.useGlobalFilters(
    new HttpErrorFilter({
      ...(options.domainStatus ? { domainStatus: options.domainStatus } : {}),
      ...(options.oauthPaths ? { oauthPaths: options.oauthPaths } : {}),
      onUnexpected: (error, requestId) =>
        logger.error({ err: error, requestId }, 'unexpected error'),
    }),
  );
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(`Tokenledger ${options.name}`)
      .setDescription(options.description)
      .setVersion(options.version ?? '0.1.0')
      // 3.1: its schemas are JSON Schema 2020-12, what zod emits for the routes' schemas.
      .setOpenAPIVersion('3.1.0')
      .addBearerAuth({
        type: 'http',
        scheme: 'bearer',
        description: 'An operator token issued by Tokenledger',
      })
      .build(),
  );
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...errorComponents() },
  };
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
  });
  return app;
}

/** Boots an app, listens, and logs one line with its URL. Exits with a clear message on bad config. */
export async function runService(options: RunServiceOptions): Promise<INestApplication> {
  const app = await createService(options);
  const host = options.config.HOST;
  await app.listen(options.config.PORT, host);
  // After listen, so every onApplicationBootstrap hook has run before the first batch; consumers
  // connect in the background (readiness reports Kafka down until then).
  await app.startAllMicroservices();
  // Nest's shutdown hooks close the server, the consumers and the producers; if one of them never
  // finishes, the process must still end. Everything in flight is safe to lose that way: the
  // outbox republishes, consumers resume from their stored offsets.
  const deadline = options.config.SHUTDOWN_TIMEOUT_MS;
  armShutdownDeadline(process, deadline, (signal) => {
    app
      .get(Logger)
      .error(
        `${options.name}: shutdown did not finish within ${deadline} ms after ${signal}; exiting`,
      );
    process.exit(1);
  });
  app
    .get(Logger)
    .log(`${options.name} listening on http://${host}:${options.config.PORT} (docs at /docs)`);
  return app;
}

/** For `main().catch(exitOnBootError)`: a clear one-paragraph message, then exit code 1. */
export function exitOnBootError(error: unknown): never {
  const message =
    error instanceof Error
      ? error instanceof ConfigError || error instanceof DatabaseNotReadyError
        ? error.message
        : (error.stack ?? error.message)
      : String(error);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/**
 * The whole `main.ts` of an app: parse the environment with `configSchema` (exit 1 naming every
 * bad variable), build the root module from the typed config, listen.
 */
export function serviceMain<C extends ServiceConfig>(options: {
  name: string;
  description: string;
  configSchema: z.ZodType<C>;
  database: AppDatabase;
  appModule: (config: C) => unknown;
  domainStatus?: Record<string, number>;
  oauthPaths?: readonly string[];
}): void {
  const start = async (): Promise<void> => {
    const config = loadConfig(options.name, options.configSchema);
    if (config.DB_MIGRATE === 'only') {
      await migrate({ ...options, config });
      return;
    }
    // Before the app module is built: its loggers add trace ids only when tracing is on.
    startTelemetry(options.name);
    await runService({ ...options, config, appModule: options.appModule(config) });
  };
  start().catch(exitOnBootError);
}
