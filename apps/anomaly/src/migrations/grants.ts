import { outboxTableGrants } from '@tokenledger/messaging';
import type { SchemaGrants } from '@tokenledger/sql';

/**
 * What anomaly's login role (`tokenledger_anomaly`) may do in its schema, applied by the owner
 * after the migrations at every boot. DELETE: a rebuild forgets the projections and the
 * detector's inbox; anomalies themselves are never updated. A table a later migration adds MUST
 * be listed here.
 */
export const grants: SchemaGrants = {
  tables: {
    ...outboxTableGrants,
    inbox: ['SELECT', 'INSERT', 'DELETE'],
    token_state: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
    anomalies: ['SELECT', 'INSERT', 'DELETE'],
    rules: ['SELECT', 'INSERT', 'UPDATE'],
    inventory: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
    // Subscriptions are soft-deleted (deliveries and attempts keep referring to them).
    webhooks: ['SELECT', 'INSERT', 'UPDATE'],
    webhook_deliveries: ['SELECT', 'INSERT', 'UPDATE'],
    // Attempts are a record: never updated.
    webhook_attempts: ['SELECT', 'INSERT'],
    rotation_progress: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
    // Decided (deleted) when the token's token.issued arrives.
    pending_revokes: ['SELECT', 'INSERT', 'DELETE'],
  },
};
