// Probe: the ledger's append path in-process (AppenderService + LedgerRepository on a fresh
// database, no Kafka), N token.used events over 3 partitions appended concurrently in batches of B.
// Prints events/s, the CPU used per event by the Node process and by the PostgreSQL backends of the
// probe's database (/proc/<pid>/stat), and the time spent awaiting each repository call; then the
// benchmark's baselines (b) and (c) in the same run and database, measured the same way.
//   node bench/probes/append-in-process.cjs            (N=30000 B=1600; C=1 runs partitions one by one)
//   PROF=1 ...  also writes a CPU profile of the append phase to ./append.cpuprofile
// Needs `npm run build` and PostgreSQL (DATABASE_ADMIN_URL, default postgres://postgres@127.0.0.1:5432/postgres).
const path = require('node:path');
const root = path.join(__dirname, '..', '..');
const req = (p) => require(path.join(root, p));
const fromLedger = (m) => require(require.resolve(m, { paths: [path.join(root, 'apps/ledger')] }));
fromLedger('reflect-metadata');
const { buildEvent, encodeEvent, uuidv7 } = req('packages/contracts/dist/index.js');
// LEDGER_DIST=.ab/ledger-dist (a copy of an earlier build) compares two builds of the ledger.
const ledgerDist = process.env.LEDGER_DIST ?? 'apps/ledger/dist';
const { migrations } = req(`${ledgerDist}/migrations/index.js`);
const { LedgerRepository } = req(`${ledgerDist}/repositories/ledger.repository.js`);
const { AppenderService } = req(`${ledgerDist}/services/appender.service.js`);
const { Client } = fromLedger('pg');
const { DataSource } = fromLedger('typeorm');
const {
  PLAIN_TABLE_DDL,
  plainInsertStatements,
  AUDIT_TABLE_DDL,
  auditInsert,
} = require('../plain-insert.cjs');

/** Busy and idle CPU time of the whole machine (all cores) from /proc/stat, in ms; since `from` if given. */
function machineCpu(from) {
  const [, ...fields] = require('node:fs')
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number);
  const tick = 1000 / 100; // USER_HZ
  const now = {
    busy: (user + nice + system + irq + softirq + steal) * tick,
    idle: (idle + iowait) * tick,
  };
  return from ? { busy: now.busy - from.busy, idle: now.idle - from.idle } : now;
}

/**
 * CPU time (user + system, ms) of the PostgreSQL backends serving database `db`, by pid, from
 * /proc/<pid>/stat: unlike the whole machine's figure, not polluted by other work on the machine.
 */
async function backendCpu(admin, db) {
  const { rows } = await admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [db]);
  const tick = 1000 / 100; // USER_HZ
  const out = new Map();
  for (const { pid } of rows) {
    try {
      const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) * tick);
    } catch {
      // backend gone
    }
  }
  return out;
}
/** CPU (ms) the backends of `db` used since `before` (backends that appeared since count from 0). */
async function backendCpuSince(admin, db, before) {
  let ms = 0;
  for (const [pid, now] of await backendCpu(admin, db)) ms += now - (before.get(pid) ?? 0);
  return ms;
}

const N = Number(process.env.N ?? 30000);
const B = Number(process.env.B ?? 1600);
const adminUrl = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

