import { Inject, Injectable } from '@nestjs/common';
import type { Credits, RateLimit } from '@tokenledger/contracts';
import { SchemaRepository, type Tx } from '@tokenledger/sql';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { DataSource } from 'typeorm';
import type { RevocationConfig } from '../config';

/** pg returns [rows, count] for UPDATE ... RETURNING through TypeORM's query(). */
function updatedRows<R>(result: unknown): R[] {
  const r = result as unknown[];
  return (Array.isArray(r[0]) ? r[0] : r) as R[];
}

export interface TokenLimits {
  tokenId: string;
  rateLimit: RateLimit | null;
  credits: Credits | null;
  changedAt: Date;
  /** `last_event_id`: changes with every reset of the limits (a credit lease's version). */
  version: string;
}

interface Row {
  token_id: string;
  rate_limit: number | null;
  rate_window_seconds: number | null;
  credits_remaining: string | null;
  refill_amount: string | null;
  refill_interval_seconds: number | null;
  last_event_id: string;
  changed_at: Date;
}

function toLimits(r: Row): TokenLimits {
  return {
    tokenId: r.token_id,
    rateLimit:
      r.rate_limit !== null && r.rate_window_seconds !== null
        ? { limit: r.rate_limit, windowSeconds: r.rate_window_seconds }
        : null,
    credits:
      r.credits_remaining !== null
        ? {
            remaining: Number(r.credits_remaining),
            ...(r.refill_amount !== null && r.refill_interval_seconds !== null
              ? {
                  refill: {
                    amount: Number(r.refill_amount),
                    intervalSeconds: r.refill_interval_seconds,
                  },
                }
              : {}),
          }
        : null,
    changedAt: r.changed_at,
    version: r.last_event_id,
  };
}

/** The settings as the columns rate_limit .. refill_interval_seconds take them (null: none). */
function limitColumns(l: {
  rateLimit?: RateLimit | null;
  credits?: Credits | null;
}): (number | null)[] {
  return [
    l.rateLimit?.limit ?? null,
    l.rateLimit?.windowSeconds ?? null,
    l.credits?.remaining ?? null,
    l.credits?.refill?.amount ?? null,
    l.credits?.refill?.intervalSeconds ?? null,
  ];
}

/** The most credits one spend statement grants (the coalescer's batch bound). */
export const MAX_SPEND_PER_STATEMENT = 1000;

/** What one spend statement did: credits granted (0..k) and the balance left after it. */
export interface CreditSpend {
  granted: number;
  remaining: number;
  /**
   * Set when the token's credits may be leased (they have no refill): the version of its limits
   * (`last_event_id`, changed by every reset), which a refund of the lease checks.
   */
  leaseVersion?: string;
}

/** Per-token limits and the durable credit balance. */
@Injectable()
export class LimitsRepository extends SchemaRepository {
  constructor(dataSource: DataSource, @Inject(SERVICE_CONFIG) config: RevocationConfig) {
    super(dataSource, config.DB_SCHEMA);
  }

  async find(tokenId: string, m: Tx = this.dataSource.manager): Promise<TokenLimits | undefined> {
    const [row] = await m.query<Row[]>(`SELECT * FROM ${this.s}.token_limits WHERE token_id = $1`, [
      tokenId,
    ]);
    return row && toLimits(row);
  }

  /**
   * Sets the limits as of the change event `eventId` (a UUIDv7). A change older than the one
   * applied last changes nothing: the consumer seeing this app's own event again MUST NOT reset
   * credits spent since. Returns whether it applied.
   */
  async apply(
    m: Tx,
    l: { tokenId: string; rateLimit: RateLimit | null; credits: Credits | null; changedAt: string },
    eventId: string,
  ): Promise<boolean> {
    const rows = await m.query<unknown[]>(
      `INSERT INTO ${this.s}.token_limits AS t (token_id, rate_limit, rate_window_seconds, credits_remaining,
         refill_amount, refill_interval_seconds, refilled_at, last_event_id, changed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7)
       ON CONFLICT (token_id) DO UPDATE SET rate_limit = EXCLUDED.rate_limit,
         rate_window_seconds = EXCLUDED.rate_window_seconds, credits_remaining = EXCLUDED.credits_remaining,
         refill_amount = EXCLUDED.refill_amount, refill_interval_seconds = EXCLUDED.refill_interval_seconds,
         refilled_at = EXCLUDED.refilled_at, last_event_id = EXCLUDED.last_event_id, changed_at = EXCLUDED.changed_at
       WHERE t.last_event_id < EXCLUDED.last_event_id
       RETURNING token_id`,
      [l.tokenId, ...limitColumns(l), l.changedAt, eventId],
    );
    return rows.length === 1;
  }

