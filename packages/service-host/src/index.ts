export {
  createService,
  exitOnBootError,
  runService,
  serviceMain,
  type RunServiceOptions,
} from './bootstrap';
export {
  ConfigError,
  FILE_VARIABLES,
  PASSWORD_FILE_VARIABLES,
  baseConfigSchema,
  loadConfig,
  resolveFileVariables,
  serviceConfigSchema,
  type BaseConfig,
  type ServiceConfig,
} from './config';
export { HttpErrorFilter, type HttpErrorFilterOptions } from './errors';
export {
  ErrorResponder,
  HTTP_ERROR_CODES,
  httpErrorCode,
  oauthErrorOf,
  oauthErrorSchema,
  problemOf,
  problemSchema,
} from './problem';
export { eventSigningOf, type EventSigning } from './event-signing';
export { HealthController, type ReadyBody } from './health';
export { ReadinessChecks, type ReadinessReport } from './readiness';
export { REDACT_PATHS } from './logging';
export {
  installHttpTracing,
  shutdownTelemetry,
  startTelemetry,
  telemetryStarted,
  telemetryWanted,
  traceFields,
} from './telemetry';
export { BodyLimit } from './body-limit';
export { rawBodyOf } from './raw-body';
export { TokenBuckets, installRateLimit, type RateLimitOptions } from './rate-limit';
export { MetricsService } from './metrics';
export { SERVICE_CONFIG, ServiceHostModule, type ServiceHostOptions } from './service-host.module';
export { parseInput } from './validation';
export {
  ApiRoute,
  OAUTH_ERROR_REF,
  PROBLEM_REF,
  errorComponents,
  openApiSchema,
  type RouteDoc,
  type RouteResponse,
} from './route-docs';
export { PeriodicTask } from './periodic-task';
export { decodeCursor, encodeCursor } from './cursor';
export { CLOCK, ID_SOURCE, HOST_PROVIDERS } from './clock';
export {
  DatabaseNotReadyError,
  prepareDatabase,
  type AppDatabase,
  type DatabaseLog,
} from './database';
