import type { InventoryToken } from './sprawl';

const DAY = 86_400_000;

export interface RotationPolicy {
  maxAgeDays: number;
  rotationReminderDays: number;
  /** `type:id`; empty: every owner. */
  owners: string[];
}

export type RotationStatus = 'ok' | 'due' | 'overdue' | 'exempt';

/**
 * Where an active token stands under the rotation policy at `now` (pure): `due` from
 * maxAgeDays - rotationReminderDays, `overdue` from maxAgeDays; `exempt` when rotated already
 * or owned by someone the policy does not cover.
 */
export function rotationStatus(
  t: InventoryToken,
  now: number,
  policy: RotationPolicy,
): { status: RotationStatus; dueAt: number; revokeAt: number } {
  const revokeAt = t.issuedAt.getTime() + policy.maxAgeDays * DAY;
  const dueAt = revokeAt - policy.rotationReminderDays * DAY;
  const owner = `${t.ownerType}:${t.ownerId}`;
  if (t.rotatedAt !== null || (policy.owners.length > 0 && !policy.owners.includes(owner)))
    return { status: 'exempt', dueAt, revokeAt };
  const status = now >= revokeAt ? 'overdue' : now >= dueAt ? 'due' : 'ok';
  return { status, dueAt, revokeAt };
}

export interface RotationOwnerRow {
  owner: string;
  due: Array<{ tokenId: string; prefix: string; revokeAt: string }>;
  overdue: Array<{ tokenId: string; prefix: string; revokeAt: string }>;
}

/** Tokens due and overdue, grouped per owner (owners with neither are left out). */
export function rotationByOwner(
  tokens: InventoryToken[],
  now: number,
  policy: RotationPolicy,
): RotationOwnerRow[] {
  const byOwner = new Map<string, RotationOwnerRow>();
  for (const t of tokens) {
    const r = rotationStatus(t, now, policy);
    if (r.status !== 'due' && r.status !== 'overdue') continue;
    const owner = `${t.ownerType}:${t.ownerId}`;
    const row = byOwner.get(owner) ?? { owner, due: [], overdue: [] };
    row[r.status].push({
      tokenId: t.tokenId,
      prefix: t.prefix,
      revokeAt: new Date(r.revokeAt).toISOString(),
    });
    byOwner.set(owner, row);
  }
  return [...byOwner.values()].sort((a, b) => (a.owner < b.owner ? -1 : 1));
}
