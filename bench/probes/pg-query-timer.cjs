// Preloaded into an app (`node --require bench/probes/pg-query-timer.cjs`, e.g. through
// BENCH_NODE_ARGS): times every pg query (from send to result, so including the wait behind the
// connection's earlier queries and the server's time) and every pool checkout, grouped by the
// statement's first words, and writes the table to $PG_TIMER_DIR/<app>-<pid>.json at exit.
// Only in the app named by PG_TIMER_APP (default issuance).
const path = require('node:path');
const fs = require('node:fs');

const app = process.env.PG_TIMER_APP ?? 'issuance';
if (process.argv[1]?.includes(`${path.sep}apps${path.sep}${app}${path.sep}`)) {
  const pg = require('pg');
  const stats = new Map();
  const add = (key, ms) => {
    const s = stats.get(key) ?? { n: 0, totalMs: 0, maxMs: 0, samples: [] };
    s.n += 1;
    s.totalMs += ms;
    s.maxMs = Math.max(s.maxMs, ms);
    if (s.samples.length < 20000) s.samples.push(ms);
    stats.set(key, s);
  };
  const keyOf = (text) =>
    String(typeof text === 'object' && text ? text.text : text)
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 60);
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function timedQuery(config, values, callback) {
    const started = performance.now();
    const key = keyOf(config);
    const cb = typeof values === 'function' ? values : callback;
    if (typeof cb === 'function') {
      const wrapped = (...args) => {
        add(key, performance.now() - started);
        return cb(...args);
      };
      return typeof values === 'function'
        ? query.call(this, config, wrapped)
        : query.call(this, config, values, wrapped);
    }
    const result = query.call(this, config, values, callback);
    if (result && typeof result.then === 'function')
      result.then(
        () => add(key, performance.now() - started),
        () => add(key, performance.now() - started),
      );
    return result;
  };
  const connect = pg.Pool.prototype.connect;
  pg.Pool.prototype.connect = function timedConnect(cb) {
    const started = performance.now();
    if (typeof cb === 'function')
      return connect.call(this, (...args) => {
        add('(pool checkout)', performance.now() - started);
        return cb(...args);
      });
    const result = connect.call(this);
    void result.then(() => add('(pool checkout)', performance.now() - started));
    return result;
  };
  // Nest re-raises SIGTERM after its shutdown hooks (no 'exit' event then): dump at the signal.
  const dump = () => {
    const out = {};
    for (const [key, s] of stats) {
      s.samples.sort((a, b) => a - b);
      const p = (q) =>
        +(s.samples[Math.min(s.samples.length - 1, Math.floor(q * s.samples.length))] ?? 0).toFixed(
          2,
        );
      out[key] = {
        n: s.n,
        meanMs: +(s.totalMs / s.n).toFixed(2),
        p50: p(0.5),
        p99: p(0.99),
        maxMs: +s.maxMs.toFixed(1),
      };
    }
    const dir = process.env.PG_TIMER_DIR ?? require('node:os').tmpdir();
    fs.writeFileSync(path.join(dir, `${app}-${process.pid}.json`), JSON.stringify(out, null, 1));
  };
  process.once('SIGTERM', dump);
  process.on('exit', dump);
}
