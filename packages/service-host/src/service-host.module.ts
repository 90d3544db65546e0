import {
  Module,
  RequestMethod,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule, type AuthModuleOptions } from '@tokenledger/auth';
import { MessagingModule } from '@tokenledger/messaging-nest';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import { DataSource, type MixedList } from 'typeorm';
import type { ServiceConfig } from './config';
import { HealthController } from './health';
import { ReadinessChecks } from './readiness';
import { REDACT_PATHS } from './logging';
import { requestIdOf } from './request-id';
import { MetricsController, MetricsService } from './metrics';
import { WhoAmIController } from './whoami';
import { CLOCK, HOST_PROVIDERS, ID_SOURCE, hostClock, hostIds } from './clock';
import { UnitOfWork } from '@tokenledger/sql';
import { eventSigningOf } from './event-signing';
import { shutdownTelemetry, telemetryStarted, traceFields } from './telemetry';

/** Injection token of the app's parsed config: `@Inject(SERVICE_CONFIG) config: MyAppConfig`. */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');

export interface ServiceHostOptions {
  /** Short app name: `issuance`, `revocation`, `anomaly`, `ledger`. */
  name: string;
  config: ServiceConfig;
  // TypeORM's own option types.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities?: MixedList<Function>;
  /** How this app authenticates operator tokens (see @tokenledger/auth). */
  auth: AuthModuleOptions;
  /**
   * Routes (`v1/introspect`) served without the per-request logger: hot paths whose every call is
   * recorded elsewhere (an event). The request logger (pino-http: a child logger with redaction
   * per request) was the largest share of their CPU and allocations; their errors are still
   * logged by the error filter, with the request id. A string quiets every method of the path;
   * `{ path, method: 'POST' }` one method only.
   */
  quietRoutes?: Array<string | { path: string; method: 'GET' | 'POST' }>;
}

/**
 * What every Tokenledger app has: JSON logs with token material redacted, its own PostgreSQL
 * schema (migrated before boot by its owner, never `synchronize`) reached as its login role, Kafka with the outbox relay,
 * `/health/live`, `/health/ready` and `/metrics`.
 */
@Module({})
export class ServiceHostModule implements OnApplicationShutdown {
  /** Exports the spans still buffered (a no-op with tracing off). */
  async onApplicationShutdown(): Promise<void> {
    await shutdownTelemetry();
  }

  static forRoot(options: ServiceHostOptions): DynamicModule {
    const { config } = options;
    const signing = eventSigningOf(options.name, config);
    return {
      module: ServiceHostModule,
      global: true,
      imports: [
        LoggerModule.forRoot({
          ...(options.quietRoutes?.length
            ? {
                exclude: options.quietRoutes.map((route) =>
                  typeof route === 'string'
                    ? { path: route, method: RequestMethod.ALL }
                    : { path: route.path, method: RequestMethod[route.method] },
                ),
              }
            : {}),
          pinoHttp: {
            level: config.LOG_LEVEL,
            name: options.name,
            redact: { paths: REDACT_PATHS, censor: '[redacted]' },
            // `trace_id` and `span_id` of the active span (docs/design/tracing.md).
            ...(telemetryStarted() ? { mixin: traceFields } : {}),
            genReqId: requestIdOf,
            autoLogging: {
              ignore: (req) => req.url === '/metrics' || req.url?.startsWith('/health') === true,
            },
          },
        }),
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: config.DATABASE_URL,
          schema: config.DB_SCHEMA,
          // Migrated before the app starts, by the schema's owner (createService, database.ts):
          // this connection is the app's login role, which may not change the schema.
          migrationsRun: false,
          synchronize: false,
          entities: options.entities ?? [],
          extra: { max: 10, application_name: `tokenledger-${options.name}` },
          retryAttempts: 5,
          retryDelay: 2000,
        }),
        AuthModule.forRoot(options.auth),
        MessagingModule.forRootAsync(
          {
            service: options.name,
            brokers: config.KAFKA_BROKERS,
            kafkaClient: config.KAFKA_CLIENT,
            clientId: `tokenledger-${options.name}`,
            schema: config.DB_SCHEMA,
            topicPrefix: config.TOPIC_PREFIX,
            groupPrefix: config.KAFKA_GROUP_PREFIX ?? config.TOPIC_PREFIX,
            partitions: config.TOPIC_PARTITIONS,
            clock: hostClock,
            ids: hostIds,
            ...signing,
          },
          DataSource,
          PinoLogger,
        ),
      ],
      controllers: [HealthController, MetricsController, WhoAmIController],
      providers: [
        MetricsService,
        ReadinessChecks,
        { provide: SERVICE_CONFIG, useValue: config },
        ...HOST_PROVIDERS,
      ],
      exports: [MetricsService, ReadinessChecks, SERVICE_CONFIG, CLOCK, ID_SOURCE, UnitOfWork],
    };
  }
}
