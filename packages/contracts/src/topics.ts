/** Kafka topics of Tokenledger. */
export const TOPICS = {
  lifecycle: 'tokens.lifecycle',
  usage: 'tokens.usage',
  commands: 'tokens.commands',
  anomalies: 'anomalies',
  opsAudit: 'ops.audit',
  checkpoints: 'ledger.checkpoints',
  dlq: 'ledger.dlq',
} as const;

export type TopicKey = keyof typeof TOPICS;
export type TopicName = (typeof TOPICS)[TopicKey];

/** Topics whose every record becomes a ledger leaf (one verifiable log per partition). */
export const AUDITED_TOPICS = [
  TOPICS.lifecycle,
  TOPICS.usage,
  TOPICS.commands,
  TOPICS.anomalies,
  TOPICS.opsAudit,
] as const satisfies readonly TopicName[];

export type AuditedTopic = (typeof AUDITED_TOPICS)[number];

export function isAuditedTopic(topic: string): topic is AuditedTopic {
  return (AUDITED_TOPICS as readonly string[]).includes(topic);
}

const LEGAL_CHARS = /^[A-Za-z0-9._-]*$/;
const MAX_TOPIC_LENGTH = 249; // Kafka's limit

/**
 * `${prefix}${base}`: lets tests (and side-by-side environments) use fresh topics, e.g.
 * `topicName(TOPICS.usage, 't123.')` is `t123.tokens.usage`. Both parts must use Kafka's topic
 * charset [A-Za-z0-9._-]; throws RangeError otherwise.
 */
export function topicName(base: string, prefix = ''): string {
  if (!LEGAL_CHARS.test(prefix)) {
    throw new RangeError(`topic prefix ${JSON.stringify(prefix)} may only contain [A-Za-z0-9._-]`);
  }
  const name = `${prefix}${base}`;
  if (
    base === '' ||
    !LEGAL_CHARS.test(base) ||
    name === '.' ||
    name === '..' ||
    name.length > MAX_TOPIC_LENGTH
  ) {
    throw new RangeError(`${JSON.stringify(name)} is not a legal Kafka topic name`);
  }
  return name;
}
