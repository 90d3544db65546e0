import { Inject, Injectable } from '@nestjs/common';
import type { EventEnvelope } from '@tokenledger/contracts';
import { SchemaRepository, type Tx } from '@tokenledger/sql';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { DataSource } from 'typeorm';
import type { AnomalyConfig } from '../config';
import type { InventoryToken } from '../domain/sprawl';

export interface InventoryRow extends InventoryToken {
  issuedEventId: string;
}

/** Which tokens exist and when they were last used, from tokens.lifecycle and tokens.usage. */
@Injectable()
export class InventoryRepository extends SchemaRepository {
  constructor(dataSource: DataSource, @Inject(SERVICE_CONFIG) config: AnomalyConfig) {
    super(dataSource, config.DB_SCHEMA);
  }

  /** Empties the inventory (a rebuild refills it in the same transaction). */
  async deleteAll(tx: Tx): Promise<void> {
    await tx.query(`DELETE FROM ${this.s}.inventory`);
  }

  /**
   * {@link apply} for a batch, in order, with the uses folded: the latest use of each token is
   * written in one statement, flushed before any other event so that, for example, a token issued
   * and used in the same batch is inserted before its use is recorded.
   */
  async applyAll(m: Tx, events: readonly EventEnvelope[]): Promise<void> {
    const lastUse = new Map<string, string>();
    const flush = async (): Promise<void> => {
      if (lastUse.size === 0) return;
      await m.query(
        `UPDATE ${this.s}.inventory AS i SET last_used_at = GREATEST(coalesce(i.last_used_at, u.at), u.at)
         FROM unnest($1::uuid[], $2::timestamptz[]) AS u(token_id, at) WHERE i.token_id = u.token_id`,
        [[...lastUse.keys()], [...lastUse.values()]],
      );
      lastUse.clear();
    };
    for (const event of events) {
      if (event.type === 'tokenledger.token.used.v1') {
        const { tokenId, at } = event.data;
        if (!tokenId) continue;
        const seen = lastUse.get(tokenId);
        if (seen === undefined || Date.parse(at) > Date.parse(seen)) lastUse.set(tokenId, at);
        continue;
      }
      await flush();
      await this.apply(m, event);
    }
    await flush();
  }

  async apply(m: Tx, event: EventEnvelope): Promise<void> {
    switch (event.type) {
      case 'tokenledger.token.issued.v1': {
        const d = event.data;
        await m.query(
          `INSERT INTO ${this.s}.inventory (token_id, issued_event_id, prefix, owner_type, owner_id, name, issued_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
          [
            d.tokenId,
            event.id,
            d.prefix,
            d.owner.type,
            d.owner.id,
            d.name,
            d.issuedAt,
            d.expiresAt,
          ],
        );
        return;
      }
      case 'tokenledger.token.revoked.v1':
      case 'tokenledger.token.expired.v1':
        await m.query(`UPDATE ${this.s}.inventory SET status = 'inactive' WHERE token_id = $1`, [
          event.data.tokenId,
        ]);
        return;
      case 'tokenledger.token.rotated.v1':
        await m.query(`UPDATE ${this.s}.inventory SET rotated_at = $2 WHERE token_id = $1`, [
          event.data.tokenId,
          event.time,
        ]);
        return;
      case 'tokenledger.token.used.v1':
        if (event.data.tokenId) {
          await m.query(
            `UPDATE ${this.s}.inventory SET last_used_at = GREATEST(coalesce(last_used_at, $2), $2) WHERE token_id = $1`,
            [event.data.tokenId, event.data.at],
          );
        }
        return;
      default:
        return;
    }
  }

  /** A token's owner as `type:id` (e.g. `service:orders`), or undefined when not known. */
  async ownerOf(m: Tx, tokenId: string): Promise<string | undefined> {
    const [row] = await m.query<Array<{ owner: string }>>(
      `SELECT owner_type || ':' || owner_id AS owner FROM ${this.s}.inventory WHERE token_id = $1`,
      [tokenId],
    );
    return row?.owner;
  }

  async active(): Promise<InventoryRow[]> {
    const rows = await this.dataSource.query<
      Array<{
        token_id: string;
        issued_event_id: string;
        prefix: string;
        owner_type: string;
        owner_id: string;
        name: string;
        issued_at: Date;
        expires_at: Date;
        rotated_at: Date | null;
        last_used_at: Date | null;
      }>
    >(
      `SELECT * FROM ${this.s}.inventory WHERE status = 'active' AND expires_at > now() ORDER BY owner_id, token_id`,
    );
    return rows.map((r) => ({
      tokenId: r.token_id,
      issuedEventId: r.issued_event_id,
      prefix: r.prefix,
      ownerType: r.owner_type,
      ownerId: r.owner_id,
      name: r.name,
      issuedAt: r.issued_at,
      expiresAt: r.expires_at,
      rotatedAt: r.rotated_at,
      lastUsedAt: r.last_used_at,
    }));
  }

  /** Rotation-policy progress of these tokens, locked until the transaction ends. */
  async lockRotationProgress(
    m: Tx,
    tokenIds: string[],
  ): Promise<Map<string, { remindedAt: Date | null; revokeRequestedAt: Date | null }>> {
    if (tokenIds.length === 0) return new Map();
    await m.query(
      `INSERT INTO ${this.s}.rotation_progress (token_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING`,
      [tokenIds],
    );
    const rows = await m.query<
      Array<{ token_id: string; reminded_at: Date | null; revoke_requested_at: Date | null }>
    >(
      `SELECT * FROM ${this.s}.rotation_progress WHERE token_id = ANY($1::uuid[]) ORDER BY token_id FOR UPDATE`,
      [tokenIds],
    );
    return new Map(
      rows.map((r) => [
        r.token_id,
        { remindedAt: r.reminded_at, revokeRequestedAt: r.revoke_requested_at },
      ]),
    );
  }

  async saveRotationProgress(
    m: Tx,
    tokenId: string,
    p: { remindedAt: Date | null; revokeRequestedAt: Date | null },
  ): Promise<void> {
    await m.query(
      `UPDATE ${this.s}.rotation_progress SET reminded_at = $2, revoke_requested_at = $3 WHERE token_id = $1`,
      [tokenId, p.remindedAt, p.revokeRequestedAt],
    );
  }
}
