export {
  TokenledgerClient,
  type ClientOptions,
  type Introspection,
  type IntrospectOptions,
} from './client';
export { requireToken, type RequireTokenOptions } from './express';
export { UsageReporter, type UsageReport, type UsageReporterOptions } from './usage-reporter';
export { PROBLEM_CONTENT_TYPE, TokenledgerError, errorFromResponse, type Problem } from './errors';
