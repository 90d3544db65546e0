// `scripts/compose-init [dir]` (or `npm run compose:init`): makes the secrets docker-compose.yml
// reads (Docker secrets), once, into `dir` (default ./secrets, or TOKENLEDGER_COMPOSE_SECRETS):
// one file per secret, mode 0600, in a 0700 directory. A file that exists is never overwritten,
// so running it again only adds what is missing. Prints file names, never a secret.
// Standalone on purpose (Node >= 20, no build needed): the types below mirror APP_SIGNER_TYPES in
// packages/contracts/src/signing.ts, which e2e/src/compose.e2e-spec.ts checks.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const APP_SIGNER_TYPES = {
  issuance: [
    'token.issued',
    'token.rotated',
    'token.revoked',
    'token.expired',
    'token.issuance-denied',
    'ops.policy-changed',
    'ops.break-glass',
  ],
  revocation: ['token.revoked', 'token.leak-reported', 'token.used', 'token.limits-changed'],
  anomaly: [
    'anomaly.*',
    'token.revoke-requested',
    'token.used',
    'token.rotation-due',
    'ops.policy-changed',
    'ops.webhook-changed',
  ],
  ledger: ['ops.*'],
};
const APPS = Object.keys(APP_SIGNER_TYPES);
const KAFKA_PRINCIPALS = ['admin', ...APPS, 'usage-reporter'];

const dir = path.resolve(process.argv[2] ?? process.env.TOKENLEDGER_COMPOSE_SECRETS ?? 'secrets');
mkdirSync(dir, { recursive: true, mode: 0o700 });
chmodSync(dir, 0o700);

const made = [];
const kept = [];
/** Writes `name` with `make()`'s content unless it exists (then it is only made 0600). */
function secret(name, make) {
  const file = path.join(dir, name);
  if (existsSync(file)) {
    kept.push(name);
  } else {
    writeFileSync(file, `${make()}\n`, { mode: 0o600, flag: 'wx' });
    made.push(name);
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

const random = (bytes = 32) => randomBytes(bytes).toString('base64url');

secret('internal-secret', () => random());
// Issuance's pepper: base64 of 32 random bytes. Back it up: a lost pepper invalidates every token.
secret('token-pepper', () => randomBytes(32).toString('base64'));
for (const principal of KAFKA_PRINCIPALS) secret(`kafka-${principal}-password`, () => random());
secret('postgres-password', () => random());
for (const who of ['owner', ...APPS]) secret(`db-${who}-password`, () => random());

// Event signing (docs/design/event-signing.md): one Ed25519 key per app, `<keyId>:<base64url
// seed>`, and EVENT_SIGNERS trusting each for the types it produces from its own source.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const signers = APPS.map((app) => {
  const text = secret(
    `${app}-event-signing-key`,
    () => `${app}-${randomBytes(3).toString('hex')}:${random()}`,
  );
  const [keyId, seed] = text.split(':');
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(seed, 'base64url')]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey).export({ format: 'jwk' }).x;
  return { keyId, publicKey, types: APP_SIGNER_TYPES[app], sources: [`/tokenledger/${app}`] };
});
// Public keys only. Add SDK reporters' entries here (types ["token.used"]) and restart the apps.
secret('event-signers.json', () => JSON.stringify(signers));

process.stdout.write(
  `[compose-init] ${dir}: ${made.length} made${made.length ? ` (${made.join(', ')})` : ''}, ${kept.length} kept\n`,
);