(async () => {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  const db = `tl_probe_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${db}`);
  const url = new URL(adminUrl);
  url.pathname = `/${db}`;
  const boot = new Client({ connectionString: url.toString() });
  await boot.connect();
  await boot.query('CREATE SCHEMA ledger');
  await boot.end();
  const ds = await new DataSource({
    type: 'postgres',
    url: url.toString(),
    schema: 'ledger',
    migrations,
    migrationsRun: true,
  }).initialize();
  try {
    const repository = new LedgerRepository(ds, { DB_SCHEMA: 'ledger' });
    const appender = new AppenderService(repository);
    const waited = {};
    for (const name of [
      'lockHead',
      'nodes',
      'findEventIds',
      'insertLeaves',
      'insertEventIds',
      'advanceHead',
    ]) {
      if (typeof repository[name] !== 'function') continue;
      const original = repository[name].bind(repository);
      repository[name] = async (...args) => {
        const t0 = performance.now();
        try {
          return await original(...args);
        } finally {
          waited[name] = (waited[name] ?? 0) + performance.now() - t0;
        }
      };
    }
    const tokenIds = Array.from({ length: 1000 }, () => uuidv7());
    const partitions = [[], [], []];
    for (let i = 0; i < N; i++) {
      const event = buildEvent({
        type: 'tokenledger.token.used.v1',
        source: '/tokenledger/bench',
        actor: 'service:bench',
        data: {
          tokenId: tokenIds[i % 1000],
          prefix: 'tlk_live_AbC1',
          service: 'bench',
          operation: 'GET /x',
          ip: '10.0.0.1',
          scopesRequested: [],
          outcome: 'accepted',
          at: new Date().toISOString(),
        },
      });
      const p = partitions[i % 3];
      p.push({ offset: p.length, timestamp: Date.now(), value: encodeEvent(event) });
    }
    const inspector = require('node:inspector');
    const session = new inspector.Session();
    session.connect();
    const post = (method, params) =>
      new Promise((resolve, reject) =>
        session.post(method, params ?? {}, (e, v) => (e ? reject(e) : resolve(v))),
      );
    if (process.env.PROF) {
      await post('Profiler.enable');
      await post('Profiler.start');
    }
    const machine0 = machineCpu();
    const pg0 = await backendCpu(admin, db);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const run = async (records, partition) => {
      for (let at = 0; at < records.length; at += B)
        await appender.append('probe.usage', partition, records.slice(at, at + B));
    };
    if (process.env.C === '1') for (const [i, p] of partitions.entries()) await run(p, i);
    else await Promise.all(partitions.map(run));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const machine = machineCpu(machine0);
    const pgMs = await backendCpuSince(admin, db, pg0);
    if (process.env.PROF) {
      const { profile } = await post('Profiler.stop');
      require('node:fs').writeFileSync('append.cpuprofile', JSON.stringify(profile));
    }
    console.log(
      `appended ${N} events in ${seconds.toFixed(2)} s = ${Math.round(N / seconds)} events/s; Node CPU ${(cpu.user / 1000).toFixed(0)} ms user, ${(cpu.system / 1000).toFixed(0)} ms system; whole machine ${machine.busy} ms busy, ${machine.idle} ms idle (all cores)`,
    );
    console.log(
      'awaited (ms):',
      Object.fromEntries(Object.entries(waited).map(([k, v]) => [k, Math.round(v)])),
    );
    const perEvent = (ms) => ((ms * 1000) / N).toFixed(1);
    const nodeMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `CPU per event (us): Node ${perEvent(nodeMs)}, PostgreSQL backends ${perEvent(pgMs)}, Node + PostgreSQL ${perEvent(nodeMs + pgMs)}; (rest of the machine ${perEvent(machine.busy - nodeMs)}, all ${perEvent(machine.busy)})`,
    );

    // The benchmark's baseline (b), same run and database: N rows of the average leaf size.
    const [{ avg }] = await ds.query('SELECT avg(length(leaf))::int AS avg FROM ledger.leaves');
    const plain = new Client({ connectionString: url.toString() });
    await plain.connect();
    await plain.query(PLAIN_TABLE_DDL);
    const statements = plainInsertStatements(N, avg);
    const bMachine0 = machineCpu();
    const bPg0 = await backendCpu(admin, db);
    const bCpu0 = process.cpuUsage();
    const b0 = performance.now();
    for (const st of statements) await plain.query(st.text, st.values);
    const bSeconds = (performance.now() - b0) / 1000;
    const bCpu = process.cpuUsage(bCpu0);
    const bMachine = machineCpu(bMachine0);
    const bPg = await backendCpuSince(admin, db, bPg0);
    const bNode = (bCpu.user + bCpu.system) / 1000;
    console.log(
      `baseline (b): ${N} rows of ${avg} bytes in ${bSeconds.toFixed(2)} s = ${Math.round(N / bSeconds)} rows/s; CPU per row (us): Node ${perEvent(bNode)}, PostgreSQL backends ${perEvent(bPg)}, Node + PostgreSQL ${perEvent(bNode + bPg)}; (rest of the machine ${perEvent(bMachine.busy - bNode)}, all ${perEvent(bMachine.busy)})`,
    );

    // Baseline (c), the plain audit table: the same records decoded into rows with the query indexes.
    await plain.query(AUDIT_TABLE_DDL);
    const records = partitions.flat().map((r) => r.value);
    const cMachine0 = machineCpu();
    const cPg0 = await backendCpu(admin, db);
    const cCpu0 = process.cpuUsage();
    const c0 = performance.now();
    await auditInsert((text, values) => plain.query(text, values), records);
    const cSeconds = (performance.now() - c0) / 1000;
    const cCpu = process.cpuUsage(cCpu0);
    const cMachine = machineCpu(cMachine0);
    const cPg = await backendCpuSince(admin, db, cPg0);
    await plain.end();
    const cNode = (cCpu.user + cCpu.system) / 1000;
    console.log(
      `baseline (c): ${N} records into the plain audit table in ${cSeconds.toFixed(2)} s = ${Math.round(N / cSeconds)} rows/s; CPU per row (us): Node ${perEvent(cNode)}, PostgreSQL backends ${perEvent(cPg)}, Node + PostgreSQL ${perEvent(cNode + cPg)}; (rest of the machine ${perEvent(cMachine.busy - cNode)}, all ${perEvent(cMachine.busy)})`,
    );
    console.log(
      `ratios: append / (b) ${(bSeconds / seconds).toFixed(2)}, append / (c) ${(cSeconds / seconds).toFixed(2)}`,
    );
  } finally {
    await ds.destroy();
    await admin.query(`DROP DATABASE ${db} WITH (FORCE)`);
    await admin.end();
  }
})();
