import { Injectable } from '@nestjs/common';

/** What an app-specific readiness check says: `degraded` keeps the app in service, with a reason. */
export interface ReadinessReport {
  readonly status: 'ok' | 'degraded';
  /** Why it is degraded; MUST NOT contain secrets or token material (it is served unauthenticated). */
  readonly reason?: string;
}

/**
 * App-specific readiness checks, registered by name (`witnesses`). `/health/ready` adds each to
 * its checks. A degraded check does not make the app unready (HTTP 200, `status: "degraded"`): it
 * still serves correctly, but an operator must look. Checks MUST be cheap and synchronous (they
 * report state kept by the app, never do I/O).
 */
@Injectable()
export class ReadinessChecks {
  private readonly checks = new Map<string, () => ReadinessReport>();

  register(name: string, check: () => ReadinessReport): void {
    this.checks.set(name, check);
  }

  run(): Array<[string, ReadinessReport]> {
    return [...this.checks].map(([name, check]) => [name, check()]);
  }
}
