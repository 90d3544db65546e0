import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Credits, RateLimit } from '@tokenledger/contracts';
import { outboxInsert, type EncodedOutboxMessage } from '@tokenledger/messaging';
import { SchemaRepository, WhereBuilder, type Tx } from '@tokenledger/sql';
import { DataSource } from 'typeorm';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import type { IssuanceConfig } from '../config';
import type { TokenState } from '../domain/token-decider';
import { DEFAULT_POLICY, policySchema, type Policy } from '../domain/policy';

/** What a token is given at issuance and keeps. */
interface TokenFields {
  tokenId: string;
  prefix: string;
  owner: { type: string; id: string };
  name: string;
  scopes: string[];
  labels: Record<string, string>;
  issuedAt: string;
  expiresAt: string;
  dpopJkt?: string;
  rotatedFrom?: string;
}

/** A token's metadata as the API shows it: never the secret, never its hash. */
export interface TokenView extends TokenFields {
  status: 'active' | 'revoked' | 'expired';
  revokedAt?: string;
  revokedReason?: string;
  rotatedTo?: string;
  graceEndsAt?: string;
  /** The operator (`operator:<tokenId>`) or `system` that issued it. */
  createdBy: string;
  /** The last accepted use seen on tokens.usage; absent when never used. */
  lastUsedAt?: string;
}

/** The usage limits a token was issued with (its limits now are the revocation app's). */
export interface IssuedLimits {
  rateLimit?: RateLimit;
  credits?: Credits;
}

export interface NewTokenRow extends TokenFields, IssuedLimits {
  tokenHash: Buffer;
  issuedBy: string;
  isRoot?: boolean;
}

interface Row {
  token_id: string;
  prefix: string;
  owner_type: string;
  owner_id: string;
  name: string;
  scopes: string[];
  labels: Record<string, string>;
  issued_at: Date;
  expires_at: Date;
  status: TokenView['status'];
  revoked_at: Date | null;
  revoked_reason: string | null;
  dpop_jkt: string | null;
  rotated_from: string | null;
  rotated_to: string | null;
  grace_ends_at: Date | null;
  issued_by: string;
  last_used_at: Date | null;
}

const VIEW_COLUMNS = `token_id, prefix, owner_type, owner_id, name, scopes, labels, issued_at, expires_at, status,
  revoked_at, revoked_reason, dpop_jkt, rotated_from, rotated_to, grace_ends_at, issued_by, last_used_at`;

function toView(r: Row): TokenView {
  return {
    tokenId: r.token_id,
    prefix: r.prefix,
    owner: { type: r.owner_type, id: r.owner_id },
    name: r.name,
    scopes: r.scopes,
    labels: r.labels,
    issuedAt: r.issued_at.toISOString(),
    expiresAt: r.expires_at.toISOString(),
    status: r.status,
    ...(r.revoked_at ? { revokedAt: r.revoked_at.toISOString() } : {}),
    ...(r.revoked_reason ? { revokedReason: r.revoked_reason } : {}),
    ...(r.dpop_jkt ? { dpopJkt: r.dpop_jkt } : {}),
    ...(r.rotated_from ? { rotatedFrom: r.rotated_from } : {}),
    ...(r.rotated_to ? { rotatedTo: r.rotated_to } : {}),
    ...(r.grace_ends_at ? { graceEndsAt: r.grace_ends_at.toISOString() } : {}),
    createdBy: r.issued_by,
    ...(r.last_used_at ? { lastUsedAt: r.last_used_at.toISOString() } : {}),
  };
}

/** The orders of `GET /v1/tokens`; each breaks ties by tokenId, in the same direction. */
export const TOKEN_SORTS = ['issuedAt', 'expiresAt', 'lastUsedAt', 'name'] as const;
export type TokenSort = (typeof TOKEN_SORTS)[number];

/** The SQL sort key of each order (never-used tokens sort as used at the epoch: first). */
const SORT_KEY: Record<TokenSort, { sql: string; cast: string }> = {
  // tokenId is a UUIDv7: issue order, and unique, as the key it was before other sorts existed.
  issuedAt: { sql: 'token_id', cast: 'uuid' },
  expiresAt: { sql: 'expires_at', cast: 'timestamptz' },
  lastUsedAt: { sql: "COALESCE(last_used_at, 'epoch'::timestamptz)", cast: 'timestamptz' },
  name: { sql: 'name', cast: 'text' },
};

