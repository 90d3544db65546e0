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
}

interface Row {
  token_id: string;
  rate_limit: number | null;
  rate_window_seconds: number | null;
  credits_remaining: string | null;
  refill_amount: string | null;
  refill_interval_seconds: number | null;
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
   * Spends one credit, refilling first when a refill period has passed. MUST be the only way a
   * credit is spent: one conditional UPDATE, so concurrent uses on any number of instances
   * serialize on the row and a credit is never spent twice. Returns the credits left, or
   * undefined when none were left (or the token has no credit limit any more).
   */
  async spend(tokenId: string, now: number): Promise<number | undefined> {
    // The refill test reads the row being updated (not a snapshot taken before the lock), so a
    // concurrent refill already committed is seen and not repeated.
    const refill = `(t.refill_interval_seconds IS NOT NULL AND t.refilled_at + t.refill_interval_seconds * interval '1 second' <= $2)`;
    const rows = updatedRows<{ credits_remaining: string }>(
      await this.dataSource.query(
        `UPDATE ${this.s}.token_limits t SET
         credits_remaining = (CASE WHEN ${refill} THEN t.refill_amount ELSE t.credits_remaining END) - 1,
         refilled_at = CASE WHEN ${refill} THEN
           t.refilled_at + floor(extract(epoch FROM ($2 - t.refilled_at)) / t.refill_interval_seconds)
             * t.refill_interval_seconds * interval '1 second'
           ELSE t.refilled_at END
       WHERE t.token_id = $1 AND t.credits_remaining IS NOT NULL
         AND (CASE WHEN ${refill} THEN t.refill_amount ELSE t.credits_remaining END) > 0
       RETURNING t.credits_remaining`,
        [tokenId, new Date(now)],
      ),
    );
    const row = rows[0];
    return row ? Number(row.credits_remaining) : undefined;
  }
}
