import { Inject, Injectable } from '@nestjs/common';
import { operatorTokenIdOf } from '@tokenledger/auth';
import type { EventEnvelope } from '@tokenledger/contracts';
import { EventOutbox, type EventDraft } from '@tokenledger/messaging-nest';
import {
  markProcessedMany,
  type ConsumedEvent,
  type EncodedOutboxMessage,
} from '@tokenledger/messaging';
import { MetricsService, SERVICE_CONFIG } from '@tokenledger/service-host';
import { UnitOfWork, type Tx } from '@tokenledger/sql';
import type { AnomalyConfig } from '../config';
import { detectInPlace, type DetectorEvent, type Finding } from '../domain/detector';
import { AnomalyRepository } from '../repositories/anomaly.repository';
import { InventoryRepository } from '../repositories/inventory.repository';
import { WebhookService } from './webhook.service';

export const DETECTOR_ACTOR = 'service:anomaly';
/** The source of introspection's token.used events (apps/revocation UsageReporter). */
export const INTROSPECTION_SOURCE = '/tokenledger/revocation';
/** The source of an SDK UsageReporter's token.used events: `/services/<service>`. */
const SDK_SOURCE_PREFIX = '/services/';
/** In the summary of a finding whose revoke waits for the token's owner to be known. */
export const PENDING_NOTE =
  "revoke pending: the token's owner is not known yet; requested when its token.issued shows the reporter is the owner's service";

/** The detector's view of an event, or undefined for events no rule looks at. */
export function toDetectorEvent(event: EventEnvelope): DetectorEvent | undefined {
  switch (event.type) {
    case 'tokenledger.token.used.v1':
      return event.data.tokenId
        ? {
            kind: 'used',
            id: event.id,
            data: { ...event.data, tokenId: event.data.tokenId },
            introspected: event.source === INTROSPECTION_SOURCE,
          }
        : undefined;
    case 'tokenledger.token.issued.v1':
      return {
        kind: 'issued',
        id: event.id,
        tokenId: event.data.tokenId,
        issuedAt: event.data.issuedAt,
        expiresAt: event.data.expiresAt,
        ...(event.data.dpopJkt ? { dpopJkt: event.data.dpopJkt } : {}),
      };
    case 'tokenledger.token.revoked.v1':
      return {
        kind: 'revoked',
        id: event.id,
        tokenId: event.data.tokenId,
        revokedAt: event.data.revokedAt,
      };
    case 'tokenledger.token.expired.v1':
      return {
        kind: 'expired',
        id: event.id,
        tokenId: event.data.tokenId,
        expiredAt: event.data.expiredAt,
      };
    case 'tokenledger.token.leak-reported.v1':
      return event.data.tokenId
        ? { kind: 'leaked', id: event.id, tokenId: event.data.tokenId, at: event.time }
        : undefined;
    default:
      return undefined;
  }
}

function tokenIdOf(event: DetectorEvent): string {
  return 'tokenId' in event ? event.tokenId : event.data.tokenId;
}

/**
 * Runs the rules over a batch of events in one transaction: detector state, findings and the
 * events they cause (anomaly.detected; token.revoke-requested for a `revoke` action, caused by
 * the anomaly) commit together. Redelivered events are dropped by id; a finding already recorded
 * (same evidence -> same anomalyId) causes nothing twice.
 */
@Injectable()
export class DetectionService {
  constructor(
    private readonly repository: AnomalyRepository,
    private readonly inventory: InventoryRepository,
    private readonly outbox: EventOutbox,
    private readonly uow: UnitOfWork,
    private readonly webhooks: WebhookService,
    @Inject(SERVICE_CONFIG) private readonly config: AnomalyConfig,
    metrics: MetricsService,
  ) {
    this.outsideWindow = metrics.counter(
      'tokenledger_anomaly_events_outside_window_total',
      "Uses older than their token's newest use by more than the windowed rules look back: judged by the lifecycle rules only, kept out of the detector state",
    );
  }

  private readonly outsideWindow: ReturnType<MetricsService['counter']>;

  async handle(batch: ConsumedEvent[]): Promise<Finding[]> {
    const raised = await this.uow.run((m) =>
      this.process(
        m,
        batch.map((b) => b.event),
        true,
      ),
    );
    if (raised.length > 0) this.outbox.publishSoon();
    return raised;
  }

