import { isIP } from 'node:net';
import { z } from 'zod';
import { UUIDV7_PATTERN } from '../uuidv7';

// Field schemas shared by several event types. Event data never carries a token secret, its
// hash, or private key material: the `prefix` (what humans see) and the tokenId are the handles.

export const uuidV7Schema = z.string().regex(UUIDV7_PATTERN, 'expected a lowercase UUIDv7');
export const tokenIdSchema = uuidV7Schema;
export const eventIdSchema = uuidV7Schema;

const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

/** `2024-05-01T12:00:00Z` or with 1-9 fraction digits; UTC only (`Z`), a real calendar date. */
export function isRfc3339Utc(value: string): boolean {
  const match = RFC3339_UTC.exec(value);
  if (!match) return false;
  const month = Number(match[2]);
  const day = Number(match[3]);
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(Number(match[1]), month) &&
    Number(match[4]) <= 23 &&
    Number(match[5]) <= 59 &&
    Number(match[6]) <= 59
  );
}

export const timestampSchema = z
  .string()
  .refine(isRfc3339Utc, 'expected an RFC 3339 UTC timestamp such as 2024-05-01T12:00:00.000Z');

const NAME_SOURCE = '[A-Za-z0-9][A-Za-z0-9._-]{0,62}';
const NAME = new RegExp(`^${NAME_SOURCE}$`);
const UUID_ANY_VERSION = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** Service names (`billing-api`), rule ids, key ids: 1-63 chars of [A-Za-z0-9._-]. */
export const nameSchema = z.string().regex(NAME, 'expected 1-63 characters of [A-Za-z0-9._-]');

export const ACTOR_PATTERN = new RegExp(
  `^(?:operator:${UUID_ANY_VERSION}|service:${NAME_SOURCE}|system)$`,
);

/** Who caused an event: `operator:<operator tokenId>`, `service:<name>` or `system`. */
export const actorSchema = z
  .string()
  .regex(ACTOR_PATTERN, 'expected operator:<tokenId>, service:<name> or system');

/** Opaque ids from other systems (owner ids, request ids): 1-128 printable ASCII characters. */
export const externalIdSchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, 'expected 1-128 printable ASCII characters');

export const ownerSchema = z.strictObject({
  type: z.enum(['user', 'team', 'service']),
  id: externalIdSchema,
});

/** Scopes such as `tokens:issue`, `ledger:read`, `billing:*`, `admin`, `tokens:read@team-a`. */
export const scopeSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9:._*/@-]{0,127}$/,
    'expected a scope of [A-Za-z0-9:._*/@-], at most 128 characters',
  );

/**
 * What humans see of a token, e.g. `tlk_live_AbC1`. Capped well below the length of a full
 * token (prefix + 38 characters) so a secret cannot travel in this field.
 */
export const displayPrefixSchema = z
  .string()
  .regex(/^[A-Za-z0-9_]{1,32}$/, 'expected 1-32 characters of [A-Za-z0-9_]');

/** The longest revocation comment, in UTF-16 code units. */
export const COMMENT_MAX_LENGTH = 500;

/**
 * C0 and C1 control characters (newline and tab included) and the Unicode bidirectional
 * overrides and isolates, which can make a line read differently from what it holds.
 */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * Free text a human gives with an action, e.g. why a token was revoked: one line of 1-500
 * characters, no control characters. Shown to auditors as written.
 */
export const commentSchema = z
  .string()
  .min(1)
  .max(COMMENT_MAX_LENGTH)
  .refine(
    (v) => !CONTROL_CHARACTERS.test(v),
    'expected no control characters (line breaks, tabs, U+0000-U+001F, U+007F-U+009F, bidi controls)',
  );

/** RFC 7638 JWK SHA-256 thumbprint, base64url (`cnf.jkt` of RFC 9449). */
export const jwkThumbprintSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'expected a base64url SHA-256 JWK thumbprint');

export const labelKeySchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/,
    'expected a label key of [A-Za-z0-9._/-], at most 63 characters',
  );
/** PostgreSQL stores no U+0000 in text or jsonb: a label value holding one could never be recorded. */
export const labelValueSchema = z
  .string()
  .max(256)
  .refine((v) => !v.includes('\u0000'), 'expected a label value without U+0000 (NUL)');

export const labelsSchema = z
  .record(labelKeySchema, labelValueSchema)
  .refine((labels) => Object.keys(labels).length <= 64, 'expected at most 64 labels');

export const ipAddressSchema = z
  .string()
  .refine((value) => isIP(value) !== 0, 'expected an IPv4 or IPv6 address');

/** ISO 3166-1 alpha-2. */
export const countrySchema = z
  .string()
  .regex(/^[A-Z]{2}$/, 'expected an ISO 3166-1 alpha-2 country code');

export const REVOCATION_REASONS = [
  'requested',
  'rotated',
  'leaked',
  'anomaly',
  'bulk',
  'policy',
] as const;
export const revocationReasonSchema = z.enum(REVOCATION_REASONS);
export type RevocationReason = z.infer<typeof revocationReasonSchema>;

export const shortTextSchema = z.string().min(1).max(1024);
