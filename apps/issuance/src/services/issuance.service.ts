import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { canonicalize } from '@tokenledger/canonical-json';
import type {
  Clock,
  Credits,
  EventEnvelope,
  IdSource,
  RateLimit,
  TokenIssuedV1,
} from '@tokenledger/contracts';
import { markProcessed } from '@tokenledger/messaging';
import { EventOutbox, type EventDraft, type EventMeta } from '@tokenledger/messaging-nest';
import { CLOCK, ID_SOURCE, SERVICE_CONFIG } from '@tokenledger/service-host';
import { DomainError } from '@tokenledger/errors';
import { UnitOfWork, type Tx } from '@tokenledger/sql';
import {
  TokenHasher,
  displayPrefix,
  generateToken,
  normalizeScopes,
  ownerReach,
  reaches,
  type OwnerReach,
} from '@tokenledger/token-core';
import type { IssuanceConfig } from '../config';
import { checkPolicy, limitsFor, type IssueLimits, type Policy } from '../domain/policy';
import { Admission } from './admission';
import { PolicyCache } from './policy-cache';
import { decide, type LifecycleEvent, type TokenCommand } from '../domain/token-decider';
import {
  TokensRepository,
  type IssuedLimits,
  type TokenFilter,
  type TokenView,
} from '../repositories/tokens.repository';

/** The lifecycle events that change issuance's tokens table when they come back from Kafka. */
const LIFECYCLE_TYPES = new Set<string>([
  'tokenledger.token.rotated.v1',
  'tokenledger.token.revoked.v1',
  'tokenledger.token.expired.v1',
]);

export interface Caller {
  actor: string;
  scopes: readonly string[];
  requestId?: string;
}

export interface IssueInput {
  owner: { type: 'user' | 'team' | 'service'; id: string };
  name: string;
  scopes: string[];
  ttlSeconds?: number;
  expiresAt?: string;
  labels?: Record<string, string>;
  dpopJkt?: string;
  /** Absent: the policy's default (or maximum); null: none. */
  rateLimit?: RateLimit | null;
  credits?: Credits | null;
}

/** The plaintext appears here once, in the issuance response, and nowhere else. */
export interface IssuedToken {
  token: string;
  tokenId: string;
  prefix: string;
  scopes: string[];
  expiresAt: string;
}

@Injectable()
export class IssuanceService {
  private readonly hasher: TokenHasher;
  private readonly policies: PolicyCache;
  private readonly admission: Admission;

