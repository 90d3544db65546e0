export {
  TokenledgerClient,
  TokenledgerError,
  type ClientOptions,
  type Introspection,
  type IntrospectOptions,
} from './client';
export { requireToken, type RequireTokenOptions } from './express';
export { UsageReporter, type UsageReport, type UsageReporterOptions } from './usage-reporter';
