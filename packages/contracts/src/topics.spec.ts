import { AUDITED_TOPICS, TOPICS, isAuditedTopic, topicName } from './topics';

describe('topics', () => {
  it('names the topics of the architecture', () => {
    expect(TOPICS).toEqual({
      lifecycle: 'tokens.lifecycle',
      usage: 'tokens.usage',
      commands: 'tokens.commands',
      anomalies: 'anomalies',
      opsAudit: 'ops.audit',
      checkpoints: 'ledger.checkpoints',
      dlq: 'ledger.dlq',
    });
  });

  it('audits every event topic but not the ledger own outputs', () => {
    expect([...AUDITED_TOPICS].sort()).toEqual([
      'anomalies',
      'ops.audit',
      'tokens.commands',
      'tokens.lifecycle',
      'tokens.usage',
    ]);
    expect(isAuditedTopic(TOPICS.checkpoints)).toBe(false);
    expect(isAuditedTopic(TOPICS.dlq)).toBe(false);
    expect(isAuditedTopic('tokens.usage')).toBe(true);
  });

  it('prefixes topic names for isolated tests', () => {
    expect(topicName(TOPICS.usage, 't123.')).toBe('t123.tokens.usage');
    expect(topicName(TOPICS.usage)).toBe('tokens.usage');
    expect(topicName(TOPICS.dlq, 'A-b_9.')).toBe('A-b_9.ledger.dlq');
  });

  it.each(['t 1.', 't/1.', 'é.', 't1:'])('rejects the prefix %j', (prefix) => {
    expect(() => topicName(TOPICS.usage, prefix)).toThrow(RangeError);
  });

  it('rejects empty and over-long names', () => {
    expect(() => topicName('')).toThrow(RangeError);
    expect(() => topicName('.')).toThrow(RangeError);
    expect(() => topicName(TOPICS.usage, 'x'.repeat(240))).toThrow(RangeError);
  });
});
