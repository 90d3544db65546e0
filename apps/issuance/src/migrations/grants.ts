import { outboxTableGrants } from '@tokenledger/messaging';
import type { SchemaGrants } from '@tokenledger/sql';

/**
 * What issuance's login role (`tokenledger_issuance`) may do in its schema, applied by the owner
 * after the migrations at every boot. A token record is never deleted (revocation and expiry are
 * updates). A table a later migration adds MUST be listed here, or the boot stops naming it.
 */
export const grants: SchemaGrants = {
  tables: {
    ...outboxTableGrants,
    tokens: ['SELECT', 'INSERT', 'UPDATE'],
    policies: ['SELECT', 'INSERT', 'UPDATE'],
    // Written once, at the first start; never changed by the app.
    pepper_fingerprint: ['SELECT', 'INSERT'],
  },
};
