// Baseline (b) of `npm run bench:ledger`, shared with bench/probes/append-in-process.cjs: N rows
// of a given payload size into a table with one index, INSERT_BATCH rows per multi-row INSERT
// (each statement its own transaction when run outside one).
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
