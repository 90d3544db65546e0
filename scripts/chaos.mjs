// `npm run chaos`: the whole system under steady load (issuance, introspection, revocation, usage)
// while, one at a time, each app and the Kafka broker are killed with SIGKILL and restarted, and
// PostgreSQL is restarted. Then checks the invariants and prints a table. Runs on its own private
// broker (port 19792) and its own private PostgreSQL cluster (port 54398), so it disturbs nothing
// else on the machine. Not part of `npm test`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import {
  build,
  ensureDependencies,
  eventSigning,
  infra,
  provisionLocalKafka,
  root,
  say,
} from './lib.mjs';

ensureDependencies();
build();
const {
  ensureLocalBroker,
  kafkaClientEnv,
  localBrokerSasl,
  resolvePostgres,
  isProcessAlive,
  provisionRoles,
} = infra();
const { generateToken } = await import(path.join(root, 'packages/token-core/dist/index.js'));

const home = path.join(root, '.tokenledger', 'chaos');
rmSync(home, { recursive: true, force: true });
mkdirSync(home, { recursive: true });
const brokerOptions = {
  dataDir: path.join(home, 'kafka'),
  port: 19792,
  controllerPort: 19793,
  log: say,
  sasl: localBrokerSasl(),
};
let broker = await ensureLocalBroker(brokerOptions);
// Topics and ACLs as an operator makes them; each app then connects as its own principal.
await provisionLocalKafka({ kafkaBrokers: broker.brokers, kafkaCredentials: broker.credentials });
const pgHome = path.join(home, 'postgres');
const postgres = await resolvePostgres({
  dataDir: pgHome,
  database: 'tokenledger',
  env: {},
  localUrl: 'postgres://postgres@127.0.0.1:1/postgres',
  privatePort: 54398,
  log: say,
});

// The apps run as in production: each as its own login role (with a password), migrations and
// grants as the owner. The invariant checks below read as the cluster's superuser.
const roles = await provisionRoles({
  adminUrl: postgres.url,
  passwords: Object.fromEntries(
    ['owner', 'issuance', 'revocation', 'anomaly', 'ledger'].map((who) => [
      who,
      randomBytes(18).toString('base64url'),
    ]),
  ),
});

const rootToken = generateToken();
const ports = { issuance: 16001, revocation: 16002, anomaly: 16003, ledger: 16004 };
const env = {
  ...process.env,
  DATABASE_OWNER_URL: roles.ownerUrl,
  KAFKA_BROKERS: broker.brokers,
  TOPIC_PREFIX: '',
  TOKENLEDGER_INTERNAL_SECRET: randomBytes(32).toString('base64url'),
  LEDGER_SIGNING_KEY: randomBytes(32).toString('base64'),
  TOKENLEDGER_ROOT_TOKEN: rootToken,
  ISSUANCE_URL: `http://127.0.0.1:${ports.issuance}`,
  REVOCATION_URL: `http://127.0.0.1:${ports.revocation}`,
  LOG_LEVEL: 'error',
};
// Signed events as under npm start: each app its own key (in memory for this run).
const signing = eventSigning();
// Only issuance hashes tokens, so only issuance gets the pepper.
const pepper = randomBytes(32).toString('base64');
const apps = {};
const start = (name) => {
  apps[name] = spawn(process.execPath, [path.join(root, 'apps', name, 'dist', 'main.js')], {
    env: {
      ...env,
      ...(name === 'issuance' ? { TOKEN_PEPPER: pepper } : {}),
      ...signing.envOf(name),
      DATABASE_URL: roles.appUrls[name],
      ...kafkaClientEnv(broker.credentials, name),
      PORT: String(ports[name]),
    },
    stdio: 'ignore',
  });
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const headers = { authorization: `Bearer ${rootToken}`, 'content-type': 'application/json' };
const ready = async (name, timeoutMs = 120_000) => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await fetch(`http://127.0.0.1:${ports[name]}/health/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await sleep(200);
  }
  throw new Error(`${name} not ready`);
};
const rssMb = (pid) => {
  const out = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], {
    encoding: 'utf8',
  }).stdout.trim();
  return out ? Math.round(Number(out) / 1024) : 0;
};

// What the system acknowledged, to be found in the ledger afterwards.
const acked = { issued: [], revoked: [], usage: 0 };
const errors = { issue: 0, revoke: 0, usage: 0, introspect: 0 };
const peakRss = {};
let loading = true;

async function load() {
  while (loading) {
    try {
      const res = await fetch(`http://127.0.0.1:${ports.issuance}/v1/tokens`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          owner: { type: 'service', id: 'chaos' },
          name: 'chaos',
          scopes: ['chaos:x'],
          ttlSeconds: 3600,
        }),
        signal: AbortSignal.timeout(5000),
      });
      if (res.status === 201) {
        const t = await res.json();
        acked.issued.push(t);
        const u = await fetch(`http://127.0.0.1:${ports.anomaly}/v1/usage`, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            events: [
              {
                tokenId: t.tokenId,
                service: 'chaos',
                operation: 'GET /x',
                ip: '10.0.0.1',
                scopesRequested: [],
                outcome: 'accepted',
              },
            ],
          }),
          signal: AbortSignal.timeout(5000),
        });
        if (u.status === 202) acked.usage += 1;
        else errors.usage += 1;
        const answer = await fetch(`http://127.0.0.1:${ports.revocation}/v1/introspect`, {
          method: 'POST',
          headers: {
            authorization: headers.authorization,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ token: t.token }).toString(),
          signal: AbortSignal.timeout(5000),
        })
          .then((r) => r.json())
          .catch(() => {
            errors.introspect += 1;
            return { active: false };
          });
        // Revoke every third token once the status authority knows it.
        if (answer.active && acked.issued.length % 3 === 0) {
          const r = await fetch(
            `http://127.0.0.1:${ports.revocation}/v1/tokens/${t.tokenId}/revoke`,
            { method: 'POST', headers, body: '{}', signal: AbortSignal.timeout(5000) },
          ).catch(() => undefined);
          if (r?.status === 200) acked.revoked.push(t);
          else errors.revoke += 1;
        }
      } else errors.issue += 1;
    } catch {
      errors.issue += 1;
      await sleep(200);
    }
    for (const [name, child] of Object.entries(apps))
      if (child.pid && isProcessAlive(child.pid))
        peakRss[name] = Math.max(peakRss[name] ?? 0, rssMb(child.pid));
  }
}