  /**
   * Applies events inside the caller's transaction. With `emit` false (a rebuild) findings are
   * recorded but cause no events: their actions were taken when they were first found.
   */
  async process(m: Tx, envelopes: EventEnvelope[], emit: boolean): Promise<Finding[]> {
    const fresh: Array<{ envelope: EventEnvelope; event: DetectorEvent }> = [];
    const consumed: EventEnvelope[] = [];
    await this.repository.lockTokens(
      m,
      envelopes.map((e) => e.subject),
    );
    // One statement for the batch's inbox marks; a redelivered event (or the second copy of one
    // in the same batch) is skipped.
    const unseen = await markProcessedMany(
      m,
      this.config.DB_SCHEMA,
      'detector',
      envelopes.map((e) => e.id),
    );
    for (const envelope of envelopes) {
      if (!unseen.delete(envelope.id.toLowerCase())) continue;
      consumed.push(envelope);
      const event = toDetectorEvent(envelope);
      if (event) fresh.push({ envelope, event });
    }
    await this.inventory.applyAll(m, consumed);
    await this.decidePendingRevokes(m, consumed, emit);
    // Lifecycle events subscribers asked for (revoked, expired, leak-reported...): queued with
    // the batch that consumed them. A rebuild queues nothing: they were delivered then.
    if (emit) await this.webhooks.enqueue(m, consumed);
    if (fresh.length === 0) return [];
    const rules = await this.repository.rules(m);
    const states = await this.repository.lockStates(
      m,
      fresh.map(({ event }) => tokenIdOf(event)),
    );
    // Judged in memory first; the findings, their events and the states are then written with a
    // few statements for the whole batch, not a few per finding.
    const judged: Array<{ finding: Finding; cause: EventEnvelope; pending?: string }> = [];
    for (const { envelope, event } of fresh) {
      const tokenId = tokenIdOf(event);
      const state = states.get(tokenId);
      if (!state) continue;
      // The states were loaded for this transaction: changed in place, saved once below.
      const result = detectInPlace(state, event, rules);
      if (result.outsideWindow) this.outsideWindow.inc();
      for (const found of result.findings) {
        const decision = await this.revokeDecision(m, found, envelope);
        judged.push(
          decision === 'act'
            ? { finding: found, cause: envelope }
            : {
                finding: {
                  ...found,
                  action: 'alert',
                  summary: `${found.summary} (${'withheld' in decision ? decision.withheld : PENDING_NOTE})`,
                },
                cause: envelope,
                ...('pending' in decision ? { pending: decision.pending } : {}),
              },
        );
      }
    }
    const recorded = new Set(
      await this.repository.insertFindings(
        m,
        judged.map(({ finding }) => finding),
      ),
    );
    const raised = judged.filter(({ finding }) => recorded.has(finding));
    for (const { finding, cause, pending } of raised)
      if (pending !== undefined)
        await this.repository.addPendingRevoke(m, {
          anomalyId: finding.anomalyId,
          tokenId: finding.tokenId,
          reporter: pending,
          causeEventId: cause.id,
        });
    if (emit) await this.actAll(m, raised);
    await this.repository.saveStates(m, [...states.values()]);
    return raised.map(({ finding }) => finding);
  }

