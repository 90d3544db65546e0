import type { CreditSpend } from '../repositories/limits.repository';

/** Spends up to `k` credits of one token in one durable, atomic statement. */
export type SpendFn = (tokenId: string, k: number, now: number) => Promise<CreditSpend>;

interface Waiter {
  now: number;
  resolve: (remaining: number | undefined) => void;
  reject: (error: unknown) => void;
}

/** The uses of one token waiting on this instance, behind the statement in flight. */
interface Line {
  queued: Waiter[];
}

/**
 * Group commit for credits, in this process: concurrent uses of the same token share one spend
 * statement instead of each waiting for the previous one's row lock (issue 16 point 1).
 *
 * - A use of a token with no statement in flight on this instance is sent at once, alone (k = 1):
 *   no added latency when the token is not contended.
 * - While a statement for token T is in flight, further uses of T queue. When it settles, ONE
 *   statement spends for the queued uses at once (at most `maxBatch`; more wait for the next):
 *   it grants `least(k, available)`, and the first `granted` waiters in arrival order get the
 *   credits, the rest are refused. So the uses this instance accepts are the earliest ones, as if
 *   they had been spent one by one.
 * - A statement that fails rejects every waiter of its batch with its error; none of them
 *   counts as spent (the statement is atomic: it granted nothing). The next batch is still sent.
 * - Different tokens never wait for each other. An idle token holds no memory.
 *
 * Exactness across instances is the statement's, not this class's: `spend` MUST grant each
 * credit at most once however many instances call it at once. This class MUST NOT hand out a
 * credit the statement did not grant, and MUST NOT keep any: it holds no balance, so a stopped
 * instance strands nothing. A batch is spent as of the latest `now` among its uses (the time the
 * statement is sent, at most one statement's round trip after the earliest).
 */
export class SpendCoalescer {
  private readonly lines = new Map<string, Line>();

  constructor(
    private readonly spend: SpendFn,
    private readonly maxBatch: number,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new RangeError(`maxBatch must be a positive integer, not ${maxBatch}`);
  }

  /**
   * Spends one credit of `tokenId`. Resolves with the credits left after this use's credit (as
   * if the batch's uses had been spent one after another), or undefined when it got none.
   */
  take(tokenId: string, now: number): Promise<number | undefined> {
    return new Promise((resolve, reject) => {
      const waiter = { now, resolve, reject };
      const line = this.lines.get(tokenId);
      if (line) {
        line.queued.push(waiter);
        return;
      }
      this.lines.set(tokenId, { queued: [] });
      this.send(tokenId, [waiter]);
    });
  }

  /** Tokens with a statement in flight on this instance. */
  get inFlight(): number {
    return this.lines.size;
  }

  private send(tokenId: string, batch: Waiter[]): void {
    const now = Math.max(...batch.map((w) => w.now));
    // Called at once; a spend function that throws at once is a failed statement like any other.
    const statement = new Promise<CreditSpend>((resolve) =>
      resolve(this.spend(tokenId, batch.length, now)),
    );
    // Settling a batch and sending the next happen in one turn: a use never finds the token idle
    // while uses of it are queued.
    void statement.then(
      (result) => this.after(tokenId, () => settle(batch, result)),
      (error: unknown) => this.after(tokenId, () => batch.forEach((w) => w.reject(error))),
    );
  }

  private after(tokenId: string, settleBatch: () => void): void {
    try {
      settleBatch();
    } finally {
      this.next(tokenId);
    }
  }

  /** Sends the queued uses of `tokenId`, or forgets it when none queued. */
  private next(tokenId: string): void {
    const line = this.lines.get(tokenId);
    if (!line) return;
    if (line.queued.length === 0) {
      this.lines.delete(tokenId);
      return;
    }
    const batch = line.queued.splice(0, this.maxBatch);
    this.send(tokenId, batch);
  }
}

/** The first `granted` waiters, in arrival order, get a credit; the rest none. */
function settle(batch: readonly Waiter[], result: CreditSpend): void {
  const granted = Math.max(0, Math.min(result.granted, batch.length));
  batch.forEach((w, i) =>
    w.resolve(i < granted ? result.remaining + (granted - 1 - i) : undefined),
  );
}
