// Probe: the ledger's append path in-process (AppenderService + LedgerRepository on a fresh
// database, no Kafka), N token.used events over 3 partitions appended concurrently in batches of B.
// Prints events/s, the Node CPU used, and the time spent awaiting each repository call.
//   node bench/probes/append-in-process.cjs            (N=30000 B=1600; C=1 runs partitions one by one)
//   PROF=1 ...  also writes a CPU profile of the append phase to ./append.cpuprofile
// Needs `npm run build` and PostgreSQL (DATABASE_ADMIN_URL, default postgres://postgres@127.0.0.1:5432/postgres).
const path = require('node:path');
const root = path.join(__dirname, '..', '..');
const req = (p) => require(path.join(root, p));
const fromLedger = (m) => require(require.resolve(m, { paths: [path.join(root, 'apps/ledger')] }));
fromLedger('reflect-metadata');
const { buildEvent, encodeEvent, uuidv7 } = req('packages/contracts/dist/index.js');
const { migrations } = req('apps/ledger/dist/migrations/index.js');
const { LedgerRepository } = req('apps/ledger/dist/repositories/ledger.repository.js');
const { AppenderService } = req('apps/ledger/dist/services/appender.service.js');
const { Client } = fromLedger('pg');
const { DataSource } = fromLedger('typeorm');
const { PLAIN_TABLE_DDL, plainInsertStatements } = require('../plain-insert.cjs');

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
      `CPU per event (us): Node ${perEvent(nodeMs)}, rest of the machine (PostgreSQL) ${perEvent(machine.busy - nodeMs)}, all ${perEvent(machine.busy)}`,
    );

    // The benchmark's baseline (b), same run and database: N rows of the average leaf size.
    const [{ avg }] = await ds.query('SELECT avg(length(leaf))::int AS avg FROM ledger.leaves');
    const plain = new Client({ connectionString: url.toString() });
    await plain.connect();
    await plain.query(PLAIN_TABLE_DDL);
    const statements = plainInsertStatements(N, avg);
    const bMachine0 = machineCpu();
    const bCpu0 = process.cpuUsage();
    const b0 = performance.now();
    for (const st of statements) await plain.query(st.text, st.values);
    const bSeconds = (performance.now() - b0) / 1000;
    const bCpu = process.cpuUsage(bCpu0);
    const bMachine = machineCpu(bMachine0);
    await plain.end();
    const bNode = (bCpu.user + bCpu.system) / 1000;
    console.log(
      `baseline (b): ${N} rows of ${avg} bytes in ${bSeconds.toFixed(2)} s = ${Math.round(N / bSeconds)} rows/s; CPU per row (us): Node ${perEvent(bNode)}, rest of the machine ${perEvent(bMachine.busy - bNode)}, all ${perEvent(bMachine.busy)}`,
    );
  } finally {
    await ds.destroy();
    await admin.query(`DROP DATABASE ${db} WITH (FORCE)`);
    await admin.end();
  }
})();
