import { Inject, Injectable } from '@nestjs/common';
import type { Clock, RevocationReason, TokenLeakReportedV1 } from '@tokenledger/contracts';
import { EventOutbox, type EventMeta } from '@tokenledger/messaging-nest';
import { DomainError } from '@tokenledger/errors';
import { CLOCK } from '@tokenledger/service-host';
import { UnitOfWork, type Tx } from '@tokenledger/sql';
import { displayPrefix, isWellFormed } from '@tokenledger/token-core';
import { reaches } from '@tokenledger/token-core';
import { assertMayRevoke, revokeReach, type RevokeAuthority } from '../domain/revoke-authority';
import { StatusRepository, type RevokeSelector } from '../repositories/status.repository';
import { CredentialResolver } from './credential-resolver';
import { StatusCache } from './status-cache';
import { StatusSource } from './status-source';

/** Who asked, and the request and comment to record with each token.revoked event. */
export type RevokeMeta = EventMeta & { requestId?: string; comment?: string };

/** At most this many tokens per bulk revocation request (repeat the request for more). */
export const BULK_LIMIT = 10_000;

export interface LeakItem {
  token: string;
  type: string;
  url: string;
  source: string;
}

export interface LeakResult {
  /** Never the token: its display prefix, and the tokenId once resolved. */
  prefix?: string;
  tokenId?: string;
  outcome: TokenLeakReportedV1['outcome'] | 'malformed';
}

@Injectable()
export class RevocationService {
  constructor(
    private readonly statuses: StatusRepository,
    private readonly cache: StatusCache,
    private readonly source: StatusSource,
    private readonly resolver: CredentialResolver,
    private readonly outbox: EventOutbox,
    private readonly uow: UnitOfWork,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Revokes one token; idempotent. Visible to this instance's next introspection at once (its
   * cache entry is dropped after the commit), to other instances within STATUS_CACHE_MS.
   * An operator (`authority` with scopes) MUST hold every scope of the token (403 otherwise).
   */
  async revoke(
    tokenId: string,
    reason: RevocationReason,
    meta: RevokeMeta,
    authority: RevokeAuthority,
  ): Promise<{ tokenId: string; revoked: boolean; alreadyInactive: boolean }> {
    // A token issued a moment ago may not be projected yet: adopt it from issuance first.
    await this.source.find(tokenId);
    const changed = await this.uow.run(async (manager) => {
      const status = await this.statuses.find(tokenId, manager, true);
      // A token of an owner out of the caller's reach reads as unknown (owner-scoped operators).
      if (!status || !reaches(revokeReach(authority), status.owner.id))
        throw new DomainError('token_not_found', `no token ${tokenId}`);
      assertMayRevoke(authority, [status]);
      return this.revokeLocked(manager, tokenId, reason, meta);
    });
    this.after([tokenId], changed);
    return { tokenId, revoked: changed, alreadyInactive: !changed };
  }

  /**
   * RFC 7009: revokes the presented token if it is ours and live; says nothing either way. No
   * scope check against the token: whoever presents its plaintext can already act as it.
   */
  async revokePresented(token: string, meta: EventMeta, authority: RevokeAuthority): Promise<void> {
    const resolved = await this.resolver.resolve(token);
    if (!resolved) return;
    const { tokenId } = resolved;
    const status = await this.source.find(tokenId, resolved.record);
    if (!status || !reaches(revokeReach(authority), status.owner.id)) return;
    const changed = await this.uow.run((manager) =>
      this.revokeLocked(manager, tokenId, 'requested', meta),
    );
    this.after([tokenId], changed);
  }

  /**
   * The kill switch: every active token matching the selector, one `token.revoked` each. An
   * operator's selector that matches any token holding a scope the operator lacks is refused
   * as a whole (403, dry run included, nothing revoked), so a kill switch never half-applies.
   */
  async revokeMatching(
    selector: RevokeSelector,
    reason: RevocationReason,
    dryRun: boolean,
    meta: RevokeMeta,
    authority: RevokeAuthority,
  ): Promise<{ matched: number; revoked: number; tokenIds: string[] }> {
    const result = await this.uow.run(async (manager) => {
      const reach = revokeReach(authority);
      const matches = await this.statuses.lockMatching(
        manager,
        reach.all ? selector : { ...selector, ownerIds: reach.owners },
        BULK_LIMIT,
      );
      assertMayRevoke(authority, matches, 'selector');
      const ids = matches.map((m) => m.tokenId);
      if (dryRun) return { ids, revoked: 0 };
      let revoked = 0;
      for (const id of ids) if (await this.revokeLocked(manager, id, reason, meta)) revoked += 1;
      return { ids, revoked };
    });
    this.after(result.ids, result.revoked > 0);
    return { matched: result.ids.length, revoked: result.revoked, tokenIds: result.ids };
  }

  /** Leak reports (GitHub secret-scanning partner format): checksum first, then revoke. */
  async reportLeaks(items: LeakItem[], meta: EventMeta): Promise<LeakResult[]> {
    const results: LeakResult[] = [];
    for (const item of items) {
      if (!isWellFormed(item.token)) {
        results.push({ outcome: 'malformed' });
        continue;
      }
      const prefix = displayPrefix(item.token);
      const resolved = await this.resolver.resolve(item.token);
      const tokenId = resolved?.tokenId;
      if (resolved) await this.source.find(resolved.tokenId, resolved.record);
      const outcome = await this.uow.run(async (manager) => {
        const status = tokenId ? await this.statuses.find(tokenId, manager, true) : undefined;
        const revoked = status
          ? await this.revokeLocked(manager, status.tokenId, 'leaked', meta)
          : false;
        const result: TokenLeakReportedV1['outcome'] = !status
          ? 'unknown'
          : revoked
            ? 'revoked'
            : 'already-inactive';
        const source = item.source.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63) || 'unknown';
        const url = /^https?:\/\//.test(item.url) && item.url.length <= 2048 ? item.url : undefined;
        await this.outbox.append(
          manager,
          [
            {
              type: 'tokenledger.token.leak-reported.v1',
              data: {
                ...(status ? { tokenId: status.tokenId } : {}),
                prefix,
                source,
                ...(url ? { url } : {}),
                ...(/^[A-Za-z0-9._-]{1,63}$/.test(item.type) ? { type: item.type } : {}),
                outcome: result,
              },
            },
          ],
          meta,
        );
        return result;
      });
      if (tokenId) this.cache.invalidate([tokenId]);
      results.push({ prefix, ...(tokenId ? { tokenId } : {}), outcome });
    }
    this.outbox.publishSoon();
    return results;
  }

  private async revokeLocked(
    manager: Tx,
    tokenId: string,
    reason: RevocationReason,
    meta: RevokeMeta,
  ): Promise<boolean> {
    const revokedAt = new Date(this.clock.now()).toISOString();
    const changed = await this.statuses.markRevoked(manager, tokenId, reason, revokedAt);
    if (changed) {
      await this.outbox.append(
        manager,
        [
          {
            type: 'tokenledger.token.revoked.v1',
            data: {
              tokenId,
              reason,
              revokedAt,
              ...(meta.requestId ? { requestId: meta.requestId } : {}),
              ...(meta.comment ? { comment: meta.comment } : {}),
            },
          },
        ],
        meta,
      );
    }
    return changed;
  }

  private after(tokenIds: string[], changed: boolean): void {
    this.cache.invalidate(tokenIds);
    if (changed) this.outbox.publishSoon();
  }
}
