import { Inject, Injectable } from '@nestjs/common';
import type { TokenIssuedV1 } from '@tokenledger/contracts';
import { SchemaRepository, WhereBuilder, type Tx } from '@tokenledger/sql';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { DataSource } from 'typeorm';
import type { RevocationConfig } from '../config';

export interface TokenStatus {
  tokenId: string;
  prefix: string;
  owner: { type: string; id: string };
  scopes: string[];
  issuedAt: Date;
  expiresAt: Date;
  dpopJkt: string | null;
  status: 'active' | 'revoked' | 'expired';
  revokedAt: Date | null;
}

export interface RevokeSelector {
  ownerId?: string;
  /** Only tokens of these owners (an owner-scoped caller's reach); empty: none. */
  ownerIds?: readonly string[];
  label?: { key: string; value: string };
  scope?: string;
  issuedBefore?: string;
}

interface Row {
  token_id: string;
  prefix: string;
  owner_type: string;
  owner_id: string;
  scopes: string[];
  issued_at: Date;
  expires_at: Date;
  dpop_jkt: string | null;
  status: TokenStatus['status'];
  revoked_at: Date | null;
}

const COLUMNS =
  'token_id, prefix, owner_type, owner_id, scopes, issued_at, expires_at, dpop_jkt, status, revoked_at';

function toStatus(r: Row): TokenStatus {
  return {
    tokenId: r.token_id,
    prefix: r.prefix,
    owner: { type: r.owner_type, id: r.owner_id },
    scopes: r.scopes,
    issuedAt: r.issued_at,
    expiresAt: r.expires_at,
    dpopJkt: r.dpop_jkt,
    status: r.status,
    revokedAt: r.revoked_at,
  };
}

@Injectable()
export class StatusRepository extends SchemaRepository {
  constructor(dataSource: DataSource, @Inject(SERVICE_CONFIG) config: RevocationConfig) {
    super(dataSource, config.DB_SCHEMA);
  }

  async find(
    tokenId: string,
    manager: Tx = this.dataSource.manager,
    forUpdate = false,
  ): Promise<TokenStatus | undefined> {
    const [row] = await manager.query<Row[]>(
      `SELECT ${COLUMNS} FROM ${this.s}.token_status WHERE token_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [tokenId],
    );
    return row && toStatus(row);
  }

  /** Active tokens matching every given criterion, locked, with their scopes. */
  async lockMatching(
    manager: Tx,
    selector: RevokeSelector,
    limit: number,
  ): Promise<Array<{ tokenId: string; scopes: string[] }>> {
    const where = new WhereBuilder([`status = 'active'`]);
    if (selector.ownerId) where.add('owner_id = ?', selector.ownerId);
    if (selector.ownerIds) where.add('owner_id = ANY(?::text[])', [...selector.ownerIds]);
    if (selector.label)
      where.add(
        'labels @> ?::jsonb',
        JSON.stringify({ [selector.label.key]: selector.label.value }),
      );
    if (selector.scope) where.add('? = ANY(scopes)', selector.scope);
    if (selector.issuedBefore) where.add('issued_at < ?', selector.issuedBefore);
    const rows = await this.page<{ token_id: string; scopes: string[] }>(
      {
        columns: 'token_id, scopes',
        table: 'token_status',
        where,
        orderBy: 'token_id',
        limit,
        forUpdate: true,
      },
      manager,
    );
    return rows.map((r) => ({ tokenId: r.token_id, scopes: r.scopes }));
  }

  async insertIssued(manager: Tx, data: TokenIssuedV1): Promise<void> {
    await manager.query(
      `INSERT INTO ${this.s}.token_status (token_id, prefix, owner_type, owner_id, scopes, labels, issued_at, expires_at, dpop_jkt)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (token_id) DO NOTHING`,
      [
        data.tokenId,
        data.prefix,
        data.owner.type,
        data.owner.id,
        data.scopes,
        JSON.stringify(data.labels),
        data.issuedAt,
        data.expiresAt,
        data.dpopJkt ?? null,
      ],
    );
  }

  /**
   * A token known from issuance before its token.issued event was applied (StatusSource): the
   * row that event writes. Same conflict rule, so whichever comes first wins and the other is a
   * no-op.
   */
  async adopt(record: {
    tokenId: string;
    prefix: string;
    owner: { type: string; id: string };
    scopes: string[];
    labels: Record<string, string>;
    issuedAt: string;
    expiresAt: string;
    dpopJkt?: string;
  }): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO ${this.s}.token_status (token_id, prefix, owner_type, owner_id, scopes, labels, issued_at, expires_at, dpop_jkt)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (token_id) DO NOTHING`,
      [
        record.tokenId,
        record.prefix,
        record.owner.type,
        record.owner.id,
        record.scopes,
        JSON.stringify(record.labels),
        record.issuedAt,
        record.expiresAt,
        record.dpopJkt ?? null,
      ],
    );
  }

  /** Idempotent: only an active token changes. Returns whether it did. */
  async markRevoked(
    manager: Tx,
    tokenId: string,
    reason: string,
    revokedAt: string,
  ): Promise<boolean> {
    const rows = await manager.query<unknown[]>(
      `UPDATE ${this.s}.token_status SET status = 'revoked', revoked_at = $3, revoked_reason = $2
        WHERE token_id = $1 AND status = 'active' RETURNING token_id`,
      [tokenId, reason, revokedAt],
    );
    // pg returns [rows, count] for UPDATE ... RETURNING through TypeORM's query().
    const affected = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : rows.length;
    return affected > 0;
  }

  async markExpired(manager: Tx, tokenId: string): Promise<void> {
    await manager.query(
      `UPDATE ${this.s}.token_status SET status = 'expired' WHERE token_id = $1 AND status = 'active'`,
      [tokenId],
    );
  }

  async markRotated(manager: Tx, tokenId: string, graceEndsAt: string): Promise<void> {
    await manager.query(
      `UPDATE ${this.s}.token_status SET grace_ends_at = $2 WHERE token_id = $1`,
      [tokenId, graceEndsAt],
    );
  }

  /** Empties the projection (a rebuild refills it in the same transaction). */
  async deleteAll(tx: Tx): Promise<void> {
    await tx.query(`DELETE FROM ${this.s}.token_status`);
  }

  async count(tx: Tx): Promise<number> {
    const [row] = await tx.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM ${this.s}.token_status`,
    );
    return row?.n ?? 0;
  }
}
