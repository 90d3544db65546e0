import type { EntityManager } from 'typeorm';
import { quoteIdent } from '@tokenledger/sql';

/**
 * Records that `consumer` processed `eventId`, inside the caller's transaction. Returns false when
 * it was processed before: the caller MUST then skip the event (a redelivery, e.g. after an outbox
 * relay crashed between publishing and marking). Run the event's state change in the same
 * transaction so that the mark and the effect commit together.
 */
export async function markProcessed(
  manager: EntityManager,
  schema: string,
  consumer: string,
  eventId: string,
): Promise<boolean> {
  const rows = await manager.query<unknown[]>(
    `INSERT INTO ${quoteIdent(schema)}.inbox (consumer, event_id) VALUES ($1, $2)
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [consumer, eventId],
  );
  return rows.length === 1;
}

/**
 * {@link markProcessed} for a batch, in one statement: returns the ids (lower case) that were not
 * processed before. An id given twice is returned once; the caller MUST handle only its first
 * occurrence. The same transaction rule holds.
 */
export async function markProcessedMany(
  manager: EntityManager,
  schema: string,
  consumer: string,
  eventIds: readonly string[],
): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const rows = await manager.query<Array<{ event_id: string }>>(
    `INSERT INTO ${quoteIdent(schema)}.inbox (consumer, event_id)
     SELECT $1, id FROM unnest($2::uuid[]) AS u(id)
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [consumer, eventIds],
  );
  return new Set(rows.map((r) => r.event_id));
}
