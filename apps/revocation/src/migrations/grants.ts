import { outboxTableGrants } from '@tokenledger/messaging';
import type { SchemaGrants } from '@tokenledger/sql';

/**
 * What revocation's login role (`tokenledger_revocation`) may do in its schema, applied by the
 * owner after the migrations at every boot. DELETE: the status projection is rebuilt from the
 * events, and expired DPoP jtis are purged. A table a later migration adds MUST be listed here.
 */
export const grants: SchemaGrants = {
  tables: {
    ...outboxTableGrants,
    token_status: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
    dpop_jtis: ['SELECT', 'INSERT', 'DELETE'],
    token_limits: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  },
};