  /**
   * A usage report (not introspection) may trigger an automatic revoke only when it comes from
   * the token owner's service; otherwise any `usage:report` holder could get another team's
   * token revoked. The reporter is an SDK reporter's source `/services/<name>` (proven by its
   * signature: EVENT_SIGNERS binds each key to its sources), or the owner of the operator token
   * that called `POST /v1/usage`. Returns why the revoke is withheld (the finding becomes an
   * alert), or undefined. Ownership never changes, so a rebuild decides the same.
   */
  private async revokeDecision(
    m: Tx,
    finding: Finding,
    cause: EventEnvelope,
  ): Promise<'act' | { withheld: string } | { pending: string }> {
    if (finding.action !== 'revoke' || cause.type !== 'tokenledger.token.used.v1') return 'act';
    if (cause.source === INTROSPECTION_SOURCE) return 'act';
    // An operator's call (POST /v1/usage) has the actor `operator:<tokenId>` (auth's operatorActor).
    const operatorTokenId = operatorTokenIdOf(cause.actor);
    const reporter = cause.source.startsWith(SDK_SOURCE_PREFIX)
      ? `service:${cause.source.slice(SDK_SOURCE_PREFIX.length)}`
      : operatorTokenId !== undefined
        ? await this.inventory.ownerOf(m, operatorTokenId)
        : undefined;
    const owner = await this.inventory.ownerOf(m, finding.tokenId);
    // The use came before the token's token.issued (the topics interleave freely): its owner
    // decides when it arrives (decidePendingRevokes).
    if (owner === undefined && reporter !== undefined) return { pending: reporter };
    if (reporter !== undefined && reporter === owner) return 'act';
    return {
      withheld: `revoke withheld: reported by ${reporter ?? cause.actor}, not by the token owner's service`,
    };
  }

  /**
   * The revokes asked for by findings on tokens whose owner was not known yet: decided by the
   * token.issued events of this batch. The reporter is the owner's service: the revoke is
   * requested now (referring to the finding); otherwise nothing more happens, as for any
   * withheld revoke. A rebuild (emit false) decides nothing: the requests were made then.
   */
  private async decidePendingRevokes(
    m: Tx,
    consumed: readonly EventEnvelope[],
    emit: boolean,
  ): Promise<void> {
    const issued = consumed.flatMap((e) =>
      e.type === 'tokenledger.token.issued.v1' ? [e.data.tokenId] : [],
    );
    for (const p of await this.repository.takePendingRevokes(m, issued)) {
      if (!emit || (await this.inventory.ownerOf(m, p.tokenId)) !== p.reporter) continue;
      await this.requestRevoke(m, p.tokenId, p.anomalyId, { causationid: p.causeEventId });
      this.outbox.publishSoon();
    }
  }

  /**
   * Records the events of new findings in one outbox statement: anomaly.detected for each, and
   * token.revoke-requested (caused by it) for a `revoke` action. `cause` is the event that
   * triggered the finding (none for sweeps). MUST run in the transaction that recorded them.
   */
  async actAll(
    m: Tx,
    raised: ReadonlyArray<{ finding: Finding; cause?: EventEnvelope }>,
  ): Promise<void> {
    if (raised.length === 0) return;
    const rows: EncodedOutboxMessage[] = [];
    const detected: EventEnvelope[] = [];
    for (const { finding, cause } of raised) {
      const made = this.outbox.prepare(
        [
          {
            type: 'tokenledger.anomaly.detected.v1',
            data: {
              anomalyId: finding.anomalyId,
              rule: finding.rule,
              severity: finding.severity,
              tokenId: finding.tokenId,
              evidence: finding.evidence,
              action: finding.action,
              detectedAt: finding.detectedAt,
              summary: finding.summary.slice(0, 1024),
            },
          },
        ],
        {
          actor: DETECTOR_ACTOR,
          ...(cause ? { correlationid: cause.correlationid, causationid: cause.id } : {}),
        },
      );
      const [event] = made.events;
      if (!event) continue;
      detected.push(event);
      rows.push(...made.rows);
      if (finding.action === 'revoke')
        rows.push(
          ...this.outbox.prepare([revokeRequest(finding.tokenId, finding.anomalyId)], {
            actor: DETECTOR_ACTOR,
            correlationid: event.correlationid,
            causationid: event.id,
          }).rows,
        );
    }
    await this.outbox.write(m, rows);
    await this.webhooks.enqueue(m, detected);
  }

  private async requestRevoke(
    m: Tx,
    tokenId: string,
    anomalyId: string,
    links: { correlationid?: string; causationid?: string },
  ): Promise<void> {
    await this.outbox.append(m, [revokeRequest(tokenId, anomalyId)], {
      actor: DETECTOR_ACTOR,
      ...links,
    });
  }
}

function revokeRequest(
  tokenId: string,
  anomalyId: string,
): EventDraft<'tokenledger.token.revoke-requested.v1'> {
  return {
    type: 'tokenledger.token.revoke-requested.v1',
    data: { tokenId, reason: 'anomaly', requester: DETECTOR_ACTOR, anomalyId },
  };
}
