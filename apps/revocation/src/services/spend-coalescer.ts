import type { CreditSpend } from '../repositories/limits.repository';

/** Spends up to `k` credits of one token in one durable, atomic statement. */
export type SpendFn = (tokenId: string, k: number, now: number) => Promise<CreditSpend>;

/**
 * Gives back `n` credits of a lease, if the token's limits are still those of `version` (no
 * reset since). Resolves with whether it gave them back.
 */
export type RefundFn = (tokenId: string, n: number, version: string) => Promise<boolean>;

/** Credit leases (see {@link SpendCoalescer}); without them every credit is spent on demand. */
export interface LeaseOptions {
  refund: RefundFn;
  /** The most credits a lease holds beyond the uses waiting for it; 0 turns leases off. */
  max: number;
  /** A lease is at most this share of the balance left (1000: 0.1 %). */
  divisor: number;
}

interface Waiter {
  now: number;
  resolve: (remaining: number | undefined) => void;
  reject: (error: unknown) => void;
}

/** The uses of one token on this instance: those behind the statement in flight, and its lease. */
interface Line {
  queued: Waiter[];
  /** Credits granted to this instance and not yet handed to a use. */
  leased: number;
  /** The limits version the lease was granted under (what a refund checks). */
  version: string | undefined;
  /** The balance in PostgreSQL after the last statement (what the next lease is sized by). */
  remaining: number | undefined;
  lastUse: number;
  /** Dropped while a statement was in flight: what that statement leases is not handed out. */
  discard: boolean;
  /** The statement in flight, settled once its uses are (release waits for it); none: idle. */
  flight: Promise<void> | undefined;
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
 * - Different tokens never wait for each other.
 *
 * Leases (with `lease`, only for a token whose spend says it may be leased: no refill): a
 * statement also asks for the credits that top the lease up to
 * `min(lease.max, floor(remaining / lease.divisor))`, sized by the balance the previous statement
 * left, beyond its waiting uses. The surplus it grants is this instance's lease: later uses take
 * from it without a statement, and the top-up is asked for, in the background, once half of it
 * is used. A token whose balance is small
 * (under `lease.divisor` credits) is never leased, so it is spent one statement at a time as
 * above. A lease is durable spending: its credits left PostgreSQL's balance before any use got
 * one, so a credit is still granted at most once across instances. What a lease costs: credits
 * leased and not used are not in the balance others see; `release` gives them back (at
 * shutdown, and for a token idle for a while), `drop` forgets them (the limits were reset, so
 * they no longer exist), and an instance that dies strands its leases (at most `lease.max`
 * per token, and at most 1/divisor of the balance it last saw).
 *
 * Exactness across instances is the statement's, not this class's: `spend` MUST grant each
 * credit at most once however many instances call it at once. This class MUST NOT hand out a
 * credit the statement did not grant. A batch is spent as of the latest `now` among its uses
 * (the time the statement is sent, at most one statement's round trip after the earliest).
 */
export class SpendCoalescer {
  private readonly lines = new Map<string, Line>();

  constructor(
    private readonly spend: SpendFn,
    private readonly maxBatch: number,
    private readonly lease?: LeaseOptions,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new RangeError(`maxBatch must be a positive integer, not ${maxBatch}`);
    if (lease && !(Number.isInteger(lease.max) && lease.max >= 0 && lease.divisor >= 1))
      throw new RangeError('lease.max must be an integer >= 0 and lease.divisor >= 1');
  }

  /**
   * Spends one credit of `tokenId`. Resolves with the credits left after this use's credit (as
   * if the uses had been spent one after another on this instance), or undefined when it got none.
   */
  take(tokenId: string, now: number): Promise<number | undefined> {
    let line = this.lines.get(tokenId);
    if (line && line.leased > 0) {
      line.leased -= 1;
      line.lastUse = now;
      const left = (line.remaining ?? 0) + line.leased;
      if (!line.flight && line.leased * 2 < this.leaseSize(line)) this.send(tokenId, line, []);
      return Promise.resolve(left);
    }
    return new Promise((resolve, reject) => {
      const waiter = { now, resolve, reject };
      if (!line) {
        line = {
          queued: [],
          leased: 0,
          version: undefined,
          remaining: undefined,
          lastUse: now,
          discard: false,
          flight: undefined,
        };
        this.lines.set(tokenId, line);
      }
      line.lastUse = now;
      if (line.flight) line.queued.push(waiter);
      else this.send(tokenId, line, [waiter]);
    });
  }

  /** Tokens with a statement in flight on this instance. */
  get inFlight(): number {
    let n = 0;
    for (const line of this.lines.values()) if (line.flight) n += 1;
    return n;
  }

  /** Credits this instance holds in leases, all tokens together. */
  get leased(): number {
    let n = 0;
    for (const line of this.lines.values()) n += line.leased;
    return n;
  }

  /** Forgets the lease of each token: its limits were reset, so the credits it held are gone. */
  drop(tokenIds: readonly string[]): void {
    for (const id of tokenIds) {
      const line = this.lines.get(id);
      if (!line) continue;
      line.leased = 0;
      line.version = undefined;
      line.remaining = undefined;
      if (line.flight) line.discard = true;
      else this.lines.delete(id);
    }
  }

  /** Drops the lease of `tokenId` unless it was granted under limits `version` (still current). */
  confirm(tokenId: string, version: string | undefined): void {
    const line = this.lines.get(tokenId);
    if (line?.version !== undefined && line.version !== version) this.drop([tokenId]);
  }

  /**
   * Gives back the leases of the tokens not used since `idleSince` (every lease without it), and
   * forgets those tokens. Resolves with the credits given back; a refund that fails or finds
   * the limits reset gives back nothing (the credits are then stranded, never granted twice).
   */
  async release(idleSince = Number.POSITIVE_INFINITY): Promise<number> {
    // A statement in flight may bring a lease: wait for it (a use queued meanwhile is then sent,
    // and that line is left for the next release).
    await Promise.all(
      [...this.lines.values()].flatMap((l) =>
        l.flight && l.lastUse < idleSince ? [l.flight] : [],
      ),
    );
    const refunds: Array<Promise<number>> = [];
    for (const [tokenId, line] of this.lines) {
      if (line.flight || line.lastUse >= idleSince) continue;
      this.lines.delete(tokenId);
      const { leased, version } = line;
      if (leased === 0 || !version || !this.lease) continue;
      refunds.push(
        this.lease.refund(tokenId, leased, version).then(
          (done) => (done ? leased : 0),
          () => 0,
        ),
      );
    }
    return (await Promise.all(refunds)).reduce((a, b) => a + b, 0);
  }

  private leaseSize(line: Line): number {
    if (!this.lease || line.version === undefined || line.remaining === undefined) return 0;
    return Math.min(this.lease.max, Math.floor(line.remaining / this.lease.divisor));
  }

  private send(tokenId: string, line: Line, batch: Waiter[]): void {
    const now = batch.length > 0 ? Math.max(...batch.map((w) => w.now)) : line.lastUse;
    // A lease tops up what is left to the lease size: an instance holds at most that many.
    const k = Math.min(
      this.maxBatch,
      batch.length + Math.max(0, this.leaseSize(line) - line.leased),
    );
    // Called at once; a spend function that throws at once is a failed statement like any other.
    const statement = new Promise<CreditSpend>((resolve) => resolve(this.spend(tokenId, k, now)));
    // Settling a batch and sending the next happen in one turn: a use never finds the token idle
    // while uses of it are queued.
    line.flight = statement.then(
      (result) => this.after(tokenId, line, () => this.settle(line, batch, k, result)),
      (error: unknown) => this.after(tokenId, line, () => batch.forEach((w) => w.reject(error))),
    );
  }

  /**
   * The first waiters, in arrival order, get the credits granted (never more than asked for);
   * the rest none. What is left over is this instance's lease, when the token may be leased.
   */
  private settle(line: Line, batch: readonly Waiter[], k: number, result: CreditSpend): void {
    const granted = Math.max(0, Math.min(result.granted, k));
    const served = Math.min(granted, batch.length);
    const surplus = granted - served;
    // Reset since the lease was granted: the credits it holds are gone.
    if (line.version !== undefined && result.leaseVersion !== line.version) line.leased = 0;
    line.remaining = result.remaining;
    line.version = result.leaseVersion;
    // A surplus is granted only when a lease was asked for (k > batch), so leaseVersion is set.
    // Not handed out when the token was dropped while the statement was in flight: it may be
    // from the balance before the reset (then stranded, never granted twice).
    if (surplus > 0 && result.leaseVersion !== undefined && !line.discard) line.leased += surplus;
    line.discard = false;
    const after = result.remaining + line.leased;
    batch.forEach((w, i) => w.resolve(i < served ? after + (served - 1 - i) : undefined));
  }

  private after(tokenId: string, line: Line, settleBatch: () => void): void {
    try {
      settleBatch();
    } finally {
      line.flight = undefined;
      this.next(tokenId, line);
    }
  }

  /** Serves the queued uses of `tokenId` from its lease, else sends them; forgets an idle token. */
  private next(tokenId: string, line: Line): void {
    while (line.leased > 0 && line.queued.length > 0) {
      line.leased -= 1;
      line.queued.shift()?.resolve((line.remaining ?? 0) + line.leased);
    }
    if (line.queued.length > 0) {
      this.send(tokenId, line, line.queued.splice(0, this.maxBatch));
      return;
    }
    if (line.leased === 0 && line.version === undefined) this.lines.delete(tokenId);
  }
}
