// Baselines (b) and (c) of `npm run bench:ledger`, shared with bench/probes/append-in-process.cjs.
// (b): N rows of a given payload size into a table with one index, INSERT_BATCH rows per
// multi-row INSERT (each statement its own transaction when run outside one).
// (c) "the plain audit table": the same Kafka records, JSON-decoded and inserted as rows holding
// the record's bytes, with a unique event-id index and the ledger's query indexes (subject, type,
// actor, each with event time), INSERT_BATCH rows per statement. What an unverifiable audit table
// costs.
const { randomBytes } = require('node:crypto');

exports.INSERT_BATCH = 500;
exports.PLAIN_TABLE_DDL =
  'CREATE TABLE public.bench_rows (id bigserial PRIMARY KEY, log_id text, idx bigint, payload bytea)';

/** The statements (text + values) that insert `n` rows of `payloadSize` random bytes, built before timing. */
exports.plainInsertStatements = (n, payloadSize) => {
  const statements = [];
  for (let at = 0; at < n; at += exports.INSERT_BATCH) {
    const count = Math.min(exports.INSERT_BATCH, n - at);
    const values = [];
    const tuples = [];
    for (let k = 0; k < count; k++) {
      values.push(`bench-${(at + k) % 3}`, at + k, randomBytes(payloadSize));
      tuples.push(`($${values.length - 2}, $${values.length - 1}, $${values.length})`);
    }
    statements.push({
      text: `INSERT INTO public.bench_rows (log_id, idx, payload) VALUES ${tuples.join(', ')}`,
      values,
    });
  }
  return statements;
};

exports.AUDIT_TABLE_DDL = [
  'CREATE TABLE public.bench_audit (event_id uuid NOT NULL, event_type text NOT NULL, subject text NOT NULL, actor text NOT NULL, event_time timestamptz NOT NULL, payload bytea NOT NULL)',
  'CREATE UNIQUE INDEX bench_audit_event_id ON public.bench_audit (event_id)',
  'CREATE INDEX bench_audit_subject ON public.bench_audit (subject, event_time)',
  'CREATE INDEX bench_audit_type ON public.bench_audit (event_type, event_time)',
  'CREATE INDEX bench_audit_actor ON public.bench_audit (actor, event_time)',
].join('; ');

/**
 * Baseline (c), timed whole by the caller: decodes each record (JSON.parse of its bytes) and
 * inserts INSERT_BATCH rows per multi-row INSERT through `query(text, values)` (pg's
 * Client#query), each statement its own transaction.
 */
exports.auditInsert = async (query, records) => {
  for (let at = 0; at < records.length; at += exports.INSERT_BATCH) {
    const values = [];
    const tuples = [];
    for (const value of records.slice(at, at + exports.INSERT_BATCH)) {
      const e = JSON.parse(value.toString('utf8'));
      values.push(e.id, e.type, e.subject, e.actor, e.time, value);
      const n = values.length;
      tuples.push(`($${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`);
    }
    await query(
      `INSERT INTO public.bench_audit (event_id, event_type, subject, actor, event_time, payload) VALUES ${tuples.join(', ')}`,
      values,
    );
  }
};
