// `npm run demo`: a scripted walk-through against the system started by `npm start`. Issues
// tokens, uses them, triggers an anomaly and its automatic revocation, fetches the token's
// timeline with inclusion proofs against the signed checkpoint, exports an evidence bundle and
// verifies it offline with the tokenledger CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { root, stateDirPath } from './lib.mjs';

const require = createRequire(import.meta.url);
const core = require(path.join(root, 'packages/ledger-core/dist/index.js'));

const url = {
  issuance: process.env.ISSUANCE_URL ?? 'http://127.0.0.1:4001',
  revocation: process.env.REVOCATION_URL ?? 'http://127.0.0.1:4002',
  anomaly: process.env.ANOMALY_URL ?? 'http://127.0.0.1:4003',
  ledger: process.env.LEDGER_URL ?? 'http://127.0.0.1:4004',
};
const rootFile = path.join(stateDirPath(), 'root-token');
const ROOT =
  process.env.TOKENLEDGER_ROOT_TOKEN ??
  (existsSync(rootFile) ? readFileSync(rootFile, 'utf8').trim() : undefined);
if (!ROOT) {
  console.error(
    `no root token: start the system with \`npm start\` first (it writes ${rootFile}) or set TOKENLEDGER_ROOT_TOKEN`,
  );
  process.exit(2);
}

