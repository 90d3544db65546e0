import { Injectable } from '@nestjs/common';
import { LimitsRepository } from '../repositories/limits.repository';
import { StatusRepository, type TokenStatus } from '../repositories/status.repository';
import { IssuanceClient, type CredentialRecord } from './issuance-client';

function statusOf(record: CredentialRecord): TokenStatus {
  return {
    tokenId: record.tokenId,
    prefix: record.prefix,
    owner: record.owner,
    scopes: record.scopes,
    issuedAt: new Date(record.issuedAt),
    expiresAt: new Date(record.expiresAt),
    dpopJkt: record.dpopJkt ?? null,
    status: record.status,
    revokedAt: null,
  };
}

/**
 * A token's status with read-your-writes: the projection (built from tokens.lifecycle) when it
 * has the token, else issuance's record, asked at once instead of waiting for the token.issued
 * event. An active record is adopted into the projection (a row as token.issued would write it;
 * the event, when it comes, changes nothing), so a revocation can be taken on it right away.
 *
 * Sound because a token's events share one partition: while the projection has no row, it has
 * applied none of the token's events, so issuance's record is at least as new as it. A record
 * that issuance already sees as revoked or expired is answered as is and not adopted (its events
 * will come). The row is read back after the insert: if the consumer wrote it first (and maybe a
 * revocation since), its state wins.
 *
 * The limits the token was issued with are adopted too, and before its status row: no instance
 * can find the token active without finding its limits (the consumer writes both in one
 * transaction). Same rule as token.issued's: only when the token has no limits row yet.
 */
@Injectable()
export class StatusSource {
  constructor(
    private readonly statuses: StatusRepository,
    private readonly issuance: IssuanceClient,
    private readonly limits: LimitsRepository,
  ) {}

  /** `record`: issuance's answer, when the caller already has it (from resolving the token). */
  async find(tokenId: string, record?: CredentialRecord): Promise<TokenStatus | undefined> {
    const projected = await this.statuses.find(tokenId);
    if (projected) return projected;
    const known = record ?? (await this.issuance.lookup(tokenId));
    if (!known || known.tokenId !== tokenId) return undefined;
    if (known.status !== 'active') return statusOf(known);
    await this.limits.insertIssued(known);
    await this.statuses.adopt(known);
    return (await this.statuses.find(tokenId)) ?? statusOf(known);
  }
}
