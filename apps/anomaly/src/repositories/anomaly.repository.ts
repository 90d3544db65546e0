import { Inject, Injectable } from '@nestjs/common';
import { SchemaRepository, WhereBuilder, type Tx } from '@tokenledger/sql';
import { SERVICE_CONFIG } from '@tokenledger/service-host';
import { DataSource } from 'typeorm';
import type { AnomalyConfig } from '../config';
import { emptyState, type DetectorState, type Finding } from '../domain/detector';
import {
  RULE_NAMES,
  defaultRules,
  ruleParamSchemas,
  type RuleConfig,
  type RuleName,
  type RuleSet,
} from '../domain/rules';

export interface AnomalyView {
  id: string;
  rule: string;
  severity: string;
  tokenId: string;
  action: string;
  evidence: string[];
  detectedAt: string;
  summary: string;
}

interface AnomalyRow {
  anomaly_id: string;
  rule: string;
  severity: string;
  token_id: string;
  action: string;
  evidence: string[];
  detected_at: Date;
  summary: string;
}

const toView = (r: AnomalyRow): AnomalyView => ({
  id: r.anomaly_id,
  rule: r.rule,
  severity: r.severity,
  tokenId: r.token_id,
  action: r.action,
  evidence: r.evidence,
  detectedAt: r.detected_at.toISOString(),
  summary: r.summary,
});

@Injectable()
export class AnomalyRepository extends SchemaRepository {
  constructor(dataSource: DataSource, @Inject(SERVICE_CONFIG) config: AnomalyConfig) {
    super(dataSource, config.DB_SCHEMA);
  }

  /**
   * Serializes the detector's transactions per token: MUST be the first statement of a batch's
   * transaction. Two batches that name a token (its uses on tokens.usage and its token.issued on
   * tokens.lifecycle, handled at once by this instance or by two) then run one after the other,
   * and the second sees what the first committed (the pending-revoke hand-off relies on it). The
   * locks are taken in one statement in key order, so two batches cannot deadlock on them.
   */
  async lockTokens(m: Tx, tokenIds: readonly string[]): Promise<void> {
    if (tokenIds.length === 0) return;
    await m.query(
      `SELECT count(pg_advisory_xact_lock(hashtext('tokenledger:anomaly:token'), k))
       FROM (SELECT DISTINCT hashtext(t) AS k FROM unnest($1::text[]) AS u(t) ORDER BY k) AS s`,
      [tokenIds],
    );
  }

  async lockStates(m: Tx, tokenIds: string[]): Promise<Map<string, DetectorState>> {
    const unique = [...new Set(tokenIds)].sort();
    if (unique.length === 0) return new Map();
    const rows = await m.query<Array<{ token_id: string; state: DetectorState }>>(
      `SELECT token_id, state FROM ${this.s}.token_state WHERE token_id = ANY($1::uuid[]) ORDER BY token_id FOR UPDATE`,
      [unique],
    );
    const found = new Map(rows.map((r) => [r.token_id, r.state]));
    return new Map(unique.map((id) => [id, found.get(id) ?? emptyState(id)]));
  }

  /** Saves the states (one per token) in one statement. */
  async saveStates(m: Tx, states: DetectorState[]): Promise<void> {
    if (states.length === 0) return;
    await m.query(
      `INSERT INTO ${this.s}.token_state (token_id, state)
       SELECT token_id, state::jsonb FROM unnest($1::uuid[], $2::text[]) AS s(token_id, state)
       ON CONFLICT (token_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`,
      [states.map((s) => s.tokenId), states.map((s) => JSON.stringify(s))],
    );
  }

  /**
   * Records findings in one statement; returns those not recorded before, in the order given. A
   * finding already recorded, or a second copy of one in `findings` (same anomalyId), is not
   * returned: it MUST cause nothing twice.
   */
  async insertFindings(m: Tx, findings: readonly Finding[]): Promise<Finding[]> {
    if (findings.length === 0) return [];
    const rows = await m.query<Array<{ anomaly_id: string }>>(
      `INSERT INTO ${this.s}.anomalies (anomaly_id, rule, severity, token_id, action, evidence, detected_at, summary)
       SELECT x.anomaly_id, x.rule, x.severity, x.token_id, x.action, x.evidence, x.detected_at, x.summary
       FROM jsonb_to_recordset($1::jsonb) AS x(anomaly_id uuid, rule text, severity text,
         token_id uuid, action text, evidence uuid[], detected_at timestamptz, summary text)
       ON CONFLICT DO NOTHING RETURNING anomaly_id`,
      [
        JSON.stringify(
          findings.map((f) => ({
            anomaly_id: f.anomalyId,
            rule: f.rule,
            severity: f.severity,
            token_id: f.tokenId,
            action: f.action,
            evidence: f.evidence,
            detected_at: f.detectedAt,
            summary: f.summary,
          })),
        ),
      ],
    );
    const inserted = new Set(rows.map((r) => r.anomaly_id));
    // delete: the first copy of an id is the one returned.
    return findings.filter((f) => inserted.delete(f.anomalyId));
  }

