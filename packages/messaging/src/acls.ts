import { TOPICS, topicName, type TopicName } from '@tokenledger/contracts';
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  ResourcePatternTypes,
  type AclEntry,
  type Admin,
} from 'kafkajs';

/** Kafka principals (SCRAM user names) of Tokenledger's clients; `admin` is the super user. */
export type ClientPrincipal = 'issuance' | 'revocation' | 'anomaly' | 'ledger' | 'usage-reporter';

interface Grants {
  /** Topics the principal produces to. */
  writes: readonly TopicName[];
  /** Topics the principal consumes. */
  reads: readonly TopicName[];
  /** Consumer group id prefixes (after the group prefix) the principal joins. */
  groups: readonly string[];
}

/**
 * Who may write and read what, derived from the producers and consumers in the code
 * (packages/contracts EVENT_TOPIC, each app's consumers). Every consumer dead-letters to
 * `ledger.dlq`. `tokenledger-rebuild-` is readTopicToEnd's group. Keep
 * docs/design/kafka-security.md in step with this table.
 */
export const ACL_TABLE: Readonly<Record<ClientPrincipal, Grants>> = {
  issuance: {
    // ops.audit: break-glass and policy changes; tokens.usage: last use of each token (search).
    writes: [TOPICS.lifecycle, TOPICS.opsAudit, TOPICS.dlq],
    reads: [TOPICS.lifecycle, TOPICS.usage],
    groups: ['tokenledger-issuance'],
  },
  revocation: {
    writes: [TOPICS.lifecycle, TOPICS.usage, TOPICS.dlq],
    reads: [TOPICS.lifecycle, TOPICS.commands],
    groups: ['tokenledger-revocation', 'tokenledger-rebuild-'],
  },
  anomaly: {
    // tokens.usage: POST /v1/usage publishes the reports of services that do not speak Kafka.
    writes: [TOPICS.anomalies, TOPICS.commands, TOPICS.opsAudit, TOPICS.usage, TOPICS.dlq],
    reads: [TOPICS.lifecycle, TOPICS.usage],
    groups: ['tokenledger-anomaly', 'tokenledger-rebuild-'],
  },
  ledger: {
    writes: [TOPICS.checkpoints, TOPICS.opsAudit, TOPICS.dlq],
    reads: [
      TOPICS.lifecycle,
      TOPICS.usage,
      TOPICS.commands,
      TOPICS.anomalies,
      TOPICS.opsAudit,
      TOPICS.checkpoints,
      TOPICS.dlq,
    ],
    groups: ['tokenledger-ledger', 'ledger-guard-', 'tokenledger-rebuild-'],
  },
  'usage-reporter': { writes: [TOPICS.usage], reads: [], groups: [] },
};

/** Replays write to topics the ledger creates; with ACLs their names start with this. */
export const REPLAY_TOPIC_PREFIX = 'replay.';

export interface AclPlanOptions {
  /** Topic prefix, as TOPIC_PREFIX ('' in production). */
  prefix?: string;
  /** Consumer group prefix, as KAFKA_GROUP_PREFIX (default: the topic prefix). */
  groupPrefix?: string;
}

function allow(
  principal: string,
  resourceType: AclResourceTypes,
  resourceName: string,
  operation: AclOperationTypes,
  pattern: ResourcePatternTypes = ResourcePatternTypes.LITERAL,
): AclEntry {
  return {
    resourceType,
    resourceName,
    resourcePatternType: pattern,
    principal: `User:${principal}`,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  };
}

/**
 * The ACL entries of {@link ACL_TABLE} for one topic prefix. Every client may DESCRIBE every
 * Tokenledger topic (so that idempotent provisioning sees that they exist); nothing else
 * beyond its table row.
 */
export function aclPlan(options: AclPlanOptions = {}): AclEntry[] {
  const prefix = options.prefix ?? '';
  const groupPrefix = options.groupPrefix ?? prefix;
  const all = Object.values(TOPICS);
  const entries: AclEntry[] = [];
  for (const [principal, grants] of Object.entries<Grants>(ACL_TABLE)) {
    for (const t of all)
      entries.push(
        allow(principal, AclResourceTypes.TOPIC, topicName(t, prefix), AclOperationTypes.DESCRIBE),
      );
    for (const t of grants.writes)
      entries.push(
        allow(principal, AclResourceTypes.TOPIC, topicName(t, prefix), AclOperationTypes.WRITE),
      );
    for (const t of grants.reads)
      entries.push(
        allow(principal, AclResourceTypes.TOPIC, topicName(t, prefix), AclOperationTypes.READ),
      );
    for (const g of grants.groups)
      for (const op of [AclOperationTypes.READ, AclOperationTypes.DESCRIBE])
        entries.push(
          allow(
            principal,
            AclResourceTypes.GROUP,
            `${g.startsWith('tokenledger-rebuild-') ? '' : groupPrefix}${g}`,
            op,
            ResourcePatternTypes.PREFIXED,
          ),
        );
  }
  for (const op of [
    AclOperationTypes.CREATE,
    AclOperationTypes.WRITE,
    AclOperationTypes.DESCRIBE,
    AclOperationTypes.DESCRIBE_CONFIGS,
  ])
    entries.push(
      allow(
        'ledger',
        AclResourceTypes.TOPIC,
        `${prefix}${REPLAY_TOPIC_PREFIX}`,
        op,
        ResourcePatternTypes.PREFIXED,
      ),
    );
  return entries;
}

/**
 * Creates the ACLs of {@link aclPlan}. `admin` MUST be connected as a super user. Idempotent:
 * Kafka keeps one binding per distinct entry, so applying the plan again changes nothing.
 * Returns how many entries it applied.
 */
export async function applyAcls(admin: Admin, options: AclPlanOptions = {}): Promise<number> {
  const acl = aclPlan(options);
  await admin.createAcls({ acl });
  return acl.length;
}