  constructor(
    private readonly tokens: TokensRepository,
    private readonly outbox: EventOutbox,
    private readonly uow: UnitOfWork,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_SOURCE) private readonly ids: IdSource,
    @Inject(SERVICE_CONFIG) private readonly config: IssuanceConfig,
  ) {
    this.hasher = new TokenHasher(Buffer.from(config.TOKEN_PEPPER, 'base64'));
    this.policies = new PolicyCache(() => tokens.policy(), config.POLICY_CACHE_MS ?? 1000);
    this.admission = new Admission(config.ISSUANCE_MAX_IN_FLIGHT ?? 32);
  }

  /** issue() for a client request: refused as `overloaded` past ISSUANCE_MAX_IN_FLIGHT. */
  /**
   * The API's issue: the caller MUST reach the new token's owner with `tokens:issue` (an
   * owner-scoped `tokens:issue@<owner>` reaches that owner only); otherwise 404.
   */
  issueAdmitted(input: IssueInput, caller: Caller): Promise<IssuedToken> {
    if (!reaches(ownerReach(caller.scopes, 'tokens:issue'), input.owner.id))
      throw new DomainError(
        'owner_not_found',
        `no owner ${input.owner.id} within this operator token's reach`,
      );
    return this.admission.run(() => this.issue(input, caller));
  }

  /**
   * Issues a token after checking the policy. A refusal is recorded as `token.issuance-denied`
   * (who tried what) and thrown as `policy_violation` naming the rule.
   */
  async issue(
    input: IssueInput,
    caller: Caller,
    options: {
      rotatedFrom?: string;
      isRoot?: boolean;
      presetToken?: string;
      /** More events recorded in the same statement as the token (e.g. a break-glass audit). */
      alsoRecord?: (tokenId: string) => EventDraft[];
    } = {},
  ): Promise<IssuedToken> {
    const scopes = normalizeScopes(input.scopes);
    const now = new Date(this.clock.now());
    const policy = await this.policies.current();
    const ttlSeconds = this.ttlOf(input, policy, now);
    // The root token is never limited: a policy default must not lock the operator out.
    const decision = options.isRoot
      ? ({ ok: true, limits: {} } as const)
      : this.decideIssue(policy, input, scopes, ttlSeconds, caller);
    if (!decision.ok) {
      await this.uow.run((manager) =>
        this.outbox.append(
          manager,
          [
            {
              type: 'tokenledger.token.issuance-denied.v1',
              data: {
                rule: decision.rule,
                requested: { owner: input.owner, scopes, ttlSeconds },
                message: decision.message,
              },
            },
          ],
          this.meta(caller),
        ),
      );
      this.outbox.publishSoon();
      throw new DomainError(
        'policy_violation',
        `policy rule ${decision.rule}: ${decision.message}`,
        false,
        { rule: decision.rule },
      );
    }

    const token = options.presetToken ?? generateToken({ prefix: this.config.TOKEN_PREFIX });
    const issued: TokenIssuedV1 = {
      tokenId: this.ids.next(),
      prefix: displayPrefix(token),
      owner: input.owner,
      name: input.name,
      scopes,
      labels: input.labels ?? {},
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
      ...(input.dpopJkt ? { dpopJkt: input.dpopJkt } : {}),
      ...(options.rotatedFrom ? { rotatedFrom: options.rotatedFrom } : {}),
      ...decision.limits,
    };
    const events = decide({ type: 'issue', token: issued }, undefined);
    // The token row and its token.issued outbox row in one statement: atomic without a
    // transaction block, one round trip (see TokensRepository.insertIssued).
    const { rows } = this.outbox.prepare(
      [...events, ...(options.alsoRecord?.(issued.tokenId) ?? [])],
      this.meta(caller),
    );
    await this.tokens.insertIssued(
      {
        ...issued,
        tokenHash: this.hasher.hash(token),
        issuedBy: caller.actor,
        ...(options.isRoot ? { isRoot: true } : {}),
      },
      rows,
    );
    this.outbox.publishSoon();
    return {
      token,
      tokenId: issued.tokenId,
      prefix: issued.prefix,
      scopes,
      expiresAt: issued.expiresAt,
    };
  }

  /**
   * Issues a replacement with the same owner, name, scopes, labels and binding; the old token
   * keeps working until the grace period ends, then the sweeper revokes it (reason `rotated`).
   */
  async rotate(
    tokenId: string,
    graceSeconds: number,
    caller: Caller,
  ): Promise<IssuedToken & { rotatedFrom: string; graceEndsAt: string }> {
    const old = await this.tokens.find(tokenId);
    // Out of the caller's reach reads as unknown: an owner-scoped token learns nothing of others.
    if (!old || !reaches(ownerReach(caller.scopes, 'tokens:issue'), old.owner.id))
      throw new DomainError('token_not_found', `no token ${tokenId}`);
    if (old.status !== 'active')
      throw new DomainError(
        'token_inactive',
        `token ${tokenId} is ${old.status} and cannot be rotated`,
      );
    const ttlSeconds = Math.max(
      1,
      Math.round((Date.parse(old.expiresAt) - Date.parse(old.issuedAt)) / 1000),
    );
    const replacement = await this.issue(
      {
        owner: old.owner as IssueInput['owner'],
        name: old.name,
        scopes: old.scopes,
        ttlSeconds,
        labels: old.labels,
        ...(old.dpopJkt ? { dpopJkt: old.dpopJkt } : {}),
      },
      caller,
      { rotatedFrom: tokenId },
    );
    const graceEndsAt = await this.uow.run(async (manager) => {
      const events = decide(
        {
          type: 'rotate',
          newTokenId: replacement.tokenId,
          graceSeconds,
          now: new Date(this.clock.now()),
        },
        await this.tokens.lockState(manager, tokenId),
      );
      const rotated = events[0];
      if (rotated?.type !== 'tokenledger.token.rotated.v1')
        throw new Error('rotate decided no rotation');
      await this.tokens.markRotated(
        manager,
        tokenId,
        replacement.tokenId,
        rotated.data.graceEndsAt,
      );
      await this.record(manager, events, caller);
      return rotated.data.graceEndsAt;
    });
    this.outbox.publishSoon();
    return { ...replacement, rotatedFrom: tokenId, graceEndsAt };
  }

  /** Undefined (404) for an unknown token and for one whose owner `reach` does not include. */
  async get(tokenId: string, reach: OwnerReach): Promise<TokenView | undefined> {
    const token = await this.tokens.find(tokenId);
    return token && reaches(reach, token.owner.id) ? token : undefined;
  }

  /** Any token, with the limits it was issued with (the internal credential record). */
  credentialRecord(tokenId: string): Promise<(TokenView & IssuedLimits) | undefined> {
    return this.tokens.findWithLimits(tokenId);
  }

  /** Only tokens of owners within `reach`. */
  list(filter: TokenFilter, reach: OwnerReach): Promise<Array<TokenView & { sortKey: string }>> {
    return this.tokens.list(reach.all ? filter : { ...filter, ownerIds: reach.owners });
  }

  /** The last accepted use of each token in a batch of tokens.usage events. */
  recordUses(events: readonly EventEnvelope[]): Promise<void> {
    const uses: Array<{ tokenId: string; at: string }> = [];
    for (const event of events)
      if (
        event.type === 'tokenledger.token.used.v1' &&
        event.data.outcome === 'accepted' &&
        event.data.tokenId
      )
        uses.push({ tokenId: event.data.tokenId, at: event.data.at });
    return this.tokens.recordLastUse(uses);
  }

  /** Resolves a presented token to its tokenId (for the revocation app); undefined when unknown. */
  resolve(token: string): Promise<string | undefined> {
    return this.tokens.findIdByHash(this.hasher.hash(token));
  }

  policy(): Promise<Policy> {
    return this.tokens.policy();
  }

  /** Replaces the policy; `ops.policy-changed` records who changed which settings. */
  async setPolicy(policy: Policy, caller: Caller): Promise<Policy> {
    let saved = false;
    await this.uow.run(async (manager) => {
      const before = await this.tokens.policy(manager);
      // Optional settings (the limits) can be added or removed: compare the keys of both.
      const keys = [...new Set([...Object.keys(before), ...Object.keys(policy)])] as Array<
        keyof Policy
      >;
      const canonical = (value: unknown): string | undefined =>
        value === undefined ? undefined : canonicalize(value);
      const changedFields = keys.filter((key) => canonical(policy[key]) !== canonical(before[key]));
      if (changedFields.length === 0) return;
      const version = await this.tokens.savePolicy(manager, policy, caller.actor);
      saved = true;
      await this.outbox.append(
        manager,
        [
          {
            type: 'tokenledger.ops.policy-changed.v1',
            data: {
              policyId: 'default',
              version,
              changedFields,
              policyDigest: createHash('sha256').update(canonicalize(policy)).digest('hex'),
              changedAt: new Date(this.clock.now()).toISOString(),
            },
          },
        ],
        this.meta(caller),
      );
    });
    // This instance issues under the new policy from now on; others within POLICY_CACHE_MS.
    if (saved) this.policies.replace(policy);
    this.outbox.publishSoon();
    return policy;
  }

  /**
   * Turns due rotation grace ends into `token.revoked` (reason `rotated`) and passed expiries
   * into `token.expired`. Several instances share the work (SKIP LOCKED).
   */
  async sweep(now = new Date(this.clock.now())): Promise<number> {
    const done = await this.uow.run(async (manager) => {
      const due = await this.tokens.lockDue(manager, now, 200);
      for (const { tokenId, kind } of due) {
        const state = await this.tokens.lockState(manager, tokenId);
        const command: TokenCommand =
          kind === 'expiry' ? { type: 'expire', now } : { type: 'revoke', reason: 'rotated', now };
        const events = decide(command, state);
        await this.record(manager, events, { actor: 'system', scopes: [] });
      }
      return due.length;
    });
    if (done > 0) this.outbox.publishSoon();
    return done;
  }

  /**
   * The lifecycle consumer's batch, in one transaction: each lifecycle event not seen before is
   * recorded in the inbox and applied to the tokens table together.
   */
  applyBatch(events: readonly EventEnvelope[]): Promise<void> {
    // token.issued changes nothing here (issue() wrote the row): neither an inbox row nor a
    // transaction for it; a batch of nothing else (the usual one) costs no statement.
    const relevant = events.filter((event) => LIFECYCLE_TYPES.has(event.type));
    if (relevant.length === 0) return Promise.resolve();
    return this.uow.run(async (tx) => {
      for (const event of relevant) {
        if (!(await markProcessed(tx, this.config.DB_SCHEMA, 'lifecycle', event.id))) continue;
        await this.apply(tx, event as LifecycleEvent);
      }
    });
  }

  /** Applies a lifecycle event from Kafka (revocations by the revocation app, or our own). */
  async apply(manager: Tx, event: LifecycleEvent): Promise<void> {
    switch (event.type) {
      case 'tokenledger.token.revoked.v1':
        return this.tokens.markRevoked(
          manager,
          event.data.tokenId,
          event.data.reason,
          event.data.revokedAt,
        );
      case 'tokenledger.token.expired.v1':
        return this.tokens.markExpired(manager, event.data.tokenId);
      case 'tokenledger.token.rotated.v1':
        return this.tokens.markRotated(
          manager,
          event.data.tokenId,
          event.data.newTokenId,
          event.data.graceEndsAt,
        );
      case 'tokenledger.token.issued.v1':
        return; // written by issue() itself
    }
  }

  /** Writes the decided events to the outbox and their effect to the tokens table. */
  private async record(manager: Tx, events: LifecycleEvent[], caller: Caller): Promise<void> {
    for (const event of events) {
      if (
        event.type !== 'tokenledger.token.issued.v1' &&
        event.type !== 'tokenledger.token.rotated.v1'
      )
        await this.apply(manager, event);
    }
    await this.outbox.append(manager, events, this.meta(caller));
  }

  /** The policy's rules, then the limits the token gets (rules max-rate-limit, max-credits). */
  private decideIssue(
    policy: Policy,
    input: IssueInput,
    scopes: string[],
    ttlSeconds: number,
    caller: Caller,
  ): { ok: true; limits: IssueLimits } | { ok: false; rule: string; message: string } {
    const checked = checkPolicy(
      policy,
      {
        owner: input.owner,
        scopes,
        ttlSeconds,
        ...(input.dpopJkt ? { dpopJkt: input.dpopJkt } : {}),
      },
      caller.scopes,
    );
    if (!checked.ok) return checked;
    return limitsFor(policy, {
      ...(input.rateLimit !== undefined ? { rateLimit: input.rateLimit } : {}),
      ...(input.credits !== undefined ? { credits: input.credits } : {}),
    });
  }

  private meta(caller: Caller): EventMeta {
    return { actor: caller.actor };
  }

  private ttlOf(input: IssueInput, policy: Policy, now: Date): number {
    if (input.expiresAt !== undefined) {
      const seconds = Math.round((Date.parse(input.expiresAt) - now.getTime()) / 1000);
      if (!(seconds > 0))
        throw new DomainError('invalid_expiry', 'expiresAt must be in the future');
      return seconds;
    }
    return input.ttlSeconds ?? policy.defaultTtlSeconds;
  }
}