const step = (n, text) => console.log(`\n[${n}] ${text}`);
const show = (label, value) =>
  console.log(`    ${label}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function call(base, method, p, body, form, bearer = ROOT) {
  const headers = { authorization: `Bearer ${bearer}` };
  let payload;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(form).toString();
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(`${base}${p}`, { method, headers, body: payload });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return (res.headers.get('content-type') ?? '').startsWith('application/json')
    ? JSON.parse(text)
    : text;
}
async function until(what, fn, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
const introspect = (token) =>
  call(url.revocation, 'POST', '/v1/introspect', undefined, { token, service: 'demo-api' });

try {
  for (const [name, base] of Object.entries(url)) {
    const res = await fetch(`${base}/health/ready`).catch(() => undefined);
    if (res?.status !== 200)
      throw new Error(`${name} is not ready at ${base}: run \`npm start\` first`);
  }

  step(
    1,
    'Issue a token for the billing service (the plaintext is shown once; only its HMAC is stored)',
  );
  const token = await call(url.issuance, 'POST', '/v1/tokens', {
    owner: { type: 'service', id: 'billing' },
    name: 'billing-api',
    scopes: ['billing:read'],
    ttlSeconds: 86400,
    labels: { env: 'demo' },
  });
  show('tokenId', token.tokenId);
  show('prefix', token.prefix);

  step(2, 'A resource server introspects it (RFC 7662): active');
  const active = await until('the new token to be active', async () => {
    const a = await introspect(token.token);
    return a.active ? a : undefined;
  });
  show('answer', active);

  step(3, 'Make impossible travel revoke automatically (default action: alert)');
  await call(url.anomaly, 'PUT', '/v1/anomaly-rules/impossible-travel', { action: 'revoke' });
  show('rule', 'impossible-travel -> action revoke (recorded in ops.audit)');
  // Only usage reports from the token owner's own service may trigger an automatic revoke.
  const reporter = await call(url.issuance, 'POST', '/v1/tokens', {
    owner: { type: 'service', id: 'billing' },
    name: 'billing-usage-reporter',
    scopes: ['usage:report'],
    ttlSeconds: 3600,
  });
  show('usage reporter', `${reporter.prefix} (owner service:billing, scope usage:report)`);
  const report = (events) =>
    call(url.anomaly, 'POST', '/v1/usage', { events }, undefined, reporter.token);
  await until('the reporter token to be known', () =>
    call(url.anomaly, 'GET', '/v1/whoami', undefined, undefined, reporter.token).catch(
      () => undefined,
    ),
  );

  step(
    4,
    'Normal use from Germany for ten minutes, then 45 uses in one minute from Brazil (usage intake)',
  );
  const normal = Array.from({ length: 10 }, (_, m) =>
    Array.from({ length: 4 }, (_, i) => ({
      tokenId: token.tokenId,
      service: 'billing',
      operation: 'GET /invoices',
      ip: '10.20.30.40',
      country: 'DE',
      scopesRequested: ['billing:read'],
      outcome: 'accepted',
      at: new Date(Date.now() - (12 - m) * 60_000 + i * 1000).toISOString(),
    })),
  ).flat();
  await report(normal);
  const attackStart = Date.now();
  const minute = Math.floor(attackStart / 60_000) * 60_000 - 60_000;
  const attack = Array.from({ length: 45 }, (_, i) => ({
    tokenId: token.tokenId,
    service: 'billing',
    operation: 'GET /invoices',
    ip: '198.51.100.23',
    country: 'BR',
    scopesRequested: ['billing:read'],
    outcome: 'accepted',
    at: new Date(minute + i * 1000).toISOString(),
  }));
  show('accepted', await report(attack));

  step(5, 'The anomaly rules fire; the revoke action revokes the token');
  await until('the token to be revoked', async () => !(await introspect(token.token)).active);
  show('first bad use -> inactive', `${Date.now() - attackStart} ms`);
  const { anomalies } = await until('the findings', async () => {
    const a = await call(url.anomaly, 'GET', `/v1/anomalies?tokenId=${token.tokenId}`);
    return a.anomalies.some((x) => x.rule === 'rate-spike') ? a : undefined;
  });
  for (const a of anomalies)
    show('finding', `${a.rule} (${a.severity}, ${a.action}): ${a.summary}`);
  show('introspection now', await introspect(token.token));

  step(
    6,
    "The token's timeline in the ledger, each entry with an inclusion proof against a signed checkpoint",
  );
  const { keys } = await call(url.ledger, 'GET', '/v1/ledger/keys');
  const verifiers = keys
    .map((k) => core.parseVerifierKey(k.verifierKey))
    .filter((r) => r.ok)
    .map((r) => r.verifier);
  show('verifier key', keys.find((k) => k.active)?.verifierKey);
  const timeline = await until('the revocation in the ledger', async () => {
    const t = await call(url.ledger, 'GET', `/v1/ledger/tokens/${token.tokenId}/timeline`);
    return t.entries.some((e) => e.record.event?.type === 'tokenledger.token.revoked.v1')
      ? t
      : undefined;
  });
  const firstBr = timeline.entries.find((e) => e.record.event?.data?.country === 'BR');
  const interesting = timeline.entries.filter(
    (e) => e === firstBr || e.record.event?.type !== 'tokenledger.token.used.v1',
  );
  let verified = 0;
  for (const e of timeline.entries) {
    const cp = await until(`a checkpoint covering ${e.logId}#${e.index}`, async () => {
      const note = await call(url.ledger, 'GET', `/v1/ledger/logs/${e.logId}/checkpoint`).catch(
        () => undefined,
      );
      const opened = note && core.openCheckpoint(note, verifiers);
      return opened?.ok && opened.checkpoint.size > e.index ? opened.checkpoint : undefined;
    });
    const proof = await call(
      url.ledger,
      'GET',
      `/v1/ledger/logs/${e.logId}/proofs/inclusion?index=${e.index}&treeSize=${cp.size}`,
    );
    const ok = core.verifyInclusion(
      Buffer.from(e.leafHash, 'base64'),
      e.index,
      cp.size,
      proof.hashes.map((h) => Buffer.from(h, 'base64')),
      cp.rootHash,
    ).ok;
    if (!ok) throw new Error(`inclusion proof failed for ${e.logId}#${e.index}`);
    verified += 1;
  }
  for (const e of interesting) {
    const ev = e.record.event;
    const label =
      ev.type === 'tokenledger.anomaly.detected.v1'
        ? `${ev.type.replace('tokenledger.', '')} ${ev.data.rule}`
        : ev.type.replace('tokenledger.', '');
    show(
      `${e.logId}#${e.index}`,
      `${label} by ${ev.actor} id=${ev.id.slice(0, 13)}...${ev.causationid ? ` caused by ${ev.causationid.slice(0, 13)}...` : ''}`,
    );
  }
  show(
    'inclusion proofs verified',
    `${verified} of ${timeline.entries.length} entries (${timeline.entries.length - interesting.length} other uses not listed)`,
  );

  step(
    7,
    'Export an evidence bundle of the log holding the revocation and verify it offline with the CLI',
  );
  const revokedEntry = timeline.entries.find(
    (e) => e.record.event?.type === 'tokenledger.token.revoked.v1',
  );
  const cpNote = await call(url.ledger, 'GET', `/v1/ledger/logs/${revokedEntry.logId}/checkpoint`);
  const size = core.openCheckpoint(cpNote, verifiers).checkpoint.size;
  const bundle = await call(
    url.ledger,
    'GET',
    `/v1/ledger/export?logId=${revokedEntry.logId}&from=0&to=${size}`,
  );
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'tokenledger-demo-')), 'bundle.ndjson');
  writeFileSync(file, bundle);
  const cli = spawnSync(
    process.execPath,
    [
      path.join(root, 'packages/cli/dist/main.js'),
      'verify',
      file,
      '--log-key',
      keys.find((k) => k.active).verifierKey,
    ],
    { encoding: 'utf8' },
  );
  console.log(`    $ tokenledger verify ${path.basename(file)} --log-key <verifier key>`);
  for (const line of cli.stdout.trim().split('\n')) console.log(`    ${line}`);
  if (cli.status !== 0) throw new Error('offline verification failed');

  console.log('\ndemo finished: every step above was checked');
} catch (error) {
  console.error(`\ndemo FAILED: ${error.message}`);
  process.exit(1);
}
