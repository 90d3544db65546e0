// Signed events (docs/design/event-signing.md): Ed25519 over the RFC 8785 canonical envelope
// without its `sig` attribute. Pure: no I/O, no framework; keys come in as text or bytes.
import {
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { canonicalBytes } from '@tokenledger/canonical-json';

/** CloudEvents extension attribute holding the base64url (unpadded) Ed25519 signature. */
export const SIGNATURE_ATTRIBUTE = 'sig';
/** CloudEvents extension attribute naming the key that made `sig` (covered by the signature). */
export const KEY_ID_ATTRIBUTE = 'sigkeyid';

/** What a key id may look like (it is printed in logs, dead letters and ledger leaves). */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A producer's private signing key. MUST NOT be logged or put in an event. */
export interface EventSigningKey {
  readonly keyId: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  /** `<keyId>:<base64url seed>`, the EVENT_SIGNING_KEY form (to hand the key to a worker thread). */
  readonly text: string;
  sign(message: Uint8Array): Buffer;
}

/** A signer consumers trust: one key, the event types and sources it may sign. */
export interface EventSignerEntry {
  keyId: string;
  /** Raw 32-byte Ed25519 public key, base64url. */
  publicKey: string;
  /** Globs over the short type (`anomaly.*`, `token.used`) or the full type. */
  types: string[];
  /** Globs over the event `source` (`/tokenledger/anomaly`, `/sdk/*`). */
  sources: string[];
}

export type SignatureRejection = 'unsigned' | 'bad-signature' | 'signer-not-allowed';

export type SignatureCheck =
  | { readonly ok: true; readonly keyId: string }
  | { readonly ok: false; readonly code: SignatureRejection; readonly message: string };

/** A problem with signing configuration; its message never contains key material. */
export class EventSigningConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventSigningConfigError';
  }
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function fromB64url(text: string, length: number): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.length === length && b64url(bytes) === text ? bytes : undefined;
}

/** An Ed25519 signing key from its 32-byte seed. */
export function signingKeyFromSeed(keyId: string, seed: Uint8Array): EventSigningKey {
  if (!KEY_ID_PATTERN.test(keyId))
    throw new EventSigningConfigError('key id must be 1-64 characters of [A-Za-z0-9._-]');
  if (seed.length !== 32) throw new EventSigningConfigError('an Ed25519 seed is 32 bytes');
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = spki.subarray(SPKI_ED25519_PREFIX.length);
  const text = `${keyId}:${b64url(seed)}`;
  return {
    keyId,
    publicKey,
    sign: (message) => cryptoSign(null, message, privateKey),
    // Not enumerable, so that logging or serialising the object does not print the seed.
    get text() {
      return text;
    },
    toJSON: () => ({ keyId, publicKey: b64url(publicKey) }),
  } as EventSigningKey;
}

/**
 * Parses the EVENT_SIGNING_KEY form `<keyId>:<base64url 32-byte seed>`.
 * @throws EventSigningConfigError naming what is wrong, never the value
 */
export function parseSigningKey(text: string): EventSigningKey {
  const trimmed = text.trim();
  const colon = trimmed.lastIndexOf(':');
  const seed = colon > 0 ? fromB64url(trimmed.slice(colon + 1), 32) : undefined;
  if (!seed)
    throw new EventSigningConfigError(
      'expected <keyId>:<base64url of a 32-byte Ed25519 seed> (npm start generates one)',
    );
  return signingKeyFromSeed(trimmed.slice(0, colon), seed);
}

/** The bytes that are signed: RFC 8785 canonical JSON of the envelope without `sig`. */
export function signingInput(envelope: Readonly<Record<string, unknown>>): Buffer {
  const { [SIGNATURE_ATTRIBUTE]: _sig, ...rest } = envelope;
  return canonicalBytes(rest);
}

/**
 * The envelope with `sigkeyid` and `sig` set (any previous signature replaced). The caller
 * encodes it; the record value is then canonical JSON of the result.
 */
export function signEnvelope<T extends object>(
  envelope: T,
  key: EventSigningKey,
): T & { sig: string; sigkeyid: string } {
  const { [SIGNATURE_ATTRIBUTE]: _sig, ...rest } = envelope as Record<string, unknown>;
  const unsigned = { ...rest, [KEY_ID_ATTRIBUTE]: key.keyId };
  const sig = b64url(key.sign(canonicalBytes(unsigned)));
  return { ...unsigned, [SIGNATURE_ATTRIBUTE]: sig } as T & { sig: string; sigkeyid: string };
}

/** `tokenledger.anomaly.detected.v1` -> `anomaly.detected`. */
export function shortEventType(type: string): string {
  return type.replace(/^tokenledger\./, '').replace(/\.v\d+$/, '');
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

interface CompiledSigner {
  keyId: string;
  key: KeyObject;
  types: RegExp[];
  sources: RegExp[];
  patterns: { types: string[]; sources: string[] };
}

const signerEntrySchemaProblems = (entry: unknown, i: number): string | undefined => {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    return `[${i}] must be an object`;
  const e = entry as Record<string, unknown>;
  const allowed = new Set(['keyId', 'publicKey', 'types', 'sources']);
  const unknown = Object.keys(e).filter((k) => !allowed.has(k));
  if (unknown.length > 0) return `[${i}] has unknown fields ${unknown.join(', ')}`;
  if (typeof e['keyId'] !== 'string' || !KEY_ID_PATTERN.test(e['keyId']))
    return `[${i}].keyId must be 1-64 characters of [A-Za-z0-9._-]`;
  if (typeof e['publicKey'] !== 'string' || !fromB64url(e['publicKey'], 32))
    return `[${i}].publicKey must be a base64url 32-byte Ed25519 public key`;
  for (const field of ['types', 'sources'] as const) {
    const list = e[field];
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      !list.every((p) => typeof p === 'string' && p.length > 0 && p.length <= 256)
    )
      return `[${i}].${field} must be a non-empty list of patterns`;
  }
  return undefined;
};