  /** The owner id of a token, from the inventory (token.issued); undefined when not known. */
  async ownerOf(tokenId: string): Promise<string | undefined> {
    const [row] = await this.dataSource.query<Array<{ owner_id: string }>>(
      `SELECT owner_id FROM ${this.s}.inventory WHERE token_id = $1`,
      [tokenId],
    );
    return row?.owner_id;
  }

  async find(id: string): Promise<AnomalyView | undefined> {
    const [row] = await this.dataSource.query<AnomalyRow[]>(
      `SELECT * FROM ${this.s}.anomalies WHERE anomaly_id = $1`,
      [id],
    );
    return row && toView(row);
  }

  async list(filter: {
    tokenId?: string;
    rule?: string;
    severity?: string;
    since?: string;
    after?: { at: string; id: string };
    /** Only findings about tokens of these owners (from the inventory); empty: none. */
    ownerIds?: readonly string[];
    limit: number;
  }): Promise<AnomalyView[]> {
    const where = new WhereBuilder();
    if (filter.tokenId) where.add('token_id = ?', filter.tokenId);
    if (filter.ownerIds)
      where.add(
        `token_id IN (SELECT token_id FROM ${this.s}.inventory WHERE owner_id = ANY(?::text[]))`,
        [...filter.ownerIds],
      );
    if (filter.rule) where.add('rule = ?', filter.rule);
    if (filter.severity) where.add('severity = ?', filter.severity);
    if (filter.since) where.add('detected_at >= ?', filter.since);
    if (filter.after)
      where.add('(detected_at, anomaly_id) > (?, ?)', filter.after.at, filter.after.id);
    const rows = await this.page<AnomalyRow>({
      columns: '*',
      table: 'anomalies',
      where,
      orderBy: 'detected_at, anomaly_id',
      limit: filter.limit,
    });
    return rows.map(toView);
  }

  async rules(m: Tx = this.dataSource.manager): Promise<RuleSet> {
    const set = defaultRules();
    const rows = await m.query<Array<{ rule: string; config: RuleConfig }>>(
      `SELECT rule, config FROM ${this.s}.rules`,
    );
    for (const row of rows) {
      if (!(RULE_NAMES as readonly string[]).includes(row.rule)) continue;
      const name = row.rule as RuleName;
      const params = ruleParamSchemas[name].parse(row.config.params);
      (set as Record<RuleName, RuleConfig>)[name] = { ...row.config, rule: name, params };
    }
    return set;
  }

  async saveRule(m: Tx, config: RuleConfig, updatedBy: string): Promise<void> {
    await m.query(
      `INSERT INTO ${this.s}.rules (rule, config, updated_by) VALUES ($1, $2, $3)
       ON CONFLICT (rule) DO UPDATE SET config = EXCLUDED.config, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [config.rule, JSON.stringify(config), updatedBy],
    );
  }

  /** A revoke to decide once the token's owner is known (see DetectionService). */
  async addPendingRevoke(
    m: Tx,
    p: { anomalyId: string; tokenId: string; reporter: string; causeEventId: string },
  ): Promise<void> {
    await m.query(
      `INSERT INTO ${this.s}.pending_revokes (anomaly_id, token_id, reporter, cause_event_id)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [p.anomalyId, p.tokenId, p.reporter, p.causeEventId],
    );
  }

  /** Removes and returns the pending revokes of these tokens. */
  async takePendingRevokes(
    m: Tx,
    tokenIds: string[],
  ): Promise<
    Array<{ anomalyId: string; tokenId: string; reporter: string; causeEventId: string }>
  > {
    if (tokenIds.length === 0) return [];
    const rows = await m.query<
      Array<{ anomaly_id: string; token_id: string; reporter: string; cause_event_id: string }>
    >(
      // In a CTE: TypeORM answers a top-level DELETE with [rows, count] instead of the rows.
      `WITH taken AS (
         DELETE FROM ${this.s}.pending_revokes WHERE token_id = ANY($1::uuid[])
         RETURNING anomaly_id, token_id, reporter, cause_event_id
       ) SELECT * FROM taken`,
      [tokenIds],
    );
    return rows.map((r) => ({
      anomalyId: r.anomaly_id,
      tokenId: r.token_id,
      reporter: r.reporter,
      causeEventId: r.cause_event_id,
    }));
  }

  /**
   * Before a rebuild, in its transaction: forgets the detector's state, its findings (except
   * stale-token ones, which come from wall-clock sweeps, not the streams) and which events it saw.
   */
  async resetDetector(tx: Tx): Promise<void> {
    await tx.query(`DELETE FROM ${this.s}.pending_revokes`);
    await tx.query(`DELETE FROM ${this.s}.token_state`);
    await tx.query(`DELETE FROM ${this.s}.anomalies WHERE rule <> 'stale-token'`);
    await tx.query(`DELETE FROM ${this.s}.inbox WHERE consumer = 'detector'`);
  }
}
