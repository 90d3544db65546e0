/**
 * A transport-neutral domain error: a stable `code`, whether retrying may help, and context for
 * logs (never secrets). Each edge maps it once (HTTP: service-host's HttpErrorFilter; Kafka:
 * retry vs dead letter). Domain code throws this, never a framework's HTTP exception.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
    readonly context: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
