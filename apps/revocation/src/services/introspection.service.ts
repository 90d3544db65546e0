import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import type {
  Clock,
  IntrospectionAnswer,
  TokenledgerReason,
  TokenUsedV1,
} from '@tokenledger/contracts';
import { CLOCK, SERVICE_CONFIG } from '@tokenledger/service-host';
import { displayPrefix, isWellFormed, verifyDpopProof } from '@tokenledger/token-core';
import type { RevocationConfig } from '../config';
import type { TokenStatus } from '../repositories/status.repository';
import { CredentialResolver } from './credential-resolver';
import { DpopReplayStore } from './dpop-replay-store';
import { LimitsService } from './limits.service';
import { StatusCache } from './status-cache';
import { UsageReporter } from './usage-reporter';

export type Rejection = NonNullable<TokenUsedV1['rejection']>;

export interface IntrospectionRequest {
  token: string;
  /** The client's DPoP proof, forwarded by the resource server. */
  dpop?: string;
  htm?: string;
  htu?: string;
  /** Who asks (the resource server), for the usage event. */
  actor: string;
  service: string;
  operation: string;
  ip: string;
  userAgent?: string;
  scopesRequested: string[];
}

export type Evaluation =
  | { active: true; status: TokenStatus; jkt?: string }
  | { active: false; rejection: Rejection; status?: TokenStatus };

@Injectable()
export class IntrospectionService {
  constructor(
    private readonly resolver: CredentialResolver,
    private readonly replay: DpopReplayStore,
    private readonly statuses: StatusCache,
    private readonly usage: UsageReporter,
    private readonly limits: LimitsService,
    @Inject(SERVICE_CONFIG) private readonly config: RevocationConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Is this token usable right now (format, known, not revoked, not expired)? No DPoP, no event. */
  async evaluate(token: string, now = this.clock.now()): Promise<Evaluation> {
    if (!isWellFormed(token)) return { active: false, rejection: 'unknown' };
    const resolved = await this.resolver.resolve(token);
    const status = resolved
      ? await this.statuses.get(resolved.tokenId, resolved.record)
      : undefined;
    if (!status) return { active: false, rejection: 'unknown' };
    if (status.status === 'revoked') return { active: false, rejection: 'revoked', status };
    if (status.status === 'expired' || status.expiresAt.getTime() <= now)
      return { active: false, rejection: 'expired', status };
    return { active: true, status };
  }

  async introspect(request: IntrospectionRequest): Promise<IntrospectionAnswer> {
    const now = this.clock.now();
    let result = await this.evaluate(request.token, now);
    if (result.active && result.status.dpopJkt) {
      result = await this.checkDpop(request, result.status, now);
    }
    let limited: TokenledgerReason | undefined;
    if (result.active) {
      limited = await this.limits.check(result.status.tokenId, now);
      if (limited)
        result = {
          active: false,
          rejection: limited === 'rate_limited' ? 'rate-limited' : 'credits-exhausted',
          status: result.status,
        };
    }
    const recorded = this.report(request, result, now);
    // USAGE_AUDIT=required: no answer before the use is on record (a 503 when it cannot be).
    if (recorded) await recorded;
    if (!result.active)
      return limited ? { active: false, tokenledger_reason: limited } : { active: false };
    const { status } = result;
    const answer: IntrospectionAnswer = {
      active: true,
      scope: status.scopes.join(' '),
      client_id: status.tokenId,
      sub: `${status.owner.type}:${status.owner.id}`,
      exp: Math.floor(status.expiresAt.getTime() / 1000),
      iat: Math.floor(status.issuedAt.getTime() / 1000),
      token_type: status.dpopJkt ? 'DPoP' : 'Bearer',
    };
    if (status.dpopJkt) answer.cnf = { jkt: status.dpopJkt };
    return answer;
  }

  /**
   * A DPoP-bound token is active only with a valid proof by its key for this request. Also the
   * check of operator auth (LocalAuthenticator): one set of checks and one jti store, so a proof
   * accepted here is refused everywhere else.
   */
  async checkDpop(
    request: Pick<IntrospectionRequest, 'token' | 'dpop' | 'htm' | 'htu'>,
    status: TokenStatus,
    now: number = this.clock.now(),
  ): Promise<Evaluation> {
    if (!request.dpop || !request.htm || !request.htu)
      return { active: false, rejection: 'dpop-invalid', status };
    const proof = await verifyDpopProof(request.dpop, {
      htm: request.htm,
      htu: request.htu,
      accessToken: request.token,
      expectedJkt: status.dpopJkt ?? undefined,
      now,
      maxAgeSeconds: this.config.DPOP_MAX_AGE_SECONDS,
      isReplay: (jti, expiresAtMs) => this.replay.isReplay(status.tokenId, jti, expiresAtMs),
    });
    return proof.ok
      ? { active: true, status, jkt: proof.jkt }
      : { active: false, rejection: 'dpop-invalid', status };
  }

  // Built with assignments, not conditional spreads: on this path (every introspection) a spread
  // of `cond ? {...} : {}` cost about 3 us per object (micro-benchmark), assignments 0.4 us.
  private report(
    request: IntrospectionRequest,
    result: Evaluation,
    now: number,
  ): Promise<void> | undefined {
    const status = result.status;
    const data: TokenUsedV1 = {
      service: request.service,
      operation: request.operation,
      ip: isIP(request.ip) ? request.ip : '0.0.0.0',
      scopesRequested: request.scopesRequested,
      outcome: result.active ? 'accepted' : 'rejected',
      at: new Date(now).toISOString(),
    };
    if (status) {
      data.tokenId = status.tokenId;
      data.prefix = status.prefix;
    } else if (isWellFormed(request.token)) {
      data.prefix = displayPrefix(request.token);
    }
    if (request.userAgent) data.userAgent = request.userAgent.slice(0, 512);
    if (!result.active) data.rejection = result.rejection;
    else if (result.jkt) data.dpopJkt = result.jkt;
    if (this.usage.required) return this.usage.record(data, request.actor, now);
    this.usage.report(data, request.actor, now);
    return undefined;
  }
}
