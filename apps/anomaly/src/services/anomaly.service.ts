import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { reaches, type OwnerReach } from '@tokenledger/auth';
import type { Principal } from '@tokenledger/auth';
import { canonicalize } from '@tokenledger/canonical-json';
import type { Clock, TokenUsedV1 } from '@tokenledger/contracts';
import { EventOutbox } from '@tokenledger/messaging-nest';
import { CLOCK, decodeCursor, encodeCursor } from '@tokenledger/service-host';
import { DomainError } from '@tokenledger/errors';
import { UnitOfWork } from '@tokenledger/sql';
import type { z } from 'zod';
import {
  RULE_NAMES,
  ruleUpdateSchema,
  updateRule,
  type RuleConfig,
  type RuleName,
} from '../domain/rules';
import { AnomalyRepository, type AnomalyView } from '../repositories/anomaly.repository';

const DAY_MS = 86_400_000;

@Injectable()
export class AnomalyService {
  constructor(
    private readonly repository: AnomalyRepository,
    private readonly outbox: EventOutbox,
    private readonly uow: UnitOfWork,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async list(
    q: {
      tokenId?: string;
      rule?: string;
      severity?: string;
      since?: string;
      cursor?: string;
      limit: number;
    },
    reach: OwnerReach = { all: true },
  ): Promise<{ anomalies: AnomalyView[]; cursor: string | null }> {
    let after: { at: string; id: string } | undefined;
    if (q.cursor) {
      const [at, id] = decodeCursor(q.cursor, ['string', 'string']);
      after = { at, id };
    }
    const anomalies = await this.repository.list({
      limit: q.limit,
      ...(q.tokenId ? { tokenId: q.tokenId } : {}),
      ...(q.rule ? { rule: q.rule } : {}),
      ...(q.severity ? { severity: q.severity } : {}),
      ...(q.since ? { since: q.since } : {}),
      ...(after ? { after } : {}),
      ...(reach.all ? {} : { ownerIds: reach.owners }),
    });
    const last = anomalies.length === q.limit ? anomalies[anomalies.length - 1] : undefined;
    return { anomalies, cursor: last ? encodeCursor([last.detectedAt, last.id]) : null };
  }

  /** Undefined (404) when unknown or about a token of an owner out of `reach`. */
  async get(id: string, reach: OwnerReach = { all: true }): Promise<AnomalyView | undefined> {
    const found = await this.repository.find(id);
    if (!found || reach.all) return found;
    const owner = await this.repository.ownerOf(found.tokenId);
    return owner !== undefined && reaches(reach, owner) ? found : undefined;
  }

  async rules(): Promise<RuleConfig[]> {
    return Object.values(await this.repository.rules());
  }

  /** Validated against the rule's own parameter schema; recorded as ops.policy-changed. */
  async updateRule(
    rule: RuleName,
    update: z.infer<typeof ruleUpdateSchema>,
    principal: Principal,
  ): Promise<RuleConfig> {
    const result = await this.uow.run(async (m) => {
      const current = (await this.repository.rules(m))[rule] as RuleConfig;
      const next = updateRule(current, update);
      const changedFields = (['enabled', 'severity', 'action', 'params'] as const).filter(
        (k) => canonicalize(current[k]) !== canonicalize(next[k]),
      );
      if (changedFields.length === 0) return next;
      await this.repository.saveRule(m, next, principal.actor);
      await this.outbox.append(
        m,
        [
          {
            type: 'tokenledger.ops.policy-changed.v1',
            data: {
              policyId: `anomaly-rule.${rule}`,
              version: 1,
              changedFields,
              policyDigest: createHash('sha256').update(canonicalize(next)).digest('hex'),
              changedAt: new Date(this.clock.now()).toISOString(),
            },
          },
        ],
        { actor: principal.actor },
      );
      return next;
    });
    this.outbox.publishSoon();
    return result;
  }

  /** Applies ANOMALY_RULES at start; each update is validated like a PUT. */
  async seedRules(json: string | undefined): Promise<void> {
    if (!json) return;
    const updates = JSON.parse(json) as Record<string, unknown>;
    for (const [rule, update] of Object.entries(updates)) {
      if (!(RULE_NAMES as readonly string[]).includes(rule))
        throw new Error(`ANOMALY_RULES: unknown rule ${rule}`);
      await this.updateRule(rule as RuleName, ruleUpdateSchema.parse(update), {
        tokenId: 'system',
        scopes: [],
        actor: 'system',
      });
    }
  }

  /** Publishes usage reports as token.used events (through the outbox: nothing lost). */
  async reportUsage(
    events: Array<Omit<TokenUsedV1, 'at' | 'tokenId'> & { tokenId: string; at?: string }>,
    principal: Principal,
  ): Promise<number> {
    const now = this.clock.now();
    const data = events.map((e, i): TokenUsedV1 => {
      const at = e.at ? Date.parse(e.at) : now;
      if (at > now + 5000) throw new DomainError('bad_usage', `events[${i}].at is in the future`);
      if (at < now - DAY_MS)
        throw new DomainError('bad_usage', `events[${i}].at is more than 24 h old`);
      if ((e.outcome === 'rejected') !== (e.rejection !== undefined))
        throw new DomainError(
          'bad_usage',
          `events[${i}]: rejection is required exactly when outcome is rejected`,
        );
      return { ...e, at: new Date(at).toISOString() };
    });
    await this.uow.run((m) =>
      this.outbox.append(
        m,
        data.map((d) => ({ type: 'tokenledger.token.used.v1' as const, data: d })),
        { actor: principal.actor },
      ),
    );
    this.outbox.publishSoon();
    return data.length;
  }
}
