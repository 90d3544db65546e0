import { DomainError } from '@tokenledger/errors';

/**
 * Bounds the issuances in progress in one instance. Past `limit`, a request is refused at once
 * (`overloaded`, retryable: HTTP 503 with Retry-After) instead of waiting in the connection
 * pool's queue, which under a sustained overload grows, with the requests' memory, without
 * bound and makes every answer late. What is admitted keeps its usual latency.
 */
export class Admission {
  private active = 0;
  private refused = 0;

  constructor(
    readonly limit: number,
    private readonly retryAfterSeconds = 1,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      this.refused += 1;
      throw new DomainError(
        'overloaded',
        `issuance is at its limit of ${this.limit} requests in progress; retry later`,
        true,
        { retryAfterSeconds: this.retryAfterSeconds },
      );
    }
    this.active += 1;
    try {
      return await work();
    } finally {
      this.active -= 1;
    }
  }

  /** Requests in progress now, and refused since the start. */
  get stats(): { active: number; refused: number } {
    return { active: this.active, refused: this.refused };
  }
}