const faults = [];
async function fault(name, kill, restart) {
  const before = acked.issued.length;
  const t0 = Date.now();
  await kill();
  await sleep(1500);
  await restart();
  faults.push({ fault: name, downMs: Date.now() - t0, issuedDuring: acked.issued.length - before });
  say(`fault: ${name} (back after ${Date.now() - t0} ms)`);
  await sleep(4000);
}

const rows = [];
let exitCode = 0;
try {
  for (const name of Object.keys(ports)) start(name);
  for (const name of Object.keys(ports)) await ready(name);
  say('system up; starting load');
  const loaders = [load(), load()];
  await sleep(5000);
  for (const name of Object.keys(ports)) {
    await fault(
      `SIGKILL ${name}`,
      async () => apps[name].kill('SIGKILL'),
      async () => {
        start(name);
        await ready(name);
      },
    );
  }
  await fault(
    'SIGKILL kafka broker',
    async () => process.kill(broker.pid, 'SIGKILL'),
    async () => {
      broker = await ensureLocalBroker(brokerOptions);
    },
  );
  await fault(
    'restart PostgreSQL (immediate)',
    async () => {
      execFileSync(
        process.getuid?.() === 0 ? 'runuser' : 'sh',
        process.getuid?.() === 0
          ? [
              '-u',
              'postgres',
              '--',
              'pg_ctl',
              '-D',
              pgHome,
              '-m',
              'immediate',
              '-w',
              'restart',
              '-o',
              `-p 54398 -c listen_addresses=127.0.0.1 -k ${pgHome}`,
              '-l',
              path.join(pgHome, 'server.log'),
            ]
          : [
              '-c',
              `pg_ctl -D ${pgHome} -m immediate -w restart -o "-p 54398 -c listen_addresses=127.0.0.1 -k ${pgHome}" -l ${path.join(pgHome, 'server.log')}`,
            ],
        { stdio: 'ignore' },
      );
    },
    async () => {
      for (const name of Object.keys(ports)) await ready(name);
    },
  );
  loading = false;
  await Promise.all(loaders);
  say(
    `load stopped: ${acked.issued.length} issued, ${acked.revoked.length} revoked, ${acked.usage} usage reports acknowledged`,
  );

  // Invariants.
  const db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  const admin = (await import(path.join(root, 'packages/messaging/dist/index.js')))
    .createKafka({
      brokers: broker.brokers,
      clientId: 'chaos-check',
      sasl: broker.credentials?.admin ?? null,
    })
    .admin();
  await admin.connect();
  const audited = ['tokens.lifecycle', 'tokens.usage', 'tokens.commands', 'anomalies', 'ops.audit'];
  const deadline = Date.now() + 180_000;
  let caughtUp = false;
  while (!caughtUp && Date.now() < deadline) {
    const highs = new Map();
    for (const topic of audited)
      for (const o of await admin.fetchTopicOffsets(topic))
        highs.set(`${topic}-${o.partition}`, Number(o.high));
    const heads = new Map(
      (await db.query('SELECT log_id, next_offset FROM ledger.logs')).rows.map((r) => [
        r.log_id,
        Number(r.next_offset),
      ]),
    );
    caughtUp = [...highs].every(([id, high]) => high === 0 || heads.get(id) === high);
    if (!caughtUp) await sleep(1000);
  }
  await admin.disconnect();
  rows.push(['ledger caught up with every audited partition', caughtUp]);

  const issuedIds = acked.issued.map((t) => t.tokenId);
  const issuedLeaves = (
    await db.query(
      `SELECT subject, count(*)::int AS n FROM ledger.leaves WHERE kind = 'event' AND event_type = 'tokenledger.token.issued.v1' AND subject = ANY($1::text[]) GROUP BY subject`,
      [issuedIds],
    )
  ).rows;
  rows.push([
    `every acknowledged issuance is in the ledger exactly once (${issuedIds.length})`,
    issuedLeaves.length === issuedIds.length && issuedLeaves.every((r) => r.n === 1),
  ]);
  const revokedIds = acked.revoked.map((t) => t.tokenId);
  const revokedLeaves = (
    await db.query(
      `SELECT subject, count(*)::int AS n FROM ledger.leaves WHERE kind = 'event' AND event_type = 'tokenledger.token.revoked.v1' AND subject = ANY($1::text[]) GROUP BY subject`,
      [revokedIds],
    )
  ).rows;
  rows.push([
    `every acknowledged revocation is in the ledger exactly once (${revokedIds.length})`,
    revokedLeaves.length === revokedIds.length && revokedLeaves.every((r) => r.n === 1),
  ]);
  const usage = (
    await db.query(
      `SELECT count(*)::int AS n FROM ledger.leaves WHERE kind = 'event' AND event_type = 'tokenledger.token.used.v1' AND convert_from(leaf, 'UTF8') LIKE '%"service":"chaos"%'`,
    )
  ).rows[0].n;
  rows.push([
    `every acknowledged usage report is in the ledger (${acked.usage} acknowledged, ${usage} recorded)`,
    usage === acked.usage,
  ]);
  const dupEvents = (
    await db.query(
      `SELECT count(*)::int AS n FROM (SELECT event_id FROM ledger.leaves WHERE kind = 'event' GROUP BY event_id HAVING count(*) > 1) d`,
    )
  ).rows[0].n;
  rows.push(['no event id recorded twice as an event', dupEvents === 0]);
  await db.end();

  const verify = await (
    await fetch(`http://127.0.0.1:${ports.ledger}/v1/ledger/verify`, {
      method: 'POST',
      headers,
      body: '{}',
    })
  ).json();
  rows.push([
    `every log verifies against its checkpoints (${verify.logs.length} logs)`,
    verify.ok === true,
  ]);
  let active = 0;
  for (const t of acked.revoked) {
    const a = await (
      await fetch(`http://127.0.0.1:${ports.revocation}/v1/introspect`, {
        method: 'POST',
        headers: {
          authorization: headers.authorization,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token: t.token }).toString(),
      })
    ).json();
    if (a.active) active += 1;
  }
  rows.push([`no revoked token is active (${acked.revoked.length} checked)`, active === 0]);
  const maxRss = Math.max(...Object.values(peakRss));
  rows.push([
    `memory of each app stayed under 1 GiB (peak RSS MB: ${Object.entries(peakRss)
      .map(([n, v]) => `${n} ${v}`)
      .join(', ')})`,
    maxRss < 1024,
  ]);
} catch (error) {
  console.error(`chaos run failed: ${error.stack ?? error}`);
  exitCode = 1;
} finally {
  loading = false;
  for (const child of Object.values(apps)) child.kill('SIGTERM');
  await sleep(3000);
  for (const child of Object.values(apps)) if (child.exitCode === null) child.kill('SIGKILL');
  await broker.stop().catch(() => undefined);
  if (broker.pid > 0 && isProcessAlive(broker.pid)) process.kill(broker.pid, 'SIGTERM');
  await postgres.stop().catch(() => undefined);
}

console.log('\n| fault injected | back after ms | tokens issued meanwhile |');
console.log('|---|---|---|');
for (const f of faults) console.log(`| ${f.fault} | ${f.downMs} | ${f.issuedDuring} |`);
console.log('\n| invariant | holds |');
console.log('|---|---|');
for (const [name, ok] of rows) console.log(`| ${name} | ${ok ? 'yes' : 'NO'} |`);
console.log(
  `\nload errors while faults were injected (expected, not acknowledged): ${JSON.stringify(errors)}`,
);
const failed = rows.filter(([, ok]) => !ok).length;
console.log(
  failed === 0 && exitCode === 0
    ? '\nchaos: all invariants hold'
    : `\nchaos: ${failed} invariant(s) violated`,
);
process.exit(failed === 0 ? exitCode : 1);
