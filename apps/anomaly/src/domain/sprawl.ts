/** One token in the sprawl report. */
export interface SprawlRow {
  tokenId: string;
  prefix: string;
  owner: string;
  name: string;
  issuedAt: string;
  expiresAt: string;
  ageDays: number;
  lastUsedAt: string | null;
  neverUsed: boolean;
  pastMaxAge: boolean;
  unrotated: boolean;
  stale: boolean;
}

export interface SprawlPolicy {
  /** Tokens older than this are past the maximum age (issuance's maximum TTL by default). */
  maxAgeDays: number;
  /** Tokens older than this that were never rotated are flagged. */
  rotateAfterDays: number;
  /** Unused for this long (or never used and this old): stale. */
  staleAfterDays: number;
}

export const DEFAULT_SPRAWL_POLICY: SprawlPolicy = {
  maxAgeDays: 90,
  rotateAfterDays: 90,
  staleAfterDays: 30,
};

const DAY = 86_400_000;

/** What the inventory knows of a token, as far as sprawl is concerned. */
export interface InventoryToken {
  tokenId: string;
  prefix: string;
  ownerType: string;
  ownerId: string;
  name: string;
  issuedAt: Date;
  expiresAt: Date;
  rotatedAt: Date | null;
  lastUsedAt: Date | null;
}

/** Classifies an active token at `now` (pure). */
export function classify(t: InventoryToken, now: number, policy: SprawlPolicy): SprawlRow {
  const age = (now - t.issuedAt.getTime()) / DAY;
  const idle = (now - (t.lastUsedAt ?? t.issuedAt).getTime()) / DAY;
  return {
    tokenId: t.tokenId,
    prefix: t.prefix,
    owner: `${t.ownerType}:${t.ownerId}`,
    name: t.name,
    issuedAt: t.issuedAt.toISOString(),
    expiresAt: t.expiresAt.toISOString(),
    ageDays: Math.floor(age * 10) / 10,
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    neverUsed: t.lastUsedAt === null,
    pastMaxAge: age > policy.maxAgeDays,
    unrotated: t.rotatedAt === null && age > policy.rotateAfterDays,
    stale: idle > policy.staleAfterDays,
  };
}

const COLUMNS: Array<keyof SprawlRow> = [
  'tokenId',
  'prefix',
  'owner',
  'name',
  'issuedAt',
  'expiresAt',
  'ageDays',
  'lastUsedAt',
  'neverUsed',
  'pastMaxAge',
  'unrotated',
  'stale',
];

/** RFC 4180 CSV with a header line. */
export function toCsv(rows: SprawlRow[]): string {
  const cell = (v: string | number | boolean | null): string => {
    const text = v === null ? '' : String(v);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return (
    [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(','))].join('\r\n') +
    '\r\n'
  );
}