  /**
   * The limits a token was issued with (its token.issued event, or issuance's record of it when
   * adopted before that event: the same values). Inserted only when the token has no row yet, so
   * neither the event coming later, nor a replay after a projection rebuild, resets credits spent
   * or undoes a PUT. Ordered as of the tokenId (a UUIDv7 minted at issue): every later
   * token.limits-changed is newer and applies over it. Returns whether it inserted.
   */
  async insertIssued(
    l: { tokenId: string; rateLimit?: RateLimit; credits?: Credits; issuedAt: string },
    m: Tx = this.dataSource.manager,
  ): Promise<boolean> {
    if (!l.rateLimit && !l.credits) return false;
    const rows = await m.query<unknown[]>(
      `INSERT INTO ${this.s}.token_limits (token_id, rate_limit, rate_window_seconds, credits_remaining,
         refill_amount, refill_interval_seconds, refilled_at, last_event_id, changed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $1, $7)
       ON CONFLICT (token_id) DO NOTHING
       RETURNING token_id`,
      [l.tokenId, ...limitColumns(l), l.issuedAt],
    );
    return rows.length === 1;
  }

  /**
   * Spends up to `k` credits of one token at once (1 <= k <= MAX_SPEND_PER_STATEMENT), refilling
   * first when a refill period has passed, and returns how many it granted, `least(k,
   * available)`, and how many are left after. MUST be the only way a credit is spent: one
   * statement that locks the row, reads the balance from the locked row (so a concurrent spend or
   * refill already committed is seen, never a snapshot taken before the lock) and writes the
   * decrement in the same statement, so concurrent spends on any number of instances serialize
   * on the row, none grants a credit another one granted, and the balance never goes below 0.
   * A statement that fails grants nothing. Grants 0 when none are left, and when the token has no
   * credit limit (any more).
   */
  async spend(tokenId: string, k: number, now: number): Promise<CreditSpend> {
    if (!Number.isInteger(k) || k < 1 || k > MAX_SPEND_PER_STATEMENT)
      throw new RangeError(
        `spend: k must be an integer in 1..${MAX_SPEND_PER_STATEMENT}, not ${k}`,
      );
    const refill = `(t.refill_interval_seconds IS NOT NULL AND t.refilled_at + t.refill_interval_seconds * interval '1 second' <= $2::timestamptz)`;
    // FOR UPDATE under READ COMMITTED (the default; this runs outside any transaction) waits for
    // a concurrent writer of the row and then reads its committed version: `cur` is the row as
    // locked, and the UPDATE of that locked row uses it. (Under REPEATABLE READ a concurrent
    // spend would fail with a serialization error instead: never an over-grant.)
    const rows = updatedRows<{
      granted: string;
      credits_remaining: string;
      lease_version: string | null;
    }>(
      await this.dataSource.query(
        `WITH cur AS (
           SELECT t.token_id,
             CASE WHEN ${refill} THEN t.refill_amount ELSE t.credits_remaining END AS available,
             CASE WHEN ${refill} THEN
               t.refilled_at + floor(extract(epoch FROM ($2::timestamptz - t.refilled_at)) / t.refill_interval_seconds)
                 * t.refill_interval_seconds * interval '1 second'
               ELSE t.refilled_at END AS refilled_at
           FROM ${this.s}.token_limits t
           WHERE t.token_id = $1 AND t.credits_remaining IS NOT NULL
           FOR UPDATE
         )
         UPDATE ${this.s}.token_limits t SET
           credits_remaining = cur.available - least($3::bigint, cur.available),
           refilled_at = cur.refilled_at
         FROM cur
         WHERE t.token_id = cur.token_id AND cur.available > 0
         RETURNING least($3::bigint, cur.available) AS granted, t.credits_remaining,
           CASE WHEN t.refill_interval_seconds IS NULL THEN t.last_event_id::text END AS lease_version`,
        [tokenId, new Date(now), k],
      ),
    );
    const row = rows[0];
    if (!row) return { granted: 0, remaining: 0 };
    const spent: CreditSpend = {
      granted: Number(row.granted),
      remaining: Number(row.credits_remaining),
    };
    if (row.lease_version !== null) spent.leaseVersion = row.lease_version;
    return spent;
  }

  /**
   * Gives back `n` credits a lease did not use (SpendCoalescer), only if the token's limits are
   * still at `version` (no reset since: a reset replaced the balance the lease came from) and
   * still have credits without a refill. One statement on the row, like spend. Returns whether
   * it gave them back.
   */
  async refund(tokenId: string, n: number, version: string): Promise<boolean> {
    if (!Number.isInteger(n) || n < 1 || n > MAX_SPEND_PER_STATEMENT)
      throw new RangeError(
        `refund: n must be an integer in 1..${MAX_SPEND_PER_STATEMENT}, not ${n}`,
      );
    const rows = updatedRows<unknown>(
      await this.dataSource.query(
        `UPDATE ${this.s}.token_limits SET credits_remaining = credits_remaining + $2
         WHERE token_id = $1 AND last_event_id = $3::uuid
           AND credits_remaining IS NOT NULL AND refill_interval_seconds IS NULL
         RETURNING token_id`,
        [tokenId, n, version],
      ),
    );
    return rows.length === 1;
  }
}