/** Every given criterion must match (AND). */
export interface TokenFilter {
  ownerId?: string;
  /** Only tokens of these owners (an owner-scoped caller's reach); empty: none. */
  ownerIds?: readonly string[];
  ownerType?: string;
  label?: { key: string; value: string };
  status?: TokenView['status'];
  /** The token has this scope exactly (as granted, `billing:*` is not expanded). */
  scope?: string;
  /** Case-insensitive substring of the name. */
  name?: string;
  /** The display prefix starts with this. */
  prefix?: string;
  /** Exclusive bounds. */
  expiresBefore?: string;
  lastUsedBefore?: string;
  lastUsedAfter?: string;
  createdBy?: string;
  neverUsed?: boolean;
  /** Replaced by a rotation (true) or never (false). */
  rotated?: boolean;
  /** Exclusive. */
  issuedBefore?: string;
  sort?: TokenSort;
  descending?: boolean;
  /** Exclusive: the sort key and tokenId of the last row of the previous page. */
  after?: { key: string; tokenId: string };
  limit: number;
}

/** `_` and `%` are LIKE wildcards; a filter matches them literally. */
const likeLiteral = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The part of pg's Pool (TypeORM's PostgresDriver.master) that insertIssued uses. */
interface PgPool {
  query(config: { name: string; text: string; values: unknown[] }): Promise<unknown>;
}

const INSERT_TOKEN = (s: string): string =>
  `INSERT INTO ${s}.tokens (token_id, token_hash, prefix, owner_type, owner_id, name, scopes, labels,
     issued_at, expires_at, dpop_jkt, rotated_from, issued_by, is_root, issued_limits)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`;

@Injectable()
export class TokensRepository extends SchemaRepository {
  /** Statement text and prepared-statement name of insertIssued, per number of outbox rows. */
  private readonly issuedStatements = new Map<number, { name: string; text: string }>();

  constructor(
    dataSource: DataSource,
    @Inject(SERVICE_CONFIG) private readonly config: IssuanceConfig,
  ) {
    super(dataSource, config.DB_SCHEMA);
  }