/**
 * Parses EVENT_SIGNERS (a JSON list of {@link EventSignerEntry}). Key ids are unique.
 * @throws EventSigningConfigError listing every problem
 */
export function parseEventSigners(json: string): EventSignerEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new EventSigningConfigError('must be a JSON list of signers');
  }
  if (!Array.isArray(value)) throw new EventSigningConfigError('must be a JSON list of signers');
  const problems = value.flatMap((e, i) => signerEntrySchemaProblems(e, i) ?? []);
  const ids = new Set<string>();
  for (const entry of value as EventSignerEntry[]) {
    if (ids.has(entry.keyId)) problems.push(`key id ${entry.keyId} appears twice`);
    ids.add(entry.keyId);
  }
  if (problems.length > 0) throw new EventSigningConfigError(problems.join('; '));
  return value as EventSignerEntry[];
}

/** The EVENT_SIGNERS entry of a key (for launchers that generate keys). */
export function signerEntry(
  key: Pick<EventSigningKey, 'keyId' | 'publicKey'>,
  types: string[],
  sources: string[],
): EventSignerEntry {
  return { keyId: key.keyId, publicKey: b64url(key.publicKey), types, sources };
}

/**
 * Checks the signature of a parsed envelope against the configured signers, then whether that
 * signer may sign the event's type from its source. Typed result, never throws.
 */
export class EventVerifier {
  private readonly signers = new Map<string, CompiledSigner>();

  constructor(entries: readonly EventSignerEntry[]) {
    for (const entry of entries) {
      const raw = fromB64url(entry.publicKey, 32);
      if (!raw) throw new EventSigningConfigError(`signer ${entry.keyId}: bad public key`);
      this.signers.set(entry.keyId, {
        keyId: entry.keyId,
        key: createPublicKey({
          key: Buffer.concat([SPKI_ED25519_PREFIX, raw]),
          format: 'der',
          type: 'spki',
        }),
        types: entry.types.map(globToRegExp),
        sources: entry.sources.map(globToRegExp),
        patterns: { types: [...entry.types], sources: [...entry.sources] },
      });
    }
  }

  get keyIds(): string[] {
    return [...this.signers.keys()];
  }

  verify(envelope: Readonly<Record<string, unknown>>): SignatureCheck {
    const sig = envelope[SIGNATURE_ATTRIBUTE];
    const keyId = envelope[KEY_ID_ATTRIBUTE];
    if (typeof sig !== 'string' || typeof keyId !== 'string')
      return { ok: false, code: 'unsigned', message: 'the event has no sig and sigkeyid' };
    const signer = this.signers.get(keyId);
    if (!signer)
      return {
        ok: false,
        code: 'bad-signature',
        message: `key ${JSON.stringify(keyId.slice(0, 64))} is not a configured signer`,
      };
    const signature = fromB64url(sig, 64);
    let valid = false;
    if (signature) {
      try {
        valid = cryptoVerify(null, signingInput(envelope), signer.key, signature);
      } catch {
        valid = false; // not canonicalisable: cannot have been signed as specified
      }
    }
    if (!valid)
      return {
        ok: false,
        code: 'bad-signature',
        message: `the signature does not verify with key ${keyId}`,
      };
    const type = String(envelope['type']);
    const source = String(envelope['source']);
    const short = shortEventType(type);
    const typeOk = signer.types.some((re) => re.test(short) || re.test(type));
    const sourceOk = signer.sources.some((re) => re.test(source));
    if (!typeOk || !sourceOk)
      return {
        ok: false,
        code: 'signer-not-allowed',
        message: `key ${keyId} may not sign ${short} from ${source.slice(0, 256)}`,
      };
    return { ok: true, keyId };
  }
}

/**
 * The event types (short-form globs) each Tokenledger app produces, from the producers in apps/
 * and EVENT_TOPIC: the `types` of its EVENT_SIGNERS entry, with source `/tokenledger/<app>`.
 * Launchers build EVENT_SIGNERS from it (docs/design/event-signing.md).
 */
export const APP_SIGNER_TYPES = {
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
} as const satisfies Record<string, readonly string[]>;

export type SigningApp = keyof typeof APP_SIGNER_TYPES;

/** What an SDK UsageReporter may sign: `token.used` only, from `/services/<service>`. */
export const SDK_SIGNER_TYPES = ['token.used'] as const;

/** The EVENT_SIGNERS entries of the apps whose keys are given. */
export function appSignerEntries(
  keys: Partial<Record<SigningApp, Pick<EventSigningKey, 'keyId' | 'publicKey'>>>,
): EventSignerEntry[] {
  return Object.entries(keys).flatMap(([app, key]) =>
    key
      ? [signerEntry(key, [...APP_SIGNER_TYPES[app as SigningApp]], [`/tokenledger/${app}`])]
      : [],
  );
}
