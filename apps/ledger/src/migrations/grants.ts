import { outboxTableGrants } from '@tokenledger/messaging';
import { APPEND_ONLY, type SchemaGrants } from '@tokenledger/sql';

/**
 * What the ledger's login role (`tokenledger_ledger`) may do in its schema, applied by the owner
 * after the migrations at every boot. The evidence tables are append-only: SELECT and INSERT,
 * never UPDATE, DELETE or TRUNCATE. A table a later migration adds is append-only too
 * (`otherTables`) unless it is listed here with more.
 *
 * The log head (`logs`) moves only through its guarded path: UPDATE of the moving columns, which
 * the owner's trigger of migration 310 refuses when the log would shrink; no DELETE.
 */
export const grants: SchemaGrants = {
  tables: {
    ...outboxTableGrants,
    logs: ['SELECT', 'INSERT', 'UPDATE (size, root_hash, chain_head, next_offset, updated_at)'],
    leaves: APPEND_ONLY,
    event_ids: APPEND_ONLY,
    checkpoints: APPEND_ONLY,
    // Key activation and retirement are rows of signing_key_events (migration 306): INSERT only.
    signing_keys: APPEND_ONLY,
    replays: ['SELECT', 'INSERT', 'UPDATE'],
  },
  otherTables: APPEND_ONLY,
};