  /**
   * Inserts a new token and the outbox rows of its events in ONE statement (a data-modifying
   * CTE), which PostgreSQL runs atomically as its own transaction: both rows commit or neither
   * does, as with BEGIN/INSERT/INSERT/COMMIT, in one round trip instead of four. It runs as a
   * named prepared statement (parsed and planned once per pooled connection).
   */
  async insertIssued(row: NewTokenRow, outbox: readonly EncodedOutboxMessage[]): Promise<void> {
    const { sql, values } = outboxInsert(this.config.DB_SCHEMA, outbox, 16);
    let statement = this.issuedStatements.get(outbox.length);
    if (!statement) {
      const text = `WITH token AS (${INSERT_TOKEN(this.s)}) ${sql}`;
      const name = `tl_issue_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
      statement = { name, text };
      this.issuedStatements.set(outbox.length, statement);
    }
    const pool = (this.dataSource.driver as unknown as { master: PgPool }).master;
    await pool.query({ ...statement, values: [...this.tokenValues(row), ...values] });
  }

  private tokenValues(row: NewTokenRow): unknown[] {
    return [
      row.tokenId,
      row.tokenHash,
      row.prefix,
      row.owner.type,
      row.owner.id,
      row.name,
      row.scopes,
      JSON.stringify(row.labels),
      row.issuedAt,
      row.expiresAt,
      row.dpopJkt ?? null,
      row.rotatedFrom ?? null,
      row.issuedBy,
      row.isRoot ?? false,
      row.rateLimit || row.credits
        ? JSON.stringify({
            ...(row.rateLimit ? { rateLimit: row.rateLimit } : {}),
            ...(row.credits ? { credits: row.credits } : {}),
          })
        : null,
    ];
  }

  async find(tokenId: string): Promise<TokenView | undefined> {
    const [row] = await this.dataSource.query<Row[]>(
      `SELECT ${VIEW_COLUMNS} FROM ${this.s}.tokens WHERE token_id = $1`,
      [tokenId],
    );
    return row && toView(row);
  }

  /** A token's view and the limits it was issued with (for the internal credential record). */
  async findWithLimits(tokenId: string): Promise<(TokenView & IssuedLimits) | undefined> {
    const [row] = await this.dataSource.query<Array<Row & { issued_limits: IssuedLimits | null }>>(
      `SELECT ${VIEW_COLUMNS}, issued_limits FROM ${this.s}.tokens WHERE token_id = $1`,
      [tokenId],
    );
    return row && { ...toView(row), ...(row.issued_limits ?? {}) };
  }

  async findIdByHash(hash: Buffer): Promise<string | undefined> {
    const [row] = await this.dataSource.query<Array<{ token_id: string }>>(
      `SELECT token_id FROM ${this.s}.tokens WHERE token_hash = $1`,
      [hash],
    );
    return row?.token_id;
  }

  /** The decider's state of one token, locked for the rest of the transaction. */
  async lockState(manager: Tx, tokenId: string): Promise<TokenState | undefined> {
    const [row] = await manager.query<
      Array<{
        token_id: string;
        status: TokenState['status'];
        expires_at: Date;
        rotated_to: string | null;
        grace_ends_at: Date | null;
      }>
    >(
      `SELECT token_id, status, expires_at, rotated_to, grace_ends_at FROM ${this.s}.tokens WHERE token_id = $1 FOR UPDATE`,
      [tokenId],
    );
    if (!row) return undefined;
    return {
      tokenId: row.token_id,
      status: row.status,
      expiresAt: row.expires_at.toISOString(),
      ...(row.rotated_to ? { rotatedTo: row.rotated_to } : {}),
      ...(row.grace_ends_at ? { graceEndsAt: row.grace_ends_at.toISOString() } : {}),
    };
  }

  async markRotated(
    manager: Tx,
    tokenId: string,
    newTokenId: string,
    graceEndsAt: string,
  ): Promise<void> {
    await manager.query(
      `UPDATE ${this.s}.tokens SET rotated_to = $2, grace_ends_at = $3 WHERE token_id = $1 AND rotated_to IS NULL`,
      [tokenId, newTokenId, graceEndsAt],
    );
  }

  /** Idempotent: only an active token changes. */
  async markRevoked(
    manager: Tx,
    tokenId: string,
    reason: string,
    revokedAt: string,
  ): Promise<void> {
    await manager.query(
      `UPDATE ${this.s}.tokens SET status = 'revoked', revoked_at = $3, revoked_reason = $2 WHERE token_id = $1 AND status = 'active'`,
      [tokenId, reason, revokedAt],
    );
  }

  async markExpired(manager: Tx, tokenId: string): Promise<void> {
    await manager.query(
      `UPDATE ${this.s}.tokens SET status = 'expired' WHERE token_id = $1 AND status = 'active'`,
      [tokenId],
    );
  }

  async list(filter: TokenFilter): Promise<Array<TokenView & { sortKey: string }>> {
    const where = new WhereBuilder();
    if (filter.ownerId) where.add('owner_id = ?', filter.ownerId);
    if (filter.ownerIds) where.add('owner_id = ANY(?::text[])', [...filter.ownerIds]);
    if (filter.ownerType) where.add('owner_type = ?', filter.ownerType);
    if (filter.label)
      where.add('labels @> ?::jsonb', JSON.stringify({ [filter.label.key]: filter.label.value }));
    if (filter.status) where.add('status = ?', filter.status);
    if (filter.scope) where.add('scopes @> ARRAY[?]::text[]', filter.scope);
    if (filter.name) where.add('name ILIKE ?', `%${likeLiteral(filter.name)}%`);
    if (filter.prefix) where.add('prefix LIKE ?', `${likeLiteral(filter.prefix)}%`);
    if (filter.expiresBefore) where.add('expires_at < ?', filter.expiresBefore);
    if (filter.lastUsedBefore) where.add('last_used_at < ?', filter.lastUsedBefore);
    if (filter.lastUsedAfter) where.add('last_used_at > ?', filter.lastUsedAfter);
    if (filter.createdBy) where.add('issued_by = ?', filter.createdBy);
    if (filter.neverUsed !== undefined)
      where.add(filter.neverUsed ? 'last_used_at IS NULL' : 'last_used_at IS NOT NULL');
    if (filter.rotated !== undefined)
      where.add(filter.rotated ? 'rotated_to IS NOT NULL' : 'rotated_to IS NULL');
    if (filter.issuedBefore) where.add('issued_at < ?', filter.issuedBefore);
    const { sql: key, cast: keyCast } = SORT_KEY[filter.sort ?? 'issuedAt'];
    const direction = filter.descending ? 'DESC' : 'ASC';
    if (filter.after)
      where.add(
        `(${key}, token_id) ${filter.descending ? '<' : '>'} (?::${keyCast}, ?::uuid)`,
        filter.after.key,
        filter.after.tokenId,
      );
    const rows = await this.page<Row & { sort_key: Date | string }>({
      columns: `${VIEW_COLUMNS}, ${key} AS sort_key`,
      table: 'tokens',
      where,
      orderBy: `${key} ${direction}, token_id ${direction}`,
      limit: filter.limit,
    });
    return rows.map((r) => ({
      ...toView(r),
      sortKey: r.sort_key instanceof Date ? r.sort_key.toISOString() : r.sort_key,
    }));
  }

  /**
   * Records the latest accepted use of each token (idempotent and order-free: a use older than
   * the recorded one changes nothing, so a redelivered batch is harmless).
   */
  async recordLastUse(uses: ReadonlyArray<{ tokenId: string; at: string }>): Promise<void> {
    if (uses.length === 0) return;
    await this.dataSource.query(
      `UPDATE ${this.s}.tokens t SET last_used_at = u.at
         FROM (SELECT id, max(at) AS at FROM unnest($1::uuid[], $2::timestamptz[]) AS x(id, at) GROUP BY id) u
        WHERE t.token_id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at)`,
      [uses.map((u) => u.tokenId), uses.map((u) => u.at)],
    );
  }

  /** Tokens whose rotation grace or expiry has passed, locked and skipped by other instances. */
  async lockDue(
    manager: Tx,
    now: Date,
    limit: number,
  ): Promise<Array<{ tokenId: string; kind: 'grace' | 'expiry' }>> {
    const rows = await manager.query<Array<{ token_id: string; kind: 'grace' | 'expiry' }>>(
      `SELECT token_id, CASE WHEN expires_at <= $1 THEN 'expiry' ELSE 'grace' END AS kind
         FROM ${this.s}.tokens
        WHERE status = 'active' AND (expires_at <= $1 OR grace_ends_at <= $1)
        ORDER BY token_id LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    return rows.map((r) => ({ tokenId: r.token_id, kind: r.kind }));
  }

  /** Every root token ever registered, active or not (oldest first). */
  async rootIds(): Promise<string[]> {
    const rows = await this.dataSource.query<Array<{ token_id: string }>>(
      `SELECT token_id FROM ${this.s}.tokens WHERE is_root ORDER BY token_id`,
    );
    return rows.map((r) => r.token_id);
  }

  /** Whether any token holding `admin` (root included) is active and unexpired at `now`. */
  async hasActiveAdmin(now: Date): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      `SELECT 1 FROM ${this.s}.tokens
        WHERE status = 'active' AND expires_at > $1 AND 'admin' = ANY(scopes) LIMIT 1`,
      [now],
    );
    return rows.length > 0;
  }

  async policy(manager: Tx = this.dataSource.manager): Promise<Policy> {
    const [row] = await manager.query<Array<{ body: unknown }>>(
      `SELECT body FROM ${this.s}.policies WHERE id = 'default' FOR UPDATE`,
    );
    return row ? policySchema.parse(row.body) : DEFAULT_POLICY;
  }

  /** Saves the policy and returns its new version (1, 2, ...). */
  async savePolicy(manager: Tx, policy: Policy, updatedBy: string): Promise<number> {
    const [row] = await manager.query<Array<{ version: number }>>(
      `INSERT INTO ${this.s}.policies (id, body, updated_by) VALUES ('default', $1, $2)
       ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, updated_by = EXCLUDED.updated_by,
         updated_at = now(), version = ${this.s}.policies.version + 1
       RETURNING version`,
      [JSON.stringify(policy), updatedBy],
    );
    return row?.version ?? 1;
  }
}
